"""Offers: pick the best remaining eligible NGO, offer, and follow the answer.

Lock order, everywhere: the aid request row first, then its offer row (`repository`).
Accepting, declining, the deadline sweeper and cancelling all follow it, so they serialise
per request without deadlocks, and an NGO answering at the instant its offer expires gets
exactly one outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.common.events import (
    offer_state,
    record_offer,
    record_transition,
    touch,
)
from services.humanitarian_requests.common.principals import actor_of, is_ngo
from services.humanitarian_requests.db.models.tables import AidRequest, NgoReplica, Offer
from services.humanitarian_requests.matching import repository
from services.humanitarian_requests.matching.errors import (
    OfferAlreadyAnswered,
    OfferLapsed,
    OfferNotFound,
    OfferSuperseded,
    RequestNotOffered,
)
from services.humanitarian_requests.matching.ranking import is_eligible, rank
from services.humanitarian_requests.matching.schemas import OfferStaffView, OfferView
from shared.auth import Principal
from shared.events.schemas.humanitarian_requests import (
    AidRequestAccepted,
    AidRequestEscalated,
    AidRequestOfferDeclined,
    AidRequestOffered,
    AidRequestOfferExpired,
    OfferAccepted,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    OfferReclassified,
    OfferState,
    OfferStatus,
    OfferWithdrawn,
    RequestStatus,
)
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

SYSTEM = "system"


async def offer_next(
    session: AsyncSession,
    request: AidRequest,
    *,
    now: datetime,
    response_window: timedelta,
    actor: str = SYSTEM,
    replica: Sequence[NgoReplica] | None = None,
) -> Offer | None:
    """Offer `request` (locked, status triaged or escalated) to the best NGO not yet asked,
    or escalate it when nobody is left. `replica`: the eligible NGOs when the caller already
    read them in this transaction (a triage pass), else they are read here."""
    today = now.date()
    if replica is None:
        replica = await repository.eligible_ngos(session)
    # Eligibility first: the load and track-record queries only run for real candidates.
    ngos = [n for n in replica if is_eligible(n, request.sector, request.pcode, today)]
    if not ngos:
        await escalate(session, request, reason="no eligible NGO", now=now, actor=actor)
        return None
    ids = [n.ngo_id for n in ngos]
    ranking = rank(
        request,
        ngos,
        open_load=await repository.open_load(session, ids),
        records=await repository.track_records(session, ids),
        today=today,
    )
    asked: set[uuid.UUID] = set()
    if request.offer_round:  # a fresh request has asked nobody yet
        asked = await repository.asked_ngos(session, request.id)
    remaining = [(i, c) for i, c in enumerate(ranking, start=1) if c.ngo_id not in asked]
    if not remaining:
        reason = "every eligible NGO declined or timed out"
        await escalate(session, request, reason=reason, now=now, actor=actor)
        return None
    position, chosen = remaining[0]
    offer = Offer(
        id=uuid.uuid4(),
        request_id=request.id,
        ngo_id=chosen.ngo_id,
        sensitivity=request.sensitivity,
        status=OfferStatus.pending,
        round=request.offer_round + 1,
        rank=position,
        score=chosen.score,
        explanation=[f.model_dump(mode="json") for f in chosen.factors],
        ranking=[
            {"ngo_id": str(c.ngo_id), "name": c.name, "score": c.score, "rank": i}
            for i, c in enumerate(ranking, start=1)
        ],
        offered_at=now,
        respond_by=now + response_window,
        updated_at=now,
        version=1,
    )
    session.add(offer)
    request.status = RequestStatus.offered
    request.current_offer_id = offer.id
    request.offered_ngo_id = offer.ngo_id
    request.offer_deadline = offer.respond_by
    request.offer_round = offer.round
    request.offered_at = request.offered_at or now
    request.escalation_reason = None
    touch(request, now)
    await session.flush()
    await record_transition(session, request, AidRequestOffered, actor=actor)
    await record_offer(session, offer, request, OfferMade, actor=actor)
    log.info("offer.made", request_id=str(request.id), ngo_id=str(offer.ngo_id), rank=position)
    return offer


async def escalate(
    session: AsyncSession, request: AidRequest, *, reason: str, now: datetime, actor: str
) -> None:
    request.status = RequestStatus.escalated
    request.escalated_at = now
    request.escalation_reason = reason
    touch(request, now)
    await record_transition(session, request, AidRequestEscalated, actor=actor)
    log.info("aid_request.escalated", request_id=str(request.id), reason=reason)


async def _answerable(
    session: AsyncSession, offer_id: uuid.UUID, ngo_id: uuid.UUID | None, now: datetime
) -> tuple[AidRequest, Offer]:
    """Lock the offer's request and the offer, and check the NGO may still answer it."""
    found = await repository.get_offer(session, offer_id)
    if found is None:
        raise OfferNotFound(f"No offer {offer_id}")
    if ngo_id is not None and found.ngo_id != ngo_id:
        # Another NGO's offer answers exactly like one that does not exist.
        raise OfferNotFound(f"No offer {offer_id}")
    request = await repository.lock_request(session, found.request_id)
    offer = await repository.lock_offer(session, offer_id)
    assert request is not None and offer is not None  # rows are never deleted
    if offer.status != OfferStatus.pending:
        raise OfferAlreadyAnswered(
            f"This offer is {offer.status}; it can no longer be answered", offer_status=offer.status
        )
    if offer.respond_by <= now:
        raise OfferLapsed(
            "This offer's response deadline has passed", respond_by=offer.respond_by.isoformat()
        )
    if request.current_offer_id != offer.id or request.status != RequestStatus.offered:
        raise OfferSuperseded("This request is no longer offered to you")
    return request, offer


