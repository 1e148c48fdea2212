"""HTTP shapes of aid requests: what a unit posts, and what each audience reads back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.humanitarian_requests.common.location import LocationIn
from services.humanitarian_requests.common.text import StorableInput
from shared.events.schemas.humanitarian_requests import (
    AffectedPopulation,
    AidRequestState,
    OpenRequestSummary,
    VulnerabilityFactor,
)
from shared.vocabulary import Sector, Sensitivity, Urgency

MAX_AFFECTED = 2_147_483_647  # the largest Postgres integer


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=50)


class AidRequestIn(StorableInput):
    """An aid request as a field unit submits it."""

    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(
        None, max_length=200, description="The unit's own id for this report (idempotent)"
    )
    observed_at: datetime | None = Field(None, description="When the need was observed")
    sector: Sector
    urgency: Urgency
    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=10_000)
    items: list[ItemIn] = Field(default_factory=list, max_length=100)
    affected_population: AffectedPopulation
    vulnerability: list[VulnerabilityFactor] = Field(default_factory=list)
    location: LocationIn
    access_constraints: list[str] = Field(default_factory=list, max_length=20)
    security_constraints: list[str] = Field(default_factory=list, max_length=20)
    contact: str | None = Field(None, max_length=300)
    sensitivity: Sensitivity = Sensitivity.internal

    @field_validator("affected_population")
    @classmethod
    def _total_fits_the_column(cls, value: AffectedPopulation) -> AffectedPopulation:
        # affected_total is a Postgres integer: a larger number is a typo, and must be a 422
        # rather than a database error (a 500, and a sunk batch).
        if value.total > MAX_AFFECTED:
            raise ValueError(f"total must be at most {MAX_AFFECTED}")
        return value


class AidRequestView(AidRequestState):
    """The full request (its unit and the ops centre)."""


class NgoRequestView(OpenRequestSummary):
    """What an NGO may see of a request it was offered, was assigned, or may volunteer for."""

    status: str
    assigned_to_you: bool


class CancelIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class PriorityOverrideIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    priority_score: float = Field(ge=0, le=100)
    reason: str = Field(min_length=1, max_length=2000)


class LinkIn(StorableInput):
    """Link to another request's cluster (`duplicate_of`), or unlink (`null`)."""

    model_config = ConfigDict(extra="forbid")
    duplicate_of: uuid.UUID | None
    reason: str = Field(min_length=1, max_length=2000)


class DeliveryItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str
    delivered_quantity: float = Field(gt=0, allow_inf_nan=False)


class DeliveryIn(StorableInput):
    """Quantities delivered now (added to earlier deliveries); `final` ends delivery."""

    model_config = ConfigDict(extra="forbid")
    items: list[DeliveryItemIn] = Field(default_factory=list, max_length=100)
    final: bool = False


class HistoryView(BaseModel):
    event_type: str
    version: int
    status: str | None
    actor: str
    detail: dict[str, Any]
    at: datetime


class AidRequestPage(BaseModel):
    items: list[AidRequestView]


class NgoRequestPage(BaseModel):
    items: list[NgoRequestView]
