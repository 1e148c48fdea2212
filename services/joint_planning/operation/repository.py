"""Queries on operations and their participants."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.operations import HistoryEntry, Operation, Participant
from services.joint_planning.db.models.work import OPEN_TASK_STATUSES, Meeting, Milestone, Task
from shared.events.schemas.joint_planning import OperationStatus, ParticipantRole
from shared.vocabulary import Sensitivity

Part = TypeVar("Part", Task, Milestone, Meeting)


async def get(
    session: AsyncSession, operation_id: uuid.UUID, *, lock: bool = False
) -> Operation | None:
    query = select(Operation).where(Operation.id == operation_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def linking_incident(
    session: AsyncSession, incident_id: uuid.UUID, *, lock: bool = False
) -> Sequence[Operation]:
    """The operations that link this incident, in id order (the order rows are locked in)."""
    query = (
        select(Operation)
        .where(Operation.linked_incident_ids.contains([incident_id]))
        .order_by(Operation.id)
    )
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).all()


async def participants_of(session: AsyncSession, operation_id: uuid.UUID) -> Sequence[Participant]:
    """Current participants, in the order they joined."""
    query = (
        select(Participant)
        .where(Participant.operation_id == operation_id, Participant.removed_at.is_(None))
        .order_by(Participant.added_at, Participant.id)
    )
    return (await session.scalars(query)).all()


async def participant(
    session: AsyncSession, operation_id: uuid.UUID, participant_id: uuid.UUID
) -> Participant | None:
    query = select(Participant).where(
        Participant.id == participant_id,
        Participant.operation_id == operation_id,
        Participant.removed_at.is_(None),
    )
    return (await session.scalars(query)).one_or_none()


async def is_participant(session: AsyncSession, operation_id: uuid.UUID, ngo_id: uuid.UUID) -> bool:
    query = select(Participant.id).where(
        Participant.operation_id == operation_id,
        Participant.ngo_id == ngo_id,
        Participant.removed_at.is_(None),
    )
    return (await session.scalars(query.limit(1))).first() is not None


async def list_operations(
    session: AsyncSession,
    *,
    ngo_id: uuid.UUID | None,
    status: OperationStatus | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Operation], int]:
    """Operations by start, newest first; only those `ngo_id` takes part in, if given."""
    query = select(Operation)
    if ngo_id is not None:
        query = query.where(
            Operation.id.in_(
                select(Participant.operation_id).where(
                    Participant.ngo_id == ngo_id, Participant.removed_at.is_(None)
                )
            )
        )
    if status is not None:
        query = query.where(Operation.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(
        query.order_by(Operation.starts_at.desc(), Operation.id).limit(limit).offset(offset)
    )
    return page.all(), int(total or 0)


async def history(session: AsyncSession, operation_id: uuid.UUID) -> Sequence[HistoryEntry]:
    query = (
        select(HistoryEntry)
        .where(HistoryEntry.operation_id == operation_id)
        .order_by(HistoryEntry.id)
    )
    return (await session.scalars(query)).all()


async def operations_of_ngo(
    session: AsyncSession,
    ngo_id: uuid.UUID,
    *,
    role: ParticipantRole,
    statuses: Collection[OperationStatus],
) -> Sequence[Participant]:
    """The NGO's current participations with `role` in operations in `statuses`."""
    query = (
        select(Participant)
        .join(Operation, Operation.id == Participant.operation_id)
        .where(
            Participant.ngo_id == ngo_id,
            Participant.removed_at.is_(None),
            Participant.role == role,
            Operation.status.in_(statuses),
        )
        .order_by(Participant.operation_id)
    )
    return (await session.scalars(query)).all()


async def parts_behind(
    session: AsyncSession, part: type[Part], operation_id: uuid.UUID, sensitivity: Sensitivity
) -> Sequence[Part]:
    """The operation's tasks, milestones or meetings (`part`) whose class is not
    `sensitivity`, locked in id order."""
    query = (
        select(part)
        .where(part.operation_id == operation_id, part.sensitivity != sensitivity)
        .order_by(part.id)
        .with_for_update()
    )
    return (await session.scalars(query)).all()


async def count_open_tasks_due_after(
    session: AsyncSession, operation_id: uuid.UUID, ends_at: datetime
) -> int:
    """Unfinished tasks of the operation due after `ends_at`: a new end may not strand them."""
    late = await session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.operation_id == operation_id, Task.due_at > ends_at)
        .where(Task.status.in_(OPEN_TASK_STATUSES))
    )
    return int(late or 0)


async def count_open_tasks_owned_by(session: AsyncSession, participant_id: uuid.UUID) -> int:
    """Unfinished tasks the participant owns: while there are any, it may not be removed.
    Here rather than in the task repository so participants need not import the task folder,
    which imports the operation folder back."""
    owned = await session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.owner_participant_id == participant_id)
        .where(Task.status.in_(OPEN_TASK_STATUSES))
    )
    return int(owned or 0)