async def accept_offer(
    session: AsyncSession,
    offer_id: uuid.UUID,
    *,
    ngo_id: uuid.UUID | None,
    actor: str,
    now: datetime,
) -> Offer:
    request, offer = await _answerable(session, offer_id, ngo_id, now)
    offer.status = OfferStatus.accepted
    offer.responded_at = now
    offer.version += 1
    offer.updated_at = now
    request.status = RequestStatus.accepted
    request.assigned_ngo_id = offer.ngo_id
    request.accepted_at = now
    request.offered_ngo_id = None
    request.offer_deadline = None
    touch(request, now)
    await record_transition(session, request, AidRequestAccepted, actor=actor)
    await record_offer(session, offer, request, OfferAccepted, actor=actor)
    log.info("offer.accepted", offer_id=str(offer.id), ngo_id=str(offer.ngo_id))
    return offer


async def decline_offer(
    session: AsyncSession,
    offer_id: uuid.UUID,
    *,
    ngo_id: uuid.UUID | None,
    reason: str | None,
    actor: str,
    now: datetime,
    response_window: timedelta,
) -> Offer:
    request, offer = await _answerable(session, offer_id, ngo_id, now)
    offer.status = OfferStatus.declined
    offer.decline_reason = reason
    offer.responded_at = now
    offer.version += 1
    offer.updated_at = now
    _back_to_triaged(request, now)
    await record_transition(
        session,
        request,
        AidRequestOfferDeclined,
        actor=actor,
        offer_id=offer.id,
        ngo_id=offer.ngo_id,
        reason=reason,
    )
    await record_offer(session, offer, request, OfferDeclined, actor=actor)
    log.info("offer.declined", offer_id=str(offer.id), ngo_id=str(offer.ngo_id))
    await offer_next(session, request, now=now, response_window=response_window)
    return offer


async def expire_offer(
    session: AsyncSession,
    request: AidRequest,
    offer: Offer,
    *,
    now: datetime,
    response_window: timedelta,
) -> None:
    """The deadline passed (both rows locked by the caller): expire and move on."""
    offer.status = OfferStatus.expired
    offer.version += 1
    offer.updated_at = now
    _back_to_triaged(request, now)
    await record_transition(
        session,
        request,
        AidRequestOfferExpired,
        actor=SYSTEM,
        offer_id=offer.id,
        ngo_id=offer.ngo_id,
    )
    await record_offer(session, offer, request, OfferExpired, actor=SYSTEM)
    log.info("offer.expired", offer_id=str(offer.id), ngo_id=str(offer.ngo_id))
    await offer_next(session, request, now=now, response_window=response_window)


async def expire_next_overdue(
    session: AsyncSession, *, now: datetime, response_window: timedelta
) -> bool | None:
    """Expire the most overdue pending offer no other transaction holds: True when it was
    expired, False when it was answered meanwhile, None when no overdue offer is left."""
    request = await repository.lock_next_overdue(session, now)
    if request is None or request.current_offer_id is None:
        return None
    offer = await repository.lock_offer(session, request.current_offer_id)
    if offer is None or offer.status != OfferStatus.pending:
        return False
    await expire_offer(session, request, offer, now=now, response_window=response_window)
    return True


async def withdraw_pending_offer(
    session: AsyncSession, request: AidRequest, *, now: datetime, actor: str
) -> None:
    """Withdraw the current offer of a (locked) request that is being cancelled."""
    if request.current_offer_id is None or request.status != RequestStatus.offered:
        return
    offer = await repository.lock_offer(session, request.current_offer_id)
    if offer is None or offer.status != OfferStatus.pending:
        return
    offer.status = OfferStatus.withdrawn
    offer.version += 1
    offer.updated_at = now
    await record_offer(session, offer, request, OfferWithdrawn, actor=actor)


