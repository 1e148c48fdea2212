"""Dependencies of this service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query

from services.humanitarian_requests.config import Settings
from shared.deps import settings_dependency

AppSettings = Annotated[Settings, Depends(settings_dependency(Settings))]
"""The service's settings, typed: the one way they reach a route."""


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
