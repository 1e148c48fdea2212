"""HTTP shapes of partnership agreements (MoUs)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import ConfigDict, Field, model_validator

from shared.events.schemas.ngo_registry import (
    AgreementParty,
    AgreementState,
    PublishedSensitivity,
    ReportingObligation,
)
from shared.inputs import Code, Line, Name, StrictInput
from shared.numbers import PeriodDays
from shared.vocabulary import Sector


class ReportingObligationIn(ReportingObligation, StrictInput):
    """A reporting duty: what, and every how many days (at most ten years)."""

    what: str = Field(min_length=1, max_length=2000)
    frequency_days: PeriodDays


class AgreementPartyIn(AgreementParty, StrictInput):
    """A party to an agreement as officers send it."""

    role: str = Field(min_length=1, max_length=200)
    responsibilities: list[Line] = Field(default_factory=list, max_length=100)


class AgreementCreate(StrictInput):
    """A draft agreement between the mission and one or more NGOs."""

    model_config = ConfigDict(extra="forbid")

    agreement_id: uuid.UUID | None = Field(None, description="Supply your own id to retry safely")
    title: str = Field(min_length=1, max_length=500)
    parties: list[AgreementPartyIn] = Field(min_length=1, max_length=50)
    sectors: list[Sector] = Field(min_length=1, max_length=len(Sector))
    pcodes: list[Code] = Field(min_length=1, max_length=200)
    mission_responsibilities: list[Line] = Field(default_factory=list, max_length=100)
    reporting_obligations: list[ReportingObligationIn] = Field(default_factory=list, max_length=50)
    starts_on: date
    ends_on: date
    signatories: list[Name] = Field(default_factory=list, max_length=50)
    sensitivity: PublishedSensitivity | None = Field(
        None,
        description="The agreement's class; raised to its minimum (internal) if lower "
        "(`sensitivity_raised_from` in the response says so)",
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> AgreementCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class AgreementUpdate(StrictInput):
    """Changes to a draft; only the fields sent change. Send `If-Match`."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=500)
    parties: list[AgreementPartyIn] | None = Field(None, min_length=1, max_length=50)
    sectors: list[Sector] | None = Field(None, min_length=1, max_length=len(Sector))
    pcodes: list[Code] | None = Field(None, min_length=1, max_length=200)
    mission_responsibilities: list[Line] | None = Field(None, max_length=100)
    reporting_obligations: list[ReportingObligationIn] | None = Field(None, max_length=50)
    starts_on: date | None = None
    ends_on: date | None = None
    signatories: list[Name] | None = Field(None, max_length=50)


class AgreementTermination(StrictInput):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class AgreementOut(AgreementState):
    """An agreement as staff read it; an NGO party reads it without staff identities or text
    an officer typed for the mission (`terminated_by` is `mission`, no `termination_reason`)."""

    expiring_notified_at: datetime | None = None
    terminated_by: str | None = None
    termination_reason: str | None = None
    created_at: datetime
    sensitivity_floor: PublishedSensitivity = PublishedSensitivity.internal
    sensitivity_reasons: list[str] = Field(default_factory=list)
    sensitivity_raised_from: PublishedSensitivity | None = Field(
        None, description="At creation: the lower class that was asked for, if it was raised"
    )