async def withdraw_offers_of_ineligible(
    session: AsyncSession, ngo_id: uuid.UUID, *, now: datetime, response_window: timedelta
) -> int:
    """The replica just changed `ngo_id`: withdraw each pending offer it may no longer hold
    (not vetted, or no current grant for the request's sector and area) and offer the request
    to the next candidate. Without this the NGO could still accept until the deadline.
    Returns how many offers were withdrawn."""
    ngo = await repository.fresh_ngo(session, ngo_id)
    withdrawn = 0
    for request_id in await repository.requests_with_pending_offers(session, ngo_id):
        request = await repository.lock_request(session, request_id)
        if (
            request is None
            or request.status != RequestStatus.offered
            or request.offered_ngo_id != ngo_id
            or request.current_offer_id is None
        ):
            continue
        if ngo is not None and is_eligible(ngo, request.sector, request.pcode, now.date()):
            continue
        offer = await repository.lock_offer(session, request.current_offer_id)
        if offer is None or offer.status != OfferStatus.pending:
            continue
        offer.status = OfferStatus.withdrawn
        offer.version += 1
        offer.updated_at = now
        await record_offer(session, offer, request, OfferWithdrawn, actor=SYSTEM)
        log.info("offer.withdrawn_ineligible", offer_id=str(offer.id), ngo_id=str(ngo_id))
        # offered -> offered (next NGO) or escalated: offer_next records the request event;
        # escalation must not still name the withdrawn offer and its NGO.
        request.current_offer_id = request.offered_ngo_id = request.offer_deadline = None
        await offer_next(session, request, now=now, response_window=response_window)
        withdrawn += 1
    return withdrawn


async def reclassify_offers(
    session: AsyncSession, request: AidRequest, *, actor: str, now: datetime
) -> int:
    """Keep every offer of `request` (locked, just reclassified) at the request's class, in
    the reclassification's transaction, each one whose class changes published as
    `offer.reclassified.v1` (its NGO's webhook included): the new class is on Kafka at once,
    and to restricted, what its NGO reads of it is the coarse summary from here on
    (`offer_state`). How many offers changed."""
    changed = 0
    for offer in await repository.lock_offers_of(session, request.id):
        if offer.sensitivity == request.sensitivity:
            continue
        previous = Sensitivity(offer.sensitivity)
        offer.sensitivity = request.sensitivity
        offer.version += 1
        offer.updated_at = now
        await record_offer(
            session, offer, request, OfferReclassified, actor=actor, previous_sensitivity=previous
        )
        changed += 1
    return changed


def _back_to_triaged(request: AidRequest, now: datetime) -> None:
    if request.status != RequestStatus.offered:
        raise RequestNotOffered(f"The request is {request.status}, not offered")
    request.status = RequestStatus.triaged
    request.current_offer_id = None
    request.offered_ngo_id = None
    request.offer_deadline = None
    touch(request, now)


def offer_view(offer: Offer, request: AidRequest, principal: Principal) -> OfferView:
    """The offer as this principal reads it: staff get the whole ranking it was chosen
    from, an NGO only its own ranking explanation."""
    state = offer_state(offer, request)
    if principal.is_staff:
        return OfferStaffView(**state.model_dump(), ranking=offer.ranking)  # type: ignore[arg-type]
    return state


def offers_visible_to(principal: Principal) -> uuid.UUID | None:
    """The NGO whose offers this principal may see; None for staff (all offers)."""
    if principal.is_staff:
        return None
    if is_ngo(principal) and principal.ngo_id is not None:
        return principal.ngo_id
    raise OfferNotFound("No offers")


async def list_offers(
    session: AsyncSession,
    principal: Principal,
    *,
    status: OfferStatus | None,
    request_id: uuid.UUID | None,
    limit: int,
) -> list[OfferView]:
    """Offers addressed to the principal's NGO (staff: all), newest first."""
    rows = await repository.list_offers(
        session,
        ngo_id=offers_visible_to(principal),
        status=status,
        request_id=request_id,
        limit=limit,
    )
    return [offer_view(offer, request, principal) for offer, request in rows]


async def get_offer(session: AsyncSession, principal: Principal, offer_id: uuid.UUID) -> OfferState:
    """One offer, if the principal may see it (another NGO's answers like a missing one)."""
    ngo_id = offers_visible_to(principal)
    offer = await repository.get_offer(session, offer_id)
    if offer is None or (ngo_id is not None and offer.ngo_id != ngo_id):
        raise OfferNotFound(f"No offer {offer_id}")
    return await _view_with_request(session, offer, principal)


async def answer_offer(
    session: AsyncSession,
    principal: Principal,
    offer_id: uuid.UUID,
    *,
    accept: bool,
    reason: str | None,
    now: datetime,
    response_window: timedelta,
) -> OfferView:
    """Accept or decline an offer on behalf of the principal (staff may answer any)."""
    ngo_id = offers_visible_to(principal)
    actor = actor_of(principal)
    if accept:
        offer = await accept_offer(session, offer_id, ngo_id=ngo_id, actor=actor, now=now)
    else:
        offer = await decline_offer(
            session,
            offer_id,
            ngo_id=ngo_id,
            reason=reason,
            actor=actor,
            now=now,
            response_window=response_window,
        )
    return await _view_with_request(session, offer, principal)


async def _view_with_request(
    session: AsyncSession, offer: Offer, principal: Principal
) -> OfferView:
    request = await repository.get_request(session, offer.request_id)
    assert request is not None  # rows are never deleted
    return offer_view(offer, request, principal)
