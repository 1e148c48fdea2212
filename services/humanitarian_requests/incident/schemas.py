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
        None, description="Defaults to restricted for protection incidents, else internal"
    )


class IncidentView(IncidentState):
    pass


class IncidentLinkIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    duplicate_of: uuid.UUID | None
    reason: str = Field(min_length=1, max_length=2000)
