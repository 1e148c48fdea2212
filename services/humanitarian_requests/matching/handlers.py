"""The registry replica: NGO state kept from the registry's events alone.

Every NGO event carries the full public state and a `version`, so each handler is an upsert
that only moves forward: a redelivered or reordered older event (lower or equal version)
changes nothing. The inbox already makes each event apply once; the version check makes the
replica correct even when the registry's events arrive out of order across partitions or a
replay starts from an old offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import NgoReplica
from services.humanitarian_requests.matching.service import withdraw_offers_of_ineligible
from shared.db import upsert_if_newer
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import (
    NgoEligibilityChanged,
    NgoRegistered,
    NgoState,
    NgoUpdated,
    NgoVettingChanged,
)
from shared.logging import get_logger

log = get_logger(__name__)


async def upsert_ngo(session: AsyncSession, data: NgoState) -> bool:
    """Apply an NGO's state if it is newer than what the replica holds; True if applied."""
    values = {
        "ngo_id": data.ngo_id,
        "name": data.name,
        "sectors": [s.value for s in data.sectors],
        "capacities": [c.model_dump(mode="json") for c in data.capacities],
        "operating_areas": data.operating_areas,
        "operating_points": [p.model_dump(mode="json") for p in data.operating_points],
        "vetting_status": data.vetting_status,
        "eligibility": [g.model_dump(mode="json") for g in data.eligibility],
        "eligible": data.eligible,
        "version": data.version,
        "updated_at": data.updated_at,
    }
    applied = await upsert_if_newer(session, NgoReplica, "ngo_id", values)
    log.info(
        "replica.ngo_applied" if applied else "replica.ngo_stale_ignored",
        ngo_id=str(data.ngo_id),
        version=data.version,
    )
    return applied


def replica_router_for(settings: Settings) -> EventRouter:
    """The replica's handlers. An applied change that ends the NGO's eligibility for a request
    it holds a pending offer on withdraws that offer (same transaction) and moves on."""
    router = EventRouter(CATALOG)
    window = timedelta(seconds=settings.offer_response_seconds)

    async def apply(session: AsyncSession, data: NgoState) -> None:
        if await upsert_ngo(session, data):
            now = datetime.now(UTC)
            await withdraw_offers_of_ineligible(
                session, data.ngo_id, now=now, response_window=window
            )

    @router.on(NgoRegistered)
    async def on_registered(session: AsyncSession, event: CloudEvent, data: NgoRegistered) -> None:
        await apply(session, data)

    @router.on(NgoUpdated)
    async def on_updated(session: AsyncSession, event: CloudEvent, data: NgoUpdated) -> None:
        await apply(session, data)

    @router.on(NgoVettingChanged)
    async def on_vetting(session: AsyncSession, event: CloudEvent, data: NgoVettingChanged) -> None:
        await apply(session, data)

    @router.on(NgoEligibilityChanged)
    async def on_eligibility(
        session: AsyncSession, event: CloudEvent, data: NgoEligibilityChanged
    ) -> None:
        await apply(session, data)

    return router
