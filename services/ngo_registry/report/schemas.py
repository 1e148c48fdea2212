"""HTTP shapes of report submissions."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import ConfigDict, Field

from shared.events.schemas.ngo_registry import ReportSubmission
from shared.inputs import StrictInput


class ReportSubmit(StrictInput):
    """A report submitted under one of the agreement's reporting obligations."""

    model_config = ConfigDict(extra="forbid")

    obligation: str = Field(
        min_length=1, max_length=500, description="The obligation's `what`, exactly as agreed"
    )
    period_end: date = Field(description="Last day of the reporting period the report covers")
    summary: str = Field(min_length=1, max_length=10_000)
    submitted_on: date | None = Field(
        None, description="The day the report was submitted; defaults to today (UTC)"
    )
    ngo_id: uuid.UUID | None = Field(
        None,
        description="The reporting party. An NGO reports for itself; staff must name the party "
        "when the agreement has several",
    )


class ReportOut(ReportSubmission):
    pass
