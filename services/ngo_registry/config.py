"""Settings of the NGO registry service (environment variables; see shared.config)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator

from shared.config import Environment, ServiceSettings

DEFAULT_SANCTIONS_FILE = Path(__file__).parent / "data" / "sanctions.csv"


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "ngo_registry"
    default_port: ClassVar[int] = 8001

    # The mission maintains its own consolidated sanctions list; vetting screens against it.
    sanctions_file: Path = Field(
        DEFAULT_SANCTIONS_FILE, validation_alias="NGO_REGISTRY_SANCTIONS_FILE"
    )
    # How often the expiry sweep looks for vetting and agreements that are due.
    sweep_interval_seconds: float = Field(60.0, validation_alias="NGO_REGISTRY_SWEEP_INTERVAL")
    # How many days before an agreement ends `AgreementExpiring` fires (once per agreement).
    agreement_expiry_lead_days: int = Field(
        30, ge=0, validation_alias="NGO_REGISTRY_AGREEMENT_LEAD_DAYS"
    )

    # Webhooks (docs/ngo-integration.md). A delivery is retried with exponential backoff and
    # full jitter until it succeeds, has failed `attempts` times, or is older than `max age`;
    # then it is parked as `dead` for the NGO or the ops centre to re-drive.
    webhook_max_attempts: int = Field(
        12, ge=1, validation_alias="NGO_REGISTRY_WEBHOOK_MAX_ATTEMPTS"
    )
    webhook_max_age_seconds: float = Field(
        3 * 24 * 3600.0, gt=0, validation_alias="NGO_REGISTRY_WEBHOOK_MAX_AGE"
    )
    webhook_backoff_base_seconds: float = Field(
        5.0, gt=0, validation_alias="NGO_REGISTRY_WEBHOOK_BACKOFF_BASE"
    )
    webhook_backoff_cap_seconds: float = Field(
        3600.0, gt=0, validation_alias="NGO_REGISTRY_WEBHOOK_BACKOFF_CAP"
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias="NGO_REGISTRY_WEBHOOK_TIMEOUT"
    )
    webhook_poll_interval_seconds: float = Field(
        1.0, gt=0, validation_alias="NGO_REGISTRY_WEBHOOK_POLL_INTERVAL"
    )
    # After a rotation, how long the old secret signs too (a second `v1,` signature).
    webhook_secret_overlap_seconds: float = Field(
        24 * 3600.0, ge=0, validation_alias="NGO_REGISTRY_WEBHOOK_SECRET_OVERLAP"
    )
    # Stored events older than this are forgotten once nothing needs them (none of their
    # deliveries pending or dead); a replay reaches back this far. Checked every hour.
    webhook_retention_seconds: float = Field(
        30 * 24 * 3600.0, gt=0, validation_alias="NGO_REGISTRY_WEBHOOK_RETENTION"
    )
    webhook_batch_size: int = Field(20, ge=1, le=500, validation_alias="NGO_REGISTRY_WEBHOOK_BATCH")
    # Tests only: accept http:// endpoints on 127.0.0.1/::1 (a receiver in the test process).
    # Private, link-local and metadata addresses stay refused; refused outright in production.
    webhook_allow_loopback: bool = Field(
        False, validation_alias="NGO_REGISTRY_WEBHOOK_ALLOW_LOOPBACK"
    )

    @model_validator(mode="after")
    def _no_loopback_webhooks_in_production(self) -> Settings:
        if self.webhook_allow_loopback and self.environment is Environment.prod:
            raise ValueError("NGO_REGISTRY_WEBHOOK_ALLOW_LOOPBACK is refused in production")
        return self
