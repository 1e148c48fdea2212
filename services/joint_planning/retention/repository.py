"""Queries of the retention sweep: the records that are due (replica incidents, operations,
notifications), and the copies of an operation's texts in the other tables (participants,
history, tasks, milestones, meetings) and in the outbox.

Ids are bound as one array parameter (`= ANY(:ids)`), not an `IN` list: the first sweep after
a long period may purge more records than a statement may have parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, Uuid, and_, any_, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.notifications import Notification
from services.joint_planning.db.models.operations import HistoryEntry, Operation, Participant
from services.joint_planning.db.models.replicas import IncidentReplica
from services.joint_planning.db.models.work import Meeting, Milestone, Task
from shared.events.schemas.joint_planning import OperationStatus
from shared.vocabulary import Sensitivity

NO_SYNC: dict[str, Any] = {"synchronize_session": False}
"""Bulk updates of rows the sweep never loads: nothing in the session to keep in step."""

PURGED_TASK_TITLE = "task (details purged)"
PURGED_MILESTONE_TITLE = "milestone (details purged)"
"""What a purged task or milestone reads as its title (the column and the views need one)."""

HISTORY_TEXTS = ("reason", "title")
"""The keys of a history entry's detail that hold typed text (the rest are ids, versions,
statuses and categories)."""


NAMED_BY = ("operation_id", "notification_id")
"""The fields by which an event names the record it is about when keyed by another (a task's
by its operation, a conflict's by its notification)."""


def _ids(ids: Collection[uuid.UUID]) -> ColumnElement[Any]:
    return any_(literal(list(ids), ARRAY(Uuid)))


def _id_texts(ids: Collection[uuid.UUID]) -> ColumnElement[Any]:
    """The ids as text, for comparing with event keys and JSON fields."""
    return any_(literal([str(i) for i in ids], ARRAY(Text)))


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _not_purged_since_changed(model: Any) -> ColumnElement[bool]:
    return or_(model.purged_at.is_(None), model.updated_at > model.purged_at)


async def lock_due_incidents(
    session: AsyncSession, sensitivity: Sensitivity, *, cutoff: datetime
) -> Sequence[IncidentReplica]:
    """Lock the replica's incidents of the class unchanged since before `cutoff` and not
    purged since their last change. One the incident consumer is applying now is skipped
    (it is due again at the next sweep)."""
    query = (
        select(IncidentReplica)
        .where(
            IncidentReplica.sensitivity == sensitivity,
            IncidentReplica.updated_at < cutoff,
            _not_purged_since_changed(IncidentReplica),
        )
        .order_by(IncidentReplica.incident_id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def lock_due_operations(
    session: AsyncSession, *, cutoff: datetime, statuses: Collection[OperationStatus]
) -> Sequence[Operation]:
    """Lock the restricted operations in `statuses` (ended) unchanged since before `cutoff`
    and not purged since; one being changed now is skipped (due again at the next sweep)."""
    query = (
        select(Operation)
        .where(
            Operation.sensitivity == Sensitivity.restricted,
            Operation.status.in_(list(statuses)),
            Operation.updated_at < cutoff,
            _not_purged_since_changed(Operation),
        )
        .order_by(Operation.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def lock_due_notifications(
    session: AsyncSession, *, cutoff: datetime
) -> Sequence[Notification]:
    """Lock the notifications whose window ended before `cutoff` and whose last change is
    older too, not purged since it."""
    query = (
        select(Notification)
        .where(
            Notification.ends_at < cutoff,
            Notification.updated_at < cutoff,
            _not_purged_since_changed(Notification),
        )
        .order_by(Notification.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def strip_participants(session: AsyncSession, operation_ids: Collection[uuid.UUID]) -> int:
    """The typed responsibilities and removal reasons of these operations' participants; their
    kind, organisation or component, name (an organisation's, never a person's) and role
    stay."""
    participant = Participant
    result = await session.execute(
        update(participant)
        .where(
            participant.operation_id == _ids(operation_ids),
            or_(
                func.jsonb_array_length(participant.responsibilities) > 0,
                participant.removal_reason.is_not(None),
            ),
        )
        .values(responsibilities=literal([], JSONB), removal_reason=None)
        .execution_options(**NO_SYNC)
    )
    return _count(result)


async def strip_history_texts(session: AsyncSession, operation_ids: Collection[uuid.UUID]) -> int:
    """Remove the typed texts (`HISTORY_TEXTS`) from the history of these operations and of
    everything in them; the event, actor, time, versions and statuses stay."""
    detail = HistoryEntry.detail
    result = await session.execute(
        update(HistoryEntry)
        .where(
            HistoryEntry.operation_id == _ids(operation_ids),
            detail.has_any(literal(list(HISTORY_TEXTS), ARRAY(Text))),
        )
        .values(detail=detail.op("-", return_type=JSONB)(literal(list(HISTORY_TEXTS), ARRAY(Text))))
        .execution_options(**NO_SYNC)
    )
    return _count(result)


async def strip_tasks(
    session: AsyncSession, operation_ids: Collection[uuid.UUID]
) -> list[uuid.UUID]:
    """A generic title, no description and no progress notes for these operations' tasks;
    their owner, due date, priority, status and links stay. The ids of the tasks changed."""
    result = await session.execute(
        update(Task)
        .where(
            Task.operation_id == _ids(operation_ids),
            or_(
                Task.title != PURGED_TASK_TITLE,
                Task.description.is_not(None),
                func.jsonb_array_length(Task.notes) > 0,
            ),
        )
        .values(title=PURGED_TASK_TITLE, description=None, notes=literal([], JSONB))
        .returning(Task.id)
        .execution_options(**NO_SYNC)
    )
    return list(result.scalars())


async def strip_milestones(
    session: AsyncSession, operation_ids: Collection[uuid.UUID]
) -> list[uuid.UUID]:
    result = await session.execute(
        update(Milestone)
        .where(
            Milestone.operation_id == _ids(operation_ids),
            Milestone.title != PURGED_MILESTONE_TITLE,
        )
        .values(title=PURGED_MILESTONE_TITLE)
        .returning(Milestone.id)
        .execution_options(**NO_SYNC)
    )
    return list(result.scalars())


async def lock_meetings(
    session: AsyncSession, operation_ids: Collection[uuid.UUID]
) -> Sequence[Meeting]:
    """These operations' meetings, loaded (their attendees and action items keep their
    structure and lose their texts, one by one)."""
    query = (
        select(Meeting)
        .where(Meeting.operation_id == _ids(operation_ids))
        .order_by(Meeting.id)
        .with_for_update()
    )
    return (await session.scalars(query)).all()


async def delete_outbox_leftovers(session: AsyncSession, subject_ids: Collection[uuid.UUID]) -> int:
    """Delete the outbox rows about these records that were published (Kafka has them; the
    relay would prune them later) or parked (a re-drive would publish the old state). An
    event is about a record when it is keyed by it (operation, task, milestone, meeting and
    notification events) or names it (`NAMED_BY`). Rows not yet sent stay: they are in
    flight, and the relay needs them."""
    table = outbox.table
    data = table.c.envelope["data"]
    result = await session.execute(
        delete(table).where(
            or_(table.c.published_at.is_not(None), table.c.failed_at.is_not(None)),
            or_(
                table.c.message_key == _id_texts(subject_ids),
                *(
                    and_(data.has_key(name), data[name].astext == _id_texts(subject_ids))
                    for name in NAMED_BY
                ),
            ),
        )
    )
    return _count(result)
