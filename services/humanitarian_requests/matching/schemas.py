"""HTTP shapes of offers: what an NGO answers, and what staff read back."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.humanitarian_requests.common.text import StorableInput
from shared.events.schemas.humanitarian_requests import OfferState


class RankedCandidate(BaseModel):
    ngo_id: uuid.UUID
    name: str
    score: float
    rank: int


class OfferStaffView(OfferState):
    """An offer with the whole ranking it was chosen from (ops centre only)."""

    ranking: list[RankedCandidate]


class DeclineIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


OfferView = OfferStaffView | OfferState
"""An offer as its reader may see it: staff with the whole ranking (first, so a staff view
is never narrowed to the NGO's shape), an NGO with its own ranking explanation only."""
