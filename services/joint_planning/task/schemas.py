"""HTTP shapes of tasks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, Field

from services.joint_planning.common.text import StrictInput
from shared.events.schemas.joint_planning import TaskPriority, TaskState, TaskStatus


class TaskCreate(StrictInput):
    """A task of the operation, owned by one of its current participants, due no later than
    the operation ends, optionally after other tasks of the same operation."""

    task_id: uuid.UUID | None = Field(None, description="Supply your own id to retry safely")
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(None, max_length=10_000)
    owner_participant_id: uuid.UUID
    due_at: AwareDatetime
    priority: TaskPriority = TaskPriority.medium
    depends_on: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class TaskUpdate(StrictInput):
    """Changes; only the fields sent change. Send `If-Match` with the ETag you read."""

    title: str | None = Field(None, min_length=1, max_length=500)
    description: str | None = Field(None, max_length=10_000)
    owner_participant_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None
    priority: TaskPriority | None = None
    depends_on: list[uuid.UUID] | None = Field(None, max_length=50)


class TaskStatusChange(StrictInput):
    status: TaskStatus
    note: str | None = Field(None, min_length=1, max_length=5000)


class ProgressNoteIn(StrictInput):
    text: str = Field(min_length=1, max_length=5000)


class TaskOut(TaskState):
    created_at: datetime
