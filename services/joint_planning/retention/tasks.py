"""The retention sweep: a background loop of the service runtime, one purge pass per round."""

from __future__ import annotations

import asyncio

from services.joint_planning.config import Settings
from services.joint_planning.retention.service import purge_expired
from shared.db import unit_of_work
from shared.logging import get_logger
from shared.retry import jittered
from shared.runtime import ServiceRuntime

log = get_logger(__name__)


async def retention_sweep(runtime: ServiceRuntime) -> None:
    """Purge now, then about every `JOINT_PLANNING_RETENTION_SWEEP_INTERVAL` seconds
    (jittered, so replicas started together do not sweep in step), until cancelled. Each pass
    is one transaction: the purge and its event commit together or not at all."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        try:
            async with unit_of_work(runtime.sessionmaker) as session:
                await purge_expired(session, settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("retention.sweep_failed", error=repr(exc))
        await asyncio.sleep(jittered(settings.retention_sweep_interval_seconds))
