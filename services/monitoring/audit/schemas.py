"""HTTP shapes of the audit trail: an audited event, and the chain's verification."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field


class AuditedEvent(BaseModel):
    position: int = Field(description="Place in the chain; page with `before`")
    event_id: uuid.UUID
    event_type: str
    topic: str
    subject: str | None
    actor: str | None
    occurred_at: str = Field(description="When the event happened (ISO 8601)")
    recorded_at: str = Field(description="When the audit chain took it in (ISO 8601)")
    hash: str
    prev_hash: str
    event: dict[str, Any] | None = Field(
        description="The CloudEvent exactly as hashed (none once purged by retention)"
    )
    # Carried once the chain links payload digests (retention): absent before, and left out
    # of the answer when absent (the route answers with `response_model_exclude_unset`).
    sensitivity: str | None = None
    payload_digest: str | None = None
    purged_at: str | None = Field(None, description="When retention purged the payload")
    details_withheld: bool | None = Field(
        None,
        description="A restricted event's payload withheld from this reader (`event` null): "
        "served only to an entitled reader who gives a `purpose`",
    )


class BrokenLinkView(BaseModel):
    position: int
    event_id: str
    reason: str


class MissingEventView(BaseModel):
    """An event the audit consumer dead-lettered instead of chaining."""

    event_id: str | None
    event_type: str | None
    subject: str | None
    topic: str
    partition: int
    offset: int
    error: str
    failed_at: str | None


class ChainVerification(BaseModel):
    ok: bool = Field(description="Every link of the chain re-hashes")
    complete: bool = Field(description="No event is missing from the chain")
    checked: int
    last_hash: str
    first_broken: BrokenLinkView | None
    missing_count: int
    missing: list[MissingEventView]
    summary: str
