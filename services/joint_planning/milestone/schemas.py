"""HTTP shapes of milestones."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, Field

from services.joint_planning.common.text import StrictInput
from shared.events.schemas.joint_planning import MilestoneState


class MilestoneCreate(StrictInput):
    milestone_id: uuid.UUID | None = Field(None, description="Supply your own id to retry safely")
    title: str = Field(min_length=1, max_length=500)
    due_at: AwareDatetime


class MilestoneOut(MilestoneState):
    created_at: datetime
