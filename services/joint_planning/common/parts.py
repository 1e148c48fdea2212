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

from datetime import UTC, datetime
from typing import Any

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
    task.sensitivity = await operation_class(session, task.operation_id)
    task.version += 1
    task.updated_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(
        session, event(**task_state(task).model_dump(), actor=actor, **extra), subject=task.id
    )
    record(
        session,
        operation_id=task.operation_id,
        entity_type="task",
        entity_id=task.id,
        event_type=CATALOG.for_model(event).name,
        actor=actor,
        detail={"version": task.version, "status": task.status, "title": task.title},
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
    milestone.sensitivity = await operation_class(session, milestone.operation_id)
    milestone.version += 1
    milestone.updated_at = datetime.now(UTC)
    await session.flush()
    state = milestone_state(milestone)
    await outbox.add(
        session, event(**state.model_dump(), actor=actor, **extra), subject=milestone.id
    )
    record(
        session,
        operation_id=milestone.operation_id,
        entity_type="milestone",
        entity_id=milestone.id,
        event_type=CATALOG.for_model(event).name,
        actor=actor,
        detail={"version": milestone.version, "status": milestone.status},
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
    meeting.sensitivity = await operation_class(session, meeting.operation_id)
    meeting.version += 1
    meeting.updated_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(
        session,
        event(**meeting_state(meeting).model_dump(), actor=actor, **extra),
        subject=meeting.id,
    )
    if meeting.operation_id is not None:
        record(
            session,
            operation_id=meeting.operation_id,
            entity_type="meeting",
            entity_id=meeting.id,
            event_type=CATALOG.for_model(event).name,
            actor=actor,
            detail={"version": meeting.version, "title": meeting.title},
        )
