"""Queries of offers, and the row locks of the offer lifecycle.

Lock order, everywhere: the aid request row first (`lock_request`), then its offer row
(`lock_offer`). Accepting, declining, the deadline sweeper and cancelling all take them in
that order. The request lock lives here, with the offer's, because matching imports nothing
of the aid_request domain (which calls matching): one module owns the order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.db.models.tables import AidRequest, NgoReplica, Offer
from services.humanitarian_requests.matching.ranking import TrackRecord
from shared.events.schemas.humanitarian_requests import OfferStatus, RequestStatus

OPEN_ASSIGNMENT = [RequestStatus.accepted, RequestStatus.in_progress]


async def lock_request(session: AsyncSession, request_id: uuid.UUID) -> AidRequest | None:
    return (
        await session.execute(
            select(AidRequest)
            .where(AidRequest.id == request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def lock_offer(session: AsyncSession, offer_id: uuid.UUID) -> Offer | None:
    return (
        await session.execute(
            select(Offer)
            .where(Offer.id == offer_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def lock_offers_of(session: AsyncSession, request_id: uuid.UUID) -> Sequence[Offer]:
    """Every offer of a request, locked (after the request: the answer path's lock order)."""
    return (
        (
            await session.execute(
                select(Offer)
                .where(Offer.request_id == request_id)
                .order_by(Offer.round)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )


async def get_offer(session: AsyncSession, offer_id: uuid.UUID) -> Offer | None:
    return await session.get(Offer, offer_id)


async def get_request(session: AsyncSession, request_id: uuid.UUID) -> AidRequest | None:
    return await session.get(AidRequest, request_id)


async def list_offers(
    session: AsyncSession,
    *,
    ngo_id: uuid.UUID | None,
    status: OfferStatus | None,
    request_id: uuid.UUID | None,
    limit: int,
) -> list[tuple[Offer, AidRequest]]:
    """Offers with their requests, newest first; `ngo_id` None: every NGO's."""
    query = select(Offer, AidRequest).join(AidRequest, AidRequest.id == Offer.request_id)
    if ngo_id is not None:
        query = query.where(Offer.ngo_id == ngo_id)
    if status is not None:
        query = query.where(Offer.status == status)
    if request_id is not None:
        query = query.where(Offer.request_id == request_id)
    rows = (await session.execute(query.order_by(Offer.offered_at.desc()).limit(limit))).all()
    return [(offer, request) for offer, request in rows]


async def eligible_ngos(session: AsyncSession) -> Sequence[NgoReplica]:
    # populate_existing: the replica handlers upsert with core statements, so an NGO already
    # in this session's identity map may hold a state older than its row.
    return (
        await session.scalars(
            select(NgoReplica).where(NgoReplica.eligible).execution_options(populate_existing=True)
        )
    ).all()


async def fresh_ngo(session: AsyncSession, ngo_id: uuid.UUID) -> NgoReplica | None:
    """The replica's row as committed (not a stale identity-map copy)."""
    return (
        await session.execute(
            select(NgoReplica)
            .where(NgoReplica.ngo_id == ngo_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def asked_ngos(session: AsyncSession, request_id: uuid.UUID) -> set[uuid.UUID]:
    """Every NGO the request was offered to so far."""
    query = select(Offer.ngo_id).where(Offer.request_id == request_id)
    return set((await session.scalars(query)).all())


async def requests_with_pending_offers(
    session: AsyncSession, ngo_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    """The requests `ngo_id` holds a pending offer on, in one lock order across requests."""
    query = (
        select(Offer.request_id)
        .where(Offer.ngo_id == ngo_id, Offer.status == OfferStatus.pending)
        .order_by(Offer.request_id)
    )
    return (await session.scalars(query)).all()


async def lock_next_overdue(session: AsyncSession, now: datetime) -> AidRequest | None:
    """Lock the request whose pending offer is the most overdue, skipping one another
    transaction holds (an NGO answering it right now, or another sweeper)."""
    return (
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


async def open_load(session: AsyncSession, ngo_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Requests each NGO holds and has not finished (accepted or in progress)."""
    if not ngo_ids:
        return {}
    rows = await session.execute(
        select(AidRequest.assigned_ngo_id, func.count())
        .where(AidRequest.assigned_ngo_id.in_(ngo_ids), AidRequest.status.in_(OPEN_ASSIGNMENT))
        .group_by(AidRequest.assigned_ngo_id)
    )
    return {ngo_id: count for ngo_id, count in rows if ngo_id is not None}


async def track_records(
    session: AsyncSession, ngo_ids: list[uuid.UUID]
) -> dict[uuid.UUID, TrackRecord]:
    """Each NGO's answers so far: accepted, declined, expired, and answered in time."""
    if not ngo_ids:
        return {}
    answered = Offer.status.in_([OfferStatus.accepted, OfferStatus.declined])
    timely = answered & (
        func.extract("epoch", Offer.responded_at - Offer.offered_at) * 2
        <= func.extract("epoch", Offer.respond_by - Offer.offered_at)
    )

    def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    rows = await session.execute(
        select(
            Offer.ngo_id,
            count_if(Offer.status == OfferStatus.accepted),
            count_if(Offer.status == OfferStatus.declined),
            count_if(Offer.status == OfferStatus.expired),
            count_if(timely),
        )
        .where(Offer.ngo_id.in_(ngo_ids))
        .group_by(Offer.ngo_id)
    )
    return {row[0]: TrackRecord(int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows}
