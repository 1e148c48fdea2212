"""HTTP routes of coordination meetings."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.joint_planning.common.deps import IfMatch, Staff, StaffOrNgo
from services.joint_planning.meeting import service
from services.joint_planning.meeting.schemas import (
    ActionItemToTask,
    MeetingCreate,
    MeetingOut,
    MeetingUpdate,
)
from services.joint_planning.task import service as tasks
from services.joint_planning.task.schemas import TaskOut
from shared.deps import DbSession
from shared.http import etag

router = APIRouter(tags=["meetings"])


@router.post("/meetings", status_code=201, response_model=MeetingOut)
async def record_meeting(
    body: MeetingCreate, session: DbSession, principal: Staff, response: Response
) -> MeetingOut:
    """Record a coordination meeting: date, attendees, agenda, decisions, action items."""
    meeting = await service.record_meeting(session, principal, body)
    response.headers["ETag"] = etag(meeting.version)
    response.headers["Location"] = f"/meetings/{meeting.id}"
    return service.to_view(meeting)


@router.get("/meetings", response_model=list[MeetingOut])
async def list_meetings(
    session: DbSession, principal: StaffOrNgo, operation_id: uuid.UUID | None = None
) -> list[MeetingOut]:
    """Meetings, latest first (an NGO: those it attended or of operations it takes part in)."""
    return await service.list_meetings(session, principal, operation_id)


@router.get("/meetings/{meeting_id}", response_model=MeetingOut)
async def get_meeting(
    meeting_id: uuid.UUID, session: DbSession, principal: StaffOrNgo, response: Response
) -> MeetingOut:
    """One meeting (others' are a 404 for an NGO)."""
    meeting = await service.load_for(session, principal, meeting_id)
    response.headers["ETag"] = etag(meeting.version)
    return service.to_view(meeting)


@router.patch("/meetings/{meeting_id}", response_model=MeetingOut)
async def update_meeting(
    meeting_id: uuid.UUID,
    body: MeetingUpdate,
    session: DbSession,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> MeetingOut:
    """Amend the record (each list sent replaces the old one). Needs `If-Match`."""
    meeting = await service.update_meeting(session, principal, meeting_id, body, if_match)
    response.headers["ETag"] = etag(meeting.version)
    return service.to_view(meeting)


@router.post(
    "/meetings/{meeting_id}/action-items/{action_item_id}/task",
    status_code=201,
    response_model=TaskOut,
)
async def convert_action_item(
    meeting_id: uuid.UUID,
    action_item_id: uuid.UUID,
    body: ActionItemToTask,
    session: DbSession,
    principal: Staff,
    response: Response,
) -> TaskOut:
    """Turn an action item into a task of the meeting's operation, with an owner, in one
    step (409 if it already is one; the task's own checks give 422s)."""
    _, task = await service.convert_action_item(
        session, principal, meeting_id, action_item_id, body
    )
    response.headers["ETag"] = etag(task.version)
    response.headers["Location"] = f"/tasks/{task.id}"
    return tasks.to_view(task)
