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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest, Offer
from services.humanitarian_requests.matching.service import expire_offer, lock_offer
from shared.db import unit_of_work
from shared.events.schemas.humanitarian_requests import OfferStatus, RequestStatus
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
            request = (
                await session.execute(
                    select(AidRequest)
                    .join(Offer, Offer.id == AidRequest.current_offer_id)
                    .where(
                        AidRequest.status == RequestStatus.offered,
                        Offer.status == OfferStatus.pending,
                        Offer.respond_by <= now,
                    )
                    .order_by(Offer.respond_by)
                    .limit(1)
                    .with_for_update(of=AidRequest, skip_locked=True)
                    .execution_options(populate_existing=True)
                )
            ).scalar_one_or_none()
            if request is None or request.current_offer_id is None:
                return expired
            offer = await lock_offer(session, request.current_offer_id)
            if offer is not None and offer.status == OfferStatus.pending:
                await expire_offer(session, request, offer, now=now, response_window=window)
                expired += 1
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
