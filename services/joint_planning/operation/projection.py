"""After every change to an operation: bump its version, keep its area index, record its
history and emit its full state, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common import parts
from services.joint_planning.common.history import record
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.operations import (
    Operation,
    OperationArea,
    OperationCell,
    Participant,
)
from services.joint_planning.db.models.work import Meeting, Milestone, Task
from services.joint_planning.deconfliction.geometry import polygon_cells
from services.joint_planning.operation import repository
from services.joint_planning.operation.classification import apply_floor, derive_floor
from services.joint_planning.operation.state import LIVE
from shared.events.schemas import CATALOG
from shared.events.schemas.joint_planning import (
    MeetingReclassified,
    MilestoneReclassified,
    OperationEvent,
    OperationState,
    TaskReclassified,
)
from shared.events.schemas.joint_planning import Participant as ParticipantState
from shared.logging import get_logger
from shared.vocabulary import Sector

log = get_logger(__name__)


def participant_state(participant: Participant) -> ParticipantState:
    return ParticipantState(
        participant_id=participant.id,
        kind=participant.kind,
        ngo_id=participant.ngo_id,
        component=participant.component,
        name=participant.name,
        role=participant.role,
        responsibilities=list(participant.responsibilities),
        added_at=participant.added_at,
    )


def to_state(operation: Operation, participants: Sequence[Participant]) -> OperationState:
    return OperationState(
        operation_id=operation.id,
        title=operation.title,
        objectives=list(operation.objectives),
        sectors=[Sector(s) for s in operation.sectors],
        areas=list(operation.areas),
        polygons=list(operation.polygons),
        starts_at=operation.starts_at,
        ends_at=operation.ends_at,
        status=operation.status,
        participants=[participant_state(p) for p in participants],
        linked_request_ids=list(operation.linked_request_ids),
        linked_incident_ids=list(operation.linked_incident_ids),
        created_by=operation.created_by,
        version=operation.version,
        updated_at=operation.updated_at,
        sensitivity=operation.sensitivity,
        sensitivity_floor=operation.sensitivity_floor,
        sensitivity_reasons=list(operation.sensitivity_reasons),
    )


async def reindex_areas(session: AsyncSession, operation: Operation) -> None:
    """The operation's rows in `operation_areas` (one per area) and `operation_cells` (one
    per grid cell its polygons intersect) while it is live, else none."""
    await session.execute(delete(OperationArea).where(OperationArea.operation_id == operation.id))
    await session.execute(delete(OperationCell).where(OperationCell.operation_id == operation.id))
    if operation.status in LIVE:
        window = {"starts_at": operation.starts_at, "ends_at": operation.ends_at}
        rows = [{"operation_id": operation.id, "pcode": p, **window} for p in operation.areas]
        if rows:
            await session.execute(insert(OperationArea), rows)
        cells = [
            {"operation_id": operation.id, "cell": c, **window}
            for c in sorted(polygon_cells(operation.polygons))
        ]
        if cells:
            await session.execute(insert(OperationCell), cells)


async def _carry_class_to_parts(session: AsyncSession, operation: Operation, *, actor: str) -> None:
    """Tasks, milestones and meetings inherit the operation's class: each whose class differs
    follows it in this transaction, published as reclassified (its new class reaches Kafka
    at once, not at its next change; `common/classification.py`)."""
    new = operation.sensitivity
    await session.flush()  # each part reads its class from the operation's row
    for task in await repository.parts_behind(session, Task, operation.id, new):
        previous = task.sensitivity
        await parts.publish_task(
            session, task, TaskReclassified, actor=actor, previous_sensitivity=previous
        )
    for milestone in await repository.parts_behind(session, Milestone, operation.id, new):
        previous = milestone.sensitivity
        await parts.publish_milestone(
            session, milestone, MilestoneReclassified, actor=actor, previous_sensitivity=previous
        )
    for meeting in await repository.parts_behind(session, Meeting, operation.id, new):
        previous = meeting.sensitivity
        await parts.publish_meeting(
            session, meeting, MeetingReclassified, actor=actor, previous_sensitivity=previous
        )


async def publish(
    session: AsyncSession,
    operation: Operation,
    event: type[OperationEvent],
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    **extra: Any,
) -> OperationState:
    """Re-derive the class's minimum (raising the class to it), bump the version, reindex, and
    write `event` with the operation's state and history."""
    raised_from = apply_floor(operation, await derive_floor(session, operation))
    if raised_from is not None:
        detail = {**(detail or {}), "sensitivity_raised_from": raised_from.value}
    await _carry_class_to_parts(session, operation, actor=actor)
    operation.version += 1
    operation.updated_at = datetime.now(UTC)
    await session.flush()
    await reindex_areas(session, operation)
    state = to_state(operation, await repository.participants_of(session, operation.id))
    await outbox.add(
        session, event(**state.model_dump(), actor=actor, **extra), subject=operation.id
    )
    entry = CATALOG.for_model(event)
    record(
        session,
        operation_id=operation.id,
        entity_type="operation",
        entity_id=operation.id,
        event_type=entry.name,
        actor=actor,
        detail={
            "version": operation.version,
            "status": operation.status,
            "sensitivity": operation.sensitivity,
            **(detail or {}),
        },
    )
    log.info(
        "operation.published",
        operation_id=str(operation.id),
        event_type=event.__name__,
        version=operation.version,
    )
    return state
