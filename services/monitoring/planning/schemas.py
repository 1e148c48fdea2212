"""What the planning routes answer, and the problems they may answer instead."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.errors import PROBLEM_CONTENT_TYPE
from shared.events.schemas.joint_planning import ConflictSource, TaskPriority, TaskStatus


class Problem(BaseModel):
    """An RFC 9457 problem."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": Problem.model_json_schema()}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("No bearer token, or one that is invalid or expired"),
    403: _problem("The token's roles are neither ops_centre nor admin"),
    422: _problem("A query parameter did not validate (`errors` names which)"),
    503: _problem("The database is unreachable; retry after `Retry-After` seconds"),
}


class OpenConflict(BaseModel):
    conflict_id: uuid.UUID
    notification_id: uuid.UUID
    ngo_id: uuid.UUID
    ngo_name: str | None = Field(description="From the registry replica; null until it arrives")
    source: ConflictSource
    source_id: uuid.UUID = Field(description="The operation or the incident")
    operation_title: str | None = Field(description="For a mission activity, when known")
    notice: str = Field(description="What the NGO was told")
    near_pcode: str
    area_name: str
    between_start: datetime
    between_end: datetime
    distance_km: float | None
    reported_at: datetime | None
    flagged_at: datetime


class ConflictList(BaseModel):
    total: int = Field(description="Every open conflict, however many are listed")
    conflicts: list[OpenConflict]


class OverdueTask(BaseModel):
    task_id: uuid.UUID
    operation_id: uuid.UUID
    operation_title: str | None
    title: str
    owner_participant_id: uuid.UUID
    owner_name: str | None
    priority: TaskPriority
    status: TaskStatus
    due_at: datetime
    hours_overdue: float


class MissedMilestone(BaseModel):
    milestone_id: uuid.UUID
    operation_id: uuid.UUID
    operation_title: str | None
    title: str
    due_at: datetime
    hours_overdue: float


class OverdueList(BaseModel):
    tasks_total: int
    milestones_total: int
    tasks: list[OverdueTask]
    milestones: list[MissedMilestone]
