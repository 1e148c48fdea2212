"""The eligibility replica's consumer: the registry's NGO events, and their consequences.

Every NGO event carries the NGO's full public state and a `version`; the upsert only moves
forward, so a redelivered or older event changes nothing. When an applied state takes away
what an implementing participant needs, it is removed from those operations in the same
transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.config import Settings
from services.joint_planning.deconfliction.service import Rules
from services.joint_planning.eligibility import repository
from services.joint_planning.participant.service import remove_ineligible
from shared.events.envelope import CloudEvent, service_source
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

PRODUCER = service_source("ngo_registry")


def eligibility_router_for(settings: Settings) -> EventRouter:
    router = EventRouter(CATALOG)
    rules = Rules.from_settings(settings)

    async def apply(session: AsyncSession, event: CloudEvent, data: NgoState) -> None:
        if event.source != PRODUCER:
            log.warning("replica.untrusted_source", source=event.source, event_id=str(event.id))
            return
        if not await repository.upsert(session, data):
            log.info("replica.ngo_stale_ignored", ngo_id=str(data.ngo_id), version=data.version)
            return
        await remove_ineligible(session, data.ngo_id, rules)

    @router.on(NgoRegistered)
    async def on_registered(session: AsyncSession, event: CloudEvent, data: NgoRegistered) -> None:
        await apply(session, event, data)

    @router.on(NgoUpdated)
    async def on_updated(session: AsyncSession, event: CloudEvent, data: NgoUpdated) -> None:
        await apply(session, event, data)

    @router.on(NgoVettingChanged)
    async def on_vetting(session: AsyncSession, event: CloudEvent, data: NgoVettingChanged) -> None:
        await apply(session, event, data)

    @router.on(NgoEligibilityChanged)
    async def on_eligibility(
        session: AsyncSession, event: CloudEvent, data: NgoEligibilityChanged
    ) -> None:
        await apply(session, event, data)

    return router
