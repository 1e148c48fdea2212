"""The request read models: replica, history, counts per cell and status, stage timings,
per-NGO contribution; and the SLA clocks the request's state starts and stops.

Each aid-request event carries the full state and a `version`. A newer state replaces the
replica row and moves the request's contribution in the aggregates from its old cell and
status to the new ones (subtract old, add new), so every counter always equals what a full
scan would give. An older state (late delivery) changes nothing but the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.aid_request import repository
from services.monitoring.aid_request.repository import CountDelta, TimingHit
from services.monitoring.aid_request.timing import bucket_of
from services.monitoring.config import Settings
from services.monitoring.db.models.read_models import offers, request_history, requests
from services.monitoring.live import notify_change
from services.monitoring.sla.engine import sync_clocks
from shared.db import replace_if_newer
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    AidRequestAccepted,
    AidRequestCancelled,
    AidRequestClosed,
    AidRequestDuplicateLinked,
    AidRequestEscalated,
    AidRequestEvent,
    AidRequestFulfilled,
    AidRequestInProgress,
    AidRequestOfferDeclined,
    AidRequestOffered,
    AidRequestOfferExpired,
    AidRequestPartiallyFulfilled,
    AidRequestPriorityOverridden,
    AidRequestReclassified,
    AidRequestSubmitted,
    AidRequestTriaged,
    Fulfilment,
    OfferAccepted,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferReclassified,
    OfferState,
    OfferWithdrawn,
)
from shared.vocabulary import Sensitivity

REQUEST_EVENTS = (
    AidRequestSubmitted,
    AidRequestTriaged,
    AidRequestOffered,
    AidRequestOfferDeclined,
    AidRequestOfferExpired,
    AidRequestAccepted,
    AidRequestInProgress,
    AidRequestPartiallyFulfilled,
    AidRequestFulfilled,
    AidRequestClosed,
    AidRequestCancelled,
    AidRequestEscalated,
    AidRequestPriorityOverridden,
    AidRequestDuplicateLinked,
    AidRequestReclassified,
)
OFFER_EVENTS = (
    OfferMade,
    OfferAccepted,
    OfferDeclined,
    OfferExpired,
    OfferWithdrawn,
    OfferReclassified,
)

# (stage, the state's timestamp that marks it reached)
STAGE_FIELDS = (
    ("triage", "triaged_at"),
    ("offer", "offered_at"),
    ("acceptance", "accepted_at"),
    ("fulfilment", "fulfilled_at"),
)


def people_reached(data: AidRequestEvent) -> int:
    """People reached so far: all for a full delivery, the delivered share for a partial one."""
    total = data.affected_population.total
    if data.fulfilment is Fulfilment.full:
        return total
    if data.fulfilment is Fulfilment.none or not data.items:
        return 0
    share = sum(min(i.delivered_quantity / i.quantity, 1.0) for i in data.items) / len(data.items)
    return round(total * share)


def _row(data: AidRequestEvent) -> dict[str, Any]:
    return {
        "version": data.version,
        "status": data.status.value,
        "sector": data.sector.value,
        "pcode": data.location.pcode,
        "adm1": data.location.admin1,
        "urgency": data.urgency.value,
        "sensitivity": data.sensitivity.value,
        "title": data.title,
        "lat": data.location.lat,
        "lon": data.location.lon,
        "people_affected": data.affected_population.total,
        "people_reached": people_reached(data),
        "ngo_id": data.assigned_ngo_id,
        "created_at": data.submitted_at,
        "triaged_at": data.triaged_at,
        "offered_at": data.offered_at,
        "accepted_at": data.accepted_at,
        "fulfilled_at": data.fulfilled_at,
        "closed_at": data.closed_at or data.cancelled_at,
        "updated_at": data.updated_at,
    }


def _count_deltas(old: dict[str, Any] | None, new: dict[str, Any]) -> list[CountDelta]:
    """The request leaves its old cell and status (-1) and joins the new ones (+1)."""
    return [
        CountDelta(
            sector=row["sector"],
            pcode=row["pcode"],
            urgency=row["urgency"],
            status=row["status"],
            requests=sign,
            people_affected=sign * row["people_affected"],
            people_reached=sign * row["people_reached"],
        )
        for row, sign in ((old, -1), (new, 1))
        if row is not None
    ]


def _timing_hits(old: dict[str, Any] | None, new: dict[str, Any]) -> list[TimingHit]:
    """Each stage the request reached with this state for the first time."""
    hits = []
    for stage, field in STAGE_FIELDS:
        reached: datetime | None = new[field]
        if reached is None or (old is not None and old[field] is not None):
            continue
        seconds = (reached - new["created_at"]).total_seconds()
        hits.append(
            TimingHit(
                stage=stage,
                sector=new["sector"],
                pcode=new["pcode"],
                urgency=new["urgency"],
                bucket=bucket_of(seconds),
            )
        )
    return hits


async def _record_fulfilment(
    session: AsyncSession, settings: Settings, old: dict[str, Any] | None, new: dict[str, Any]
) -> None:
    ngo_id = new["ngo_id"]
    if ngo_id is None:
        return
    newly_fulfilled = new["fulfilled_at"] is not None and (
        old is None or old["fulfilled_at"] is None
    )
    on_time = 0
    if newly_fulfilled and new["accepted_at"] is not None:
        allowed = settings.sla_target(new["urgency"], "fulfilment")
        on_time = int((new["fulfilled_at"] - new["accepted_at"]).total_seconds() <= allowed)
    reached_before = old["people_reached"] if old is not None and old["ngo_id"] == ngo_id else 0
    await repository.add_contribution(
        session,
        ngo_id,
        fulfilled=int(newly_fulfilled),
        fulfilled_on_time=on_time,
        people_reached=new["people_reached"] - reached_before,
    )


async def apply_request(
    session: AsyncSession,
    settings: Settings,
    event: CloudEvent,
    data: AidRequestEvent,
    *,
    sla: bool,
) -> bool:
    """Apply one aid-request state; False when it is not newer than the replica."""
    await session.execute(
        insert(request_history).values(
            request_id=data.request_id,
            event_id=event.id,
            event_type=event.type,
            occurred_at=event.time,
            status=data.status.value,
            summary={
                "version": data.version,
                "actor": data.actor,
                "priority_score": data.priority_score,
                "offered_ngo_id": str(data.offered_ngo_id) if data.offered_ngo_id else None,
                "assigned_ngo_id": str(data.assigned_ngo_id) if data.assigned_ngo_id else None,
                "reason": data.escalation_reason or data.cancellation_reason,
            },
        )
    )
    new = _row(data)
    replaced = await replace_if_newer(
        session, requests, "request_id", {"request_id": data.request_id, **new}
    )
    if replaced is None:
        return False
    old = dict(replaced.previous) if replaced.previous is not None else None
    await repository.add_to_aggregates(session, _count_deltas(old, new), _timing_hits(old, new))
    await _record_fulfilment(session, settings, old, new)
    if sla:
        await sync_clocks(session, settings, data)
    return True


async def apply_offer(session: AsyncSession, data: OfferState) -> bool:
    values = {
        "offer_id": data.offer_id,
        "version": data.version,
        "request_id": data.request_id,
        "ngo_id": data.ngo_id,
        "status": data.status.value,
        "updated_at": data.updated_at,
    }
    replaced = await replace_if_newer(session, offers, "offer_id", values)
    if replaced is None:
        return False
    held = replaced.previous
    old_status = held["status"] if held is not None else None
    new_status = data.status.value
    await repository.add_contribution(
        session,
        data.ngo_id,
        offers=int(held is None),
        accepted=int(new_status == "accepted") - int(old_status == "accepted"),
        declined=int(new_status == "declined") - int(old_status == "declined"),
    )
    return True


def build_request_router(settings: Settings, *, sla: bool = True, live: bool = True) -> EventRouter:
    """Handlers for the aid-request and offer topics. `sla=False` (rebuild) keeps the SLA
    clocks untouched, so replaying history never raises or clears alerts twice."""
    router = EventRouter(CATALOG)

    async def on_request(session: AsyncSession, event: CloudEvent, data: AidRequestEvent) -> None:
        if await apply_request(session, settings, event, data, sla=sla) and live:
            await notify_change(
                session,
                "request",
                event,
                request_id=data.request_id,
                status=data.status,
                sector=data.sector,
                # Every staff role reads the stream: a restricted request at its state only.
                pcode=data.location.admin1 or None
                if data.sensitivity is Sensitivity.restricted
                else data.location.pcode,
                sensitivity=data.sensitivity,
                urgency=data.urgency,
            )

    async def on_offer(session: AsyncSession, event: CloudEvent, data: OfferState) -> None:
        if await apply_offer(session, data) and live:
            await notify_change(session, "offer", event, offer_id=data.offer_id)

    for model in REQUEST_EVENTS:
        router.on(model)(on_request)
    for offer_model in OFFER_EVENTS:
        router.on(offer_model)(on_offer)
    return router
