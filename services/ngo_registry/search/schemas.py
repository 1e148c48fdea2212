"""HTTP shapes of the compatibility search."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from shared.vocabulary import Sector


class CapacityMatch(BaseModel):
    resource: str
    quantity: float
    unit: str


class SearchResult(BaseModel):
    rank: int
    ngo_id: uuid.UUID
    name: str
    score: float
    eligible: bool
    agreement_id: uuid.UUID | None
    county: str
    distance_km: float
    capacity: CapacityMatch | None
    explanation: list[str]


class SearchTarget(BaseModel):
    pcode: str
    name: str
    counties: list[str]
    resolved_from: str


class SearchResponse(BaseModel):
    sector: Sector
    target: SearchTarget
    resource: str | None
    min_quantity: float | None
    results: list[SearchResult]
