"""Dependencies of this service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from services.humanitarian_requests.config import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry-safe key: the same key replays"),
]

Purpose = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        description="Why you read restricted records: recorded in the access log; a list "
        "serves restricted records in full only with it",
    ),
]
