"""HTTP shapes of coordination meetings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, Field, field_validator

from services.joint_planning.common.text import StrictInput
from shared.events.schemas.joint_planning import MeetingState, TaskPriority
from shared.inputs import Line


class AttendeeIn(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(min_length=1, max_length=300)
    ngo_id: uuid.UUID | None = None
    participant_id: uuid.UUID | None = None


class ActionItemIn(StrictInput):
    action_item_id: uuid.UUID | None = None
    description: str = Field(min_length=1, max_length=2000)
    owner_participant_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None


def _lines(values: list[str] | None) -> list[str] | None:
    if values is not None and any(not v.strip() or len(v) > 2000 for v in values):
        raise ValueError("each entry must be 1 to 2000 characters")
    return values


class MeetingCreate(StrictInput):
    """A coordination meeting, optionally of one operation: who came, what was discussed,
    decided, and who will do what."""

    meeting_id: uuid.UUID | None = Field(None, description="Supply your own id to retry safely")
    operation_id: uuid.UUID | None = None
    title: str = Field(min_length=1, max_length=500)
    held_at: AwareDatetime
    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=300)
    agenda: list[Line] = Field(default_factory=list, max_length=100)
    decisions: list[Line] = Field(default_factory=list, max_length=100)
    action_items: list[ActionItemIn] = Field(default_factory=list, max_length=100)

    _agenda = field_validator("agenda", "decisions")(_lines)


class MeetingUpdate(StrictInput):
    """Changes; each list sent replaces the old one. Send `If-Match`. Action items already
    converted into tasks must be kept."""

    title: str | None = Field(None, min_length=1, max_length=500)
    held_at: AwareDatetime | None = None
    attendees: list[AttendeeIn] | None = Field(None, max_length=300)
    agenda: list[Line] | None = Field(None, max_length=100)
    decisions: list[Line] | None = Field(None, max_length=100)
    action_items: list[ActionItemIn] | None = Field(None, max_length=100)

    _agenda = field_validator("agenda", "decisions")(_lines)


class ActionItemToTask(StrictInput):
    """What the new task needs beyond the item: an owner and a due date (the item's own
    are used when not given), its priority and title."""

    owner_participant_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None
    priority: TaskPriority = TaskPriority.medium
    title: str | None = Field(None, min_length=1, max_length=500)


class MeetingOut(MeetingState):
    created_at: datetime
