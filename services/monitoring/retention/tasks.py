"""The retention loop the runtime supervises: one purge pass per interval."""

from __future__ import annotations

import asyncio

from services.monitoring.config import Settings
from services.monitoring.retention.service import purge_expired
from shared.runtime import ServiceRuntime


class RetentionSweep:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, runtime: ServiceRuntime) -> None:
        while True:
            async with runtime.sessionmaker() as session, session.begin():
                await purge_expired(session, self.settings)
            await asyncio.sleep(self.settings.retention_sweep_interval_seconds)
