"""The background loop the runtime supervises (see `ServiceRuntime.background`)."""

from __future__ import annotations

import asyncio

from services.ngo_registry.config import Settings
from services.ngo_registry.expiry.service import sweep_once
from services.ngo_registry.ngo.projection import utc_today
from shared.runtime import ServiceRuntime


async def expiry_sweeper(runtime: ServiceRuntime) -> None:
    """Sweep now, then every `NGO_REGISTRY_SWEEP_INTERVAL` seconds, until cancelled."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        await sweep_once(
            runtime.sessionmaker,
            today=utc_today(),
            lead_days=settings.agreement_expiry_lead_days,
        )
        await asyncio.sleep(settings.sweep_interval_seconds)
