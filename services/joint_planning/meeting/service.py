"""Use cases on coordination meetings: record, amend, turn an action item into a task.

An action item becomes a task with an owner in one step and one transaction: the task is
created (with its own checks: owner a participant, due before the operation ends) and the
item remembers the task, so a second conversion of the same item is a 409.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.parts import meeting_state as to_state
from services.joint_planning.common.parts import publish_meeting as publish
from services.joint_planning.common.principals import actor_of, is_ngo
from services.joint_planning.db.models.work import Meeting, Task
from services.joint_planning.meeting import repository
from services.joint_planning.meeting.schemas import (
    ActionItemIn,
    ActionItemToTask,
    MeetingCreate,
    MeetingOut,
    MeetingUpdate,
)
from services.joint_planning.operation import repository as operations
from services.joint_planning.operation import service as operation_service
from services.joint_planning.task import service as tasks
from services.joint_planning.task.schemas import TaskCreate
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.schemas.joint_planning import (
    ActionItem,
    MeetingActionItemConverted,
    MeetingRecorded,
    MeetingUpdated,
)
from shared.http import check_if_match


class ActionItemAlreadyConverted(Conflict):
    problem_type = "action-item-already-converted"
    title = "This action item is already a task"


def to_view(meeting: Meeting) -> MeetingOut:
    return MeetingOut(**to_state(meeting).model_dump(), created_at=meeting.created_at)


async def _action_items(
    session: AsyncSession,
    operation_id: uuid.UUID | None,
    items: list[ActionItemIn],
    keep: dict[uuid.UUID, uuid.UUID],
) -> list[dict[str, Any]]:
    """The items as stored; owners must take part in the meeting's operation, and items
    already turned into tasks (`keep`: item → task) must stay."""
    stored = []
    for item in items:
        if item.owner_participant_id is not None and (
            operation_id is None
            or await operations.participant(session, operation_id, item.owner_participant_id)
            is None
        ):
            raise Unprocessable(
                f"action_items: owner {item.owner_participant_id} is not a participant of the "
                "meeting's operation",
                field="action_items",
            )
        item_id = item.action_item_id or uuid.uuid4()
        stored.append(
            ActionItem(
                action_item_id=item_id,
                description=item.description,
                owner_participant_id=item.owner_participant_id,
                due_at=item.due_at,
                task_id=keep.get(item_id),
            ).model_dump(mode="json")
        )
    missing = set(keep) - {uuid.UUID(i["action_item_id"]) for i in stored}
    if missing:
        raise Conflict(
            "action_items: items already turned into tasks cannot be dropped",
            converted=sorted(str(m) for m in missing),
        )
    return stored


async def record_meeting(
    session: AsyncSession, principal: Principal, body: MeetingCreate
) -> Meeting:
    if body.operation_id is not None:
        await operation_service.load_for(session, principal, body.operation_id)
    now = datetime.now(UTC)
    meeting = Meeting(
        id=body.meeting_id or uuid.uuid4(),
        operation_id=body.operation_id,
        title=body.title,
        held_at=body.held_at,
        attendees=[a.model_dump(mode="json") for a in body.attendees],
        agenda=list(body.agenda),
        decisions=list(body.decisions),
        action_items=await _action_items(session, body.operation_id, body.action_items, {}),
        created_by=actor_of(principal),
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await publish(session, meeting, MeetingRecorded, actor=actor_of(principal))
    return meeting


async def load_for(
    session: AsyncSession, principal: Principal, meeting_id: uuid.UUID, *, lock: bool = False
) -> Meeting:
    """Staff see every meeting; an NGO those it attended or of operations it takes part in."""
    meeting = await repository.get(session, meeting_id, lock=lock)
    if meeting is None or (
        is_ngo(principal) and not await _visible_to_ngo(session, principal, meeting)
    ):
        raise NotFound(f"No meeting {meeting_id}")
    return meeting


async def _visible_to_ngo(session: AsyncSession, principal: Principal, meeting: Meeting) -> bool:
    if any(a.get("ngo_id") == str(principal.ngo_id) for a in meeting.attendees):
        return True
    return (
        meeting.operation_id is not None
        and principal.ngo_id is not None
        and await operations.is_participant(session, meeting.operation_id, principal.ngo_id)
    )


async def update_meeting(
    session: AsyncSession,
    principal: Principal,
    meeting_id: uuid.UUID,
    body: MeetingUpdate,
    if_match: str | None,
) -> Meeting:
    meeting = await load_for(session, principal, meeting_id, lock=True)
    check_if_match(if_match, meeting.version)
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "held_at", "attendees", "agenda", "decisions", "action_items"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be removed", field=required)
    if body.title is not None:
        meeting.title = body.title
    if body.held_at is not None:
        meeting.held_at = body.held_at
    if body.attendees is not None:
        meeting.attendees = [a.model_dump(mode="json") for a in body.attendees]
    if body.agenda is not None:
        meeting.agenda = list(body.agenda)
    if body.decisions is not None:
        meeting.decisions = list(body.decisions)
    if body.action_items is not None:
        converted = {
            uuid.UUID(i["action_item_id"]): uuid.UUID(i["task_id"])
            for i in meeting.action_items
            if i.get("task_id")
        }
        meeting.action_items = await _action_items(
            session, meeting.operation_id, body.action_items, converted
        )
    await publish(
        session, meeting, MeetingUpdated, actor=actor_of(principal), changed=sorted(changes)
    )
    return meeting


async def convert_action_item(
    session: AsyncSession,
    principal: Principal,
    meeting_id: uuid.UUID,
    action_item_id: uuid.UUID,
    body: ActionItemToTask,
) -> tuple[Meeting, Task]:
    meeting = await load_for(session, principal, meeting_id, lock=True)
    items = [dict(i) for i in meeting.action_items]
    item = next((i for i in items if i["action_item_id"] == str(action_item_id)), None)
    if item is None:
        raise NotFound(f"No action item {action_item_id} in meeting {meeting_id}")
    if item.get("task_id"):
        raise ActionItemAlreadyConverted(
            f"Action item {action_item_id} is task {item['task_id']}", task_id=item["task_id"]
        )
    if meeting.operation_id is None:
        raise Unprocessable("The meeting belongs to no operation: a task needs one")
    owner = body.owner_participant_id or item.get("owner_participant_id")
    due_at = body.due_at or item.get("due_at")
    if owner is None or due_at is None:
        raise Unprocessable(
            "A task needs an owner and a due date: give them, or set them on the action item",
            field="owner_participant_id" if owner is None else "due_at",
        )
    task = await tasks.create_task(
        session,
        principal,
        meeting.operation_id,
        TaskCreate.model_validate(
            {
                "title": body.title or item["description"][:500],
                "description": f"From meeting {meeting.title!r}: {item['description']}",
                "owner_participant_id": str(owner),
                "due_at": due_at if isinstance(due_at, str) else due_at.isoformat(),
                "priority": body.priority.value,
            }
        ),
        source=(meeting.id, action_item_id),
    )
    item["task_id"] = str(task.id)
    meeting.action_items = items
    await publish(
        session,
        meeting,
        MeetingActionItemConverted,
        actor=actor_of(principal),
        action_item_id=action_item_id,
        task_id=task.id,
    )
    return meeting, task


async def list_meetings(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID | None
) -> list[MeetingOut]:
    meetings = await repository.list_meetings(
        session, operation_id=operation_id, ngo_id=principal.ngo_id if is_ngo(principal) else None
    )
    return [to_view(m) for m in meetings]
