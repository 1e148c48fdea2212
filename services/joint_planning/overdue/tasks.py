"""The background loop the runtime supervises (see `ServiceRuntime.background`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.joint_planning.config import Settings
from services.joint_planning.overdue.service import sweep_once
from shared.runtime import ServiceRuntime


async def overdue_sweeper(runtime: ServiceRuntime) -> None:
    """Sweep now, then every `JOINT_PLANNING_SWEEP_INTERVAL` seconds, until cancelled."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        await sweep_once(runtime.sessionmaker, now=datetime.now(UTC))
        await asyncio.sleep(settings.sweep_interval_seconds)
