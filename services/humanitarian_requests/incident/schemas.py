"""HTTP shapes of incident reports."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from services.humanitarian_requests.common.location import LocationIn
from services.humanitarian_requests.common.text import StorableInput
from shared.events.schemas.humanitarian_requests import (
    Casualties,
    IncidentState,
    IncidentType,
    Severity,
)
from shared.inputs import StrictInput
from shared.numbers import PeopleCount
from shared.vocabulary import Sensitivity


class CasualtiesIn(Casualties, StrictInput):
    """Casualties, each count within what one report can count."""

    killed: PeopleCount = 0
    injured: PeopleCount = 0
    missing: PeopleCount = 0


class IncidentIn(StorableInput):
    """An incident as a field unit reports it. Protection incidents (human-rights violation,
    SGBV, child protection) are always stored as restricted."""

    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(None, max_length=200)
    incident_type: IncidentType
    severity: Severity
    casualties: CasualtiesIn = Field(default_factory=CasualtiesIn)
    occurred_at: datetime
    observed_at: datetime | None = None
    location: LocationIn
    description: str | None = Field(None, max_length=10_000)
    sensitivity: Sensitivity | None = Field(
        None,
        description="The reporter's class; raised to the derived minimum if lower "
        "(`sensitivity_raised_from` in the response says so). Omitted: restricted for "
        "protection incidents, else internal",
    )
    names_survivor: bool = Field(False, description="The report names or identifies a survivor")
    involves_child: bool = Field(False, description="The report concerns an identifiable child")


class IncidentView(IncidentState):
    sensitivity_raised_from: Sensitivity | None = Field(
        None, description="At intake: the lower class the reporter asked for, if it was raised"
    )
    details_withheld: bool = Field(
        False, description="Restricted and coarsened for a role without need to know"
    )


class IncidentLinkIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    duplicate_of: uuid.UUID | None
    reason: str = Field(min_length=1, max_length=2000)
