"""HTTP shapes of the vetting workflow."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.schemas.ngo_registry import VettingStatus
from shared.inputs import StrictInput


class VettingActionName(StrEnum):
    start_review = "start_review"
    vet = "vet"
    reject = "reject"
    suspend = "suspend"
    reinstate = "reinstate"
    resubmit = "resubmit"


class CheckResult(StrictInput):
    model_config = ConfigDict(extra="forbid")

    passed: bool
    note: str | None = Field(None, max_length=2000)


class ReviewChecks(StrictInput):
    """What the reviewer verified. Sanctions screening is run by the registry itself."""

    model_config = ConfigDict(extra="forbid")

    registration_valid: CheckResult
    neutrality_declaration: CheckResult
    safeguarding_policy: CheckResult
    references: CheckResult


class VettingAction(StrictInput):
    """One step of the vetting workflow.

    `vet` needs `checks` (all passed) and a future `vetted_until`; `reject`, `suspend` and
    `reinstate` need a `reason`. `notes` stay confidential to mission staff.
    """

    model_config = ConfigDict(extra="forbid")

    action: VettingActionName
    reason: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=10_000)
    checks: ReviewChecks | None = None
    vetted_until: date | None = None


class VettingDecisionOut(BaseModel):
    decision_id: uuid.UUID
    action: str
    from_status: VettingStatus | None
    to_status: VettingStatus
    decided_by: str
    decided_at: datetime
    reason: str | None
    notes: str | None
    checks: dict[str, Any]
    vetted_until: date | None
