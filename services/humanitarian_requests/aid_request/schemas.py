"""HTTP shapes of aid requests: what a unit posts, and what each audience reads back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.humanitarian_requests.common.location import LocationIn
from services.humanitarian_requests.common.text import StorableInput
from shared.events.schemas.humanitarian_requests import (
    AffectedPopulation,
    AidRequestState,
    OpenRequestSummary,
    VulnerabilityFactor,
)
from shared.inputs import Line, StrictInput
from shared.numbers import PeopleCount, PositiveQuantity
from shared.vocabulary import ItemCode, Sector, Sensitivity, Urgency, match_item


class ItemIn(StrictInput):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(
        min_length=1,
        max_length=200,
        description="What is needed, in the reporter's words (staff read it; NGOs never do)",
    )
    item_code: ItemCode | None = Field(
        None,
        description="The item in the vocabulary (`shared.vocabulary.ItemCode`), as NGOs read "
        "it. Omitted: derived from `item` when the text names one item clearly, else `other`",
    )
    quantity: PositiveQuantity
    unit: str = Field(min_length=1, max_length=50)


class AffectedPopulationIn(AffectedPopulation, StrictInput):
    """People affected, each count within what one report can count (and what the event and
    the `affected_total` integer column hold)."""

    total: PeopleCount
    women: PeopleCount | None = None
    men: PeopleCount | None = None
    girls: PeopleCount | None = None
    boys: PeopleCount | None = None
    older_persons: PeopleCount | None = None
    persons_with_disabilities: PeopleCount | None = None


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
    affected_population: AffectedPopulationIn
    vulnerability: list[VulnerabilityFactor] = Field(
        default_factory=list, max_length=len(VulnerabilityFactor)
    )
    location: LocationIn
    access_constraints: list[Line] = Field(default_factory=list, max_length=20)
    security_constraints: list[Line] = Field(default_factory=list, max_length=20)
    contact: str | None = Field(None, max_length=300)
    sensitivity: Sensitivity | None = Field(
        None,
        description="The reporter's class; raised to the derived minimum if lower "
        "(`sensitivity_raised_from` in the response says so). Omitted: the higher of the "
        "minimum and internal",
    )
    names_survivor: bool = Field(False, description="The report names or identifies a survivor")
    involves_child: bool = Field(False, description="The report concerns an identifiable child")

    @model_validator(mode="after")
    def _code_every_item(self) -> AidRequestIn:
        """Every item leaves intake with a code: the reporter's, else the conservative match
        of its text (the request's sector breaking a tie), else `other`."""
        for item in self.items:
            if item.item_code is None:
                item.item_code = match_item(item.item, self.sector)
        return self


class AidRequestView(AidRequestState):
    """The full request (its unit and the ops centre)."""

    sensitivity_raised_from: Sensitivity | None = Field(
        None, description="At intake: the lower class the reporter asked for, if it was raised"
    )
    details_withheld: bool = Field(
        False, description="Restricted and coarsened for a role without need to know"
    )


class NgoRequestView(OpenRequestSummary):
    """What an NGO may see of a request it was offered, was assigned, or may volunteer for."""

    status: str
    assigned_to_you: bool


AnyRequestView = AidRequestView | NgoRequestView
"""A request as its reader may see it: in full (coarsened if restricted and not entitled),
or an NGO's view."""


class CancelIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class PriorityOverrideIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    priority_score: float = Field(ge=0, le=100)
    reason: str = Field(min_length=1, max_length=2000)


class ReclassifyIn(StorableInput):
    """Staff: a new sensitivity for a request or an incident, and why (audited)."""

    model_config = ConfigDict(extra="forbid")
    sensitivity: Sensitivity
    reason: str = Field(min_length=1, max_length=2000)


class LinkIn(StorableInput):
    """Link to another request's cluster (`duplicate_of`), or unlink (`null`)."""

    model_config = ConfigDict(extra="forbid")
    duplicate_of: uuid.UUID | None
    reason: str = Field(min_length=1, max_length=2000)


class DeliveryItemIn(StrictInput):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(
        min_length=1,
        max_length=200,
        description="The item as the NGO reads it (its vocabulary label, numbered when the "
        "request lists the label twice), or the reporter's own text",
    )
    delivered_quantity: PositiveQuantity


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
