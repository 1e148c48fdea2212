"""The parts of an operation (tasks, milestones, meetings): their states as their events
carry them, and the one way a change to each is published — the class refreshed from the
operation (`common/classification.py`), the version bumped, the event written to the
outbox and the operation's history recorded, in the caller's transaction.

Here, below the domains, because two kinds of caller publish them: each part's own use
cases, and the operation's projection, which publishes every part that follows the
operation's new class (`*.reclassified.v1`) in the operation's transaction. A meeting of no
operation has no operation history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.classification import operation_class
from services.joint_planning.common.history import record
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.work import Meeting, Milestone, Task
from shared.events.schemas import CATALOG
from shared.events.schemas.joint_planning import (
    ActionItem,
    Attendee,
    MeetingEvent,
    MeetingState,
    MilestoneEvent,
    MilestoneState,
    ProgressNote,
    TaskEvent,
    TaskState,
)

Part = Task | Milestone | Meeting


async def _publish(
    session: AsyncSession,
    part: Part,
    state: Callable[[], BaseModel],
    event: type[BaseModel],
    *,
    entity_type: str,
    actor: str,
    detail: Callable[[], dict[str, Any]],
    extra: dict[str, Any],
) -> None:
    """The one way a part's change is published: its class refreshed from its operation, its
    version bumped, its `event` (the full `state()` after the change) written to the outbox
    and, for a part of an operation, a row of the operation's history (`detail()`)."""
    part.sensitivity = await operation_class(session, part.operation_id)
    part.version += 1
    part.updated_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(session, event(**state().model_dump(), actor=actor, **extra), subject=part.id)
    if part.operation_id is not None:
        record(
            session,
            operation_id=part.operation_id,
            entity_type=entity_type,
            entity_id=part.id,
            event_type=CATALOG.for_model(event).name,
            actor=actor,
            detail=detail(),
        )


def task_state(task: Task) -> TaskState:
    return TaskState(
        task_id=task.id,
        operation_id=task.operation_id,
        title=task.title,
        description=task.description,
        owner_participant_id=task.owner_participant_id,
        due_at=task.due_at,
        priority=task.priority,
        status=task.status,
        depends_on=list(task.depends_on),
        notes=[ProgressNote.model_validate(n) for n in task.notes],
        overdue=task.overdue_notified_at is not None,
        source_meeting_id=task.source_meeting_id,
        source_action_item_id=task.source_action_item_id,
        version=task.version,
        updated_at=task.updated_at,
        sensitivity=task.sensitivity,
    )


async def publish_task(
    session: AsyncSession, task: Task, event: type[TaskEvent], *, actor: str, **extra: Any
) -> None:
    await _publish(
        session,
        task,
        lambda: task_state(task),
        event,
        entity_type="task",
        actor=actor,
        detail=lambda: {"version": task.version, "status": task.status, "title": task.title},
        extra=extra,
    )


def milestone_state(milestone: Milestone) -> MilestoneState:
    return MilestoneState(
        milestone_id=milestone.id,
        operation_id=milestone.operation_id,
        title=milestone.title,
        due_at=milestone.due_at,
        status=milestone.status,
        reached_at=milestone.reached_at,
        version=milestone.version,
        updated_at=milestone.updated_at,
        sensitivity=milestone.sensitivity,
    )


async def publish_milestone(
    session: AsyncSession,
    milestone: Milestone,
    event: type[MilestoneEvent],
    *,
    actor: str,
    **extra: Any,
) -> None:
    await _publish(
        session,
        milestone,
        lambda: milestone_state(milestone),
        event,
        entity_type="milestone",
        actor=actor,
        detail=lambda: {"version": milestone.version, "status": milestone.status},
        extra=extra,
    )


def meeting_state(meeting: Meeting) -> MeetingState:
    return MeetingState(
        meeting_id=meeting.id,
        operation_id=meeting.operation_id,
        title=meeting.title,
        held_at=meeting.held_at,
        attendees=[Attendee.model_validate(a) for a in meeting.attendees],
        agenda=list(meeting.agenda),
        decisions=list(meeting.decisions),
        action_items=[ActionItem.model_validate(i) for i in meeting.action_items],
        version=meeting.version,
        updated_at=meeting.updated_at,
        sensitivity=meeting.sensitivity,
    )


async def publish_meeting(
    session: AsyncSession, meeting: Meeting, event: type[MeetingEvent], *, actor: str, **extra: Any
) -> None:
    await _publish(
        session,
        meeting,
        lambda: meeting_state(meeting),
        event,
        entity_type="meeting",
        actor=actor,
        detail=lambda: {"version": meeting.version, "title": meeting.title},
        extra=extra,
    )
