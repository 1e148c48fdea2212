"""HTTP shapes of store-and-forward intake: a batch of queued reports and its outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ItemResult(StrEnum):
    created = "created"
    duplicate = "duplicate"
    rejected = "rejected"


class ItemHeader(BaseModel):
    """What every queued item must carry, whatever its kind."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["aid_request", "incident"]
    client_id: str = Field(min_length=1, max_length=200)
    observed_at: datetime


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Any] = Field(
        # A hard ceiling for the schema; `HUMANITARIAN_REQUESTS_BATCH_MAX_ITEMS` (1000) is the
        # operative bound, answered with 413.
        max_length=100_000,
        description="Queued reports, each with `kind`, "
        "`client_id` and `observed_at` plus the report fields",
    )


class ItemOutcome(BaseModel):
    index: int
    client_id: str | None
    kind: str | None
    result: ItemResult
    id: uuid.UUID | None = None
    status: str | None = None
    errors: list[dict[str, Any]] = []


class BatchOut(BaseModel):
    created: int
    duplicate: int
    rejected: int
    results: list[ItemOutcome]
