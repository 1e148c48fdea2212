"""Settings of the NGO registry service (environment variables; see shared.config)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings

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
