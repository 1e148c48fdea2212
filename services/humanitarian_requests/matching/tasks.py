"""The offer-deadline sweeper: a background loop of the service runtime.

Its state is the offers table: each pass expires pending offers whose deadline passed and
moves their requests on (next candidate or escalation), one transaction per request. Several
replicas may sweep at once: `FOR UPDATE SKIP LOCKED` on the request rows hands each overdue
request to exactly one of them, and skips one an NGO is answering right now (that NGO holds
the request lock; it will see the passed deadline and get 409).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.matching.service import expire_next_overdue
from shared.db import unit_of_work
from shared.logging import get_logger
from shared.runtime import ServiceRuntime

log = get_logger(__name__)

BATCH = 50


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Expire every overdue offer once; returns how many were expired."""
    window = timedelta(seconds=settings.offer_response_seconds)
    expired = 0
    while True:
        async with unit_of_work(sessionmaker) as session:
            now = datetime.now(UTC)
            outcome = await expire_next_overdue(session, now=now, response_window=window)
            if outcome is None:
                return expired
            expired += outcome
        if expired >= BATCH:
            return expired


async def offer_deadline_sweeper(runtime: ServiceRuntime) -> None:
    """Run `sweep_once` every `offer_sweep_interval_seconds` until cancelled."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        try:
            count = await sweep_once(runtime.sessionmaker, settings)
            if count:
                log.info("offer.sweep", expired=count)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("offer.sweep_failed", error=repr(exc))
        await asyncio.sleep(settings.offer_sweep_interval_seconds)
