"""Settings of the Humanitarian requests service (environment variables; see shared.config)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "humanitarian_requests"
    default_port: ClassVar[int] = 8003

    offer_response_seconds: float = Field(
        900.0, validation_alias="HUMANITARIAN_REQUESTS_OFFER_RESPONSE_SECONDS"
    )
    offer_sweep_interval_seconds: float = Field(
        5.0, validation_alias="HUMANITARIAN_REQUESTS_OFFER_SWEEP_INTERVAL"
    )
    # The triage worker (triage/tasks.py) wakes on every intake commit; this poll is its
    # fallback when a notification is lost or its listener is reconnecting.
    triage_poll_interval_seconds: float = Field(
        1.0, gt=0, validation_alias="HUMANITARIAN_REQUESTS_TRIAGE_POLL_INTERVAL"
    )
    duplicate_radius_km: float = Field(
        5.0, validation_alias="HUMANITARIAN_REQUESTS_DUPLICATE_RADIUS_KM"
    )
    duplicate_window_hours: float = Field(
        24.0, validation_alias="HUMANITARIAN_REQUESTS_DUPLICATE_WINDOW_HOURS"
    )
    batch_max_items: int = Field(1000, validation_alias="HUMANITARIAN_REQUESTS_BATCH_MAX_ITEMS")

    # Retention (docs/data-responsibility.md): a restricted (or internal) request or incident
    # whose last change is older than this many days, and that is no longer open, is
    # anonymised (`retention/service.py`); the sweep looks about every
    # `retention_sweep_interval_seconds`.
    retention_restricted_days: int = Field(
        365, ge=1, le=36500, validation_alias="HUMANITARIAN_REQUESTS_RETENTION_RESTRICTED_DAYS"
    )
    retention_internal_days: int = Field(
        730, ge=1, le=36500, validation_alias="HUMANITARIAN_REQUESTS_RETENTION_INTERNAL_DAYS"
    )
    retention_sweep_interval_seconds: float = Field(
        3600.0, gt=0, validation_alias="HUMANITARIAN_REQUESTS_RETENTION_SWEEP_INTERVAL"
    )
