"""The retention sweep every service that purges runs the same way.

Each service's `retention/service.py` holds its own `purge_expired(session, settings)` (what
expired in its stores, anonymised, and the purge recorded as an event through the outbox, in
the caller's transaction); this is the loop around it: a pass at start-up, then one about every
`<SERVICE>_RETENTION_SWEEP_INTERVAL` seconds, jittered so that replicas started together do
not sweep in step. Each pass is one transaction. A pass that fails is the runtime's to restart
(`ServiceRuntime` supervises its background loops with backoff).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import unit_of_work
from shared.retry import jittered
from shared.runtime import BackgroundTask, ServiceRuntime


@runtime_checkable
class RetentionSettings(Protocol):
    retention_sweep_interval_seconds: float


def retention_sweep(purge: Callable[[AsyncSession, Any], Awaitable[object]]) -> BackgroundTask:
    """The background loop that runs `purge(session, settings)` a pass at a time."""

    async def retention_sweep(runtime: ServiceRuntime) -> None:
        settings = runtime.settings
        if not isinstance(settings, RetentionSettings):
            raise TypeError(f"{type(settings).__name__} has no retention sweep interval")
        while True:
            async with unit_of_work(runtime.sessionmaker) as session:
                await purge(session, settings)
            await asyncio.sleep(jittered(settings.retention_sweep_interval_seconds))

    return retention_sweep
