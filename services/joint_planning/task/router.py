"""HTTP routes of tasks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.joint_planning.common.deps import IfMatch, Staff, StaffOrNgo
from services.joint_planning.task import service
from services.joint_planning.task.schemas import (
    ProgressNoteIn,
    TaskCreate,
    TaskOut,
    TaskStatusChange,
    TaskUpdate,
)
from shared.deps import DbSession
from shared.http import etag

router = APIRouter(tags=["tasks"])


@router.post("/operations/{operation_id}/tasks", status_code=201, response_model=TaskOut)
async def create_task(
    operation_id: uuid.UUID,
    body: TaskCreate,
    session: DbSession,
    principal: Staff,
    response: Response,
) -> TaskOut:
    """Create a task owned by a current participant. A due date after the operation ends, an
    owner who is not a participant, an unknown dependency or a dependency cycle is a 422."""
    task = await service.create_task(session, principal, operation_id, body)
    response.headers["ETag"] = etag(task.version)
    response.headers["Location"] = f"/tasks/{task.id}"
    return service.to_view(task)


@router.get("/operations/{operation_id}/tasks", response_model=list[TaskOut])
async def list_tasks(
    operation_id: uuid.UUID, session: DbSession, principal: StaffOrNgo
) -> list[TaskOut]:
    """The operation's tasks by due date (staff, or an NGO taking part)."""
    return await service.list_tasks(session, principal, operation_id)


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(
    task_id: uuid.UUID, session: DbSession, principal: StaffOrNgo, response: Response
) -> TaskOut:
    """One task (staff, or an NGO taking part in its operation; others get a 404)."""
    task = await service.load_for(session, principal, task_id)
    response.headers["ETag"] = etag(task.version)
    return service.to_view(task)


@router.patch("/tasks/{task_id}", response_model=TaskOut)
async def update_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    session: DbSession,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Change title, owner, due date, priority or dependencies. Needs `If-Match`."""
    task = await service.update_task(session, principal, task_id, body, if_match)
    response.headers["ETag"] = etag(task.version)
    return service.to_view(task)


@router.post("/tasks/{task_id}/status", response_model=TaskOut)
async def change_task_status(
    task_id: uuid.UUID,
    body: TaskStatusChange,
    session: DbSession,
    principal: StaffOrNgo,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Move the task (staff, or the NGO that owns it). `done` needs its dependencies done
    (409 otherwise); done and cancelled are final (409)."""
    task = await service.change_status(session, principal, task_id, body, if_match)
    response.headers["ETag"] = etag(task.version)
    return service.to_view(task)


@router.post("/tasks/{task_id}/notes", response_model=TaskOut)
async def add_progress_note(
    task_id: uuid.UUID,
    body: ProgressNoteIn,
    session: DbSession,
    principal: StaffOrNgo,
    response: Response,
) -> TaskOut:
    """Add a progress note (staff, or the NGO that owns the task)."""
    task = await service.add_note(session, principal, task_id, body)
    response.headers["ETag"] = etag(task.version)
    return service.to_view(task)
