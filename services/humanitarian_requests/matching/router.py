"""HTTP routes of offers: NGOs read and answer the offers addressed to them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.humanitarian_requests.aid_request.events import offer_state
from services.humanitarian_requests.common.deps import AppSettings
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.common.principals import actor_of, is_ngo
from services.humanitarian_requests.common.text import StorableInput
from services.humanitarian_requests.db.models.tables import AidRequest, Offer
from services.humanitarian_requests.matching import service
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import CurrentPrincipal, DbSession
from shared.errors import NotFound
from shared.events.schemas.humanitarian_requests import OfferState, OfferStatus

router = APIRouter(prefix="/offers", tags=["offers"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry-safe key: the same key replays"),
]
ANSWERERS = policy(Role.ngo, Role.ops_centre, Role.admin, tenant=Tenant.own_ngo)


class RankedCandidate(BaseModel):
    ngo_id: uuid.UUID
    name: str
    score: float
    rank: int


class OfferStaffView(OfferState):
    """An offer with the whole ranking it was chosen from (ops centre only)."""

    ranking: list[RankedCandidate]


class DeclineIn(StorableInput):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


def _view(offer: Offer, request: AidRequest, principal: Principal) -> dict[str, Any]:
    state = offer_state(offer, request)
    if principal.is_staff:
        return OfferStaffView(**state.model_dump(), ranking=offer.ranking).model_dump(mode="json")  # type: ignore[arg-type]
    return state.model_dump(mode="json")


def _ngo_filter(principal: Principal) -> uuid.UUID | None:
    """The NGO whose offers this principal may see; None for staff (all offers)."""
    if principal.is_staff:
        return None
    if is_ngo(principal) and principal.ngo_id is not None:
        return principal.ngo_id
    raise NotFound("No offers")


@router.get("", response_model=list[OfferState], dependencies=[ANSWERERS])
async def list_offers(
    session: DbSession,
    principal: CurrentPrincipal,
    status: OfferStatus | None = None,
    request_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    """Offers addressed to the calling NGO (the ops centre sees all), newest first."""
    ngo_id = _ngo_filter(principal)
    query = select(Offer, AidRequest).join(AidRequest, AidRequest.id == Offer.request_id)
    if ngo_id is not None:
        query = query.where(Offer.ngo_id == ngo_id)
    if status is not None:
        query = query.where(Offer.status == status)
    if request_id is not None:
        query = query.where(Offer.request_id == request_id)
    rows = (await session.execute(query.order_by(Offer.offered_at.desc()).limit(limit))).all()
    return JSONResponse([_view(o, r, principal) for o, r in rows])


@router.get("/{offer_id}", response_model=OfferState, dependencies=[ANSWERERS])
async def get_offer(
    offer_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> JSONResponse:
    """One offer, with this NGO's ranking explanation (ops centre: the full ranking)."""
    ngo_id = _ngo_filter(principal)
    offer = await session.get(Offer, offer_id)
    if offer is None or (ngo_id is not None and offer.ngo_id != ngo_id):
        raise NotFound(f"No offer {offer_id}")
    request = await session.get(AidRequest, offer.request_id)
    assert request is not None
    return JSONResponse(_view(offer, request, principal))


async def _answer(
    session: DbSession,
    principal: Principal,
    offer_id: uuid.UUID,
    *,
    accept: bool,
    reason: str | None,
    key: str | None,
    window: timedelta,
) -> JSONResponse:
    ngo_id = _ngo_filter(principal)

    async def work() -> tuple[int, Any]:
        now = datetime.now(UTC)
        actor = actor_of(principal)
        if accept:
            offer = await service.accept_offer(
                session, offer_id, ngo_id=ngo_id, actor=actor, now=now
            )
        else:
            offer = await service.decline_offer(
                session,
                offer_id,
                ngo_id=ngo_id,
                reason=reason,
                actor=actor,
                now=now,
                response_window=window,
            )
        request = await session.get(AidRequest, offer.request_id)
        assert request is not None
        return 200, _view(offer, request, principal)

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"offers/{offer_id}/{'accept' if accept else 'decline'}",
        key=key,
        body={"reason": reason},
        work=work,
    )


@router.post("/{offer_id}/accept", response_model=OfferState, dependencies=[ANSWERERS])
async def accept_offer(
    offer_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Accept an offer addressed to you: the request is assigned to your NGO. 409 when the
    offer expired, was already answered, or the request went to someone else."""
    return await _answer(
        session,
        principal,
        offer_id,
        accept=True,
        reason=None,
        key=idempotency_key,
        window=timedelta(seconds=settings.offer_response_seconds),
    )


@router.post("/{offer_id}/decline", response_model=OfferState, dependencies=[ANSWERERS])
async def decline_offer(
    offer_id: uuid.UUID,
    body: DeclineIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Decline an offer addressed to you; the request goes to the next candidate (or is
    escalated to the ops centre when none is left). 409 as for accept."""
    return await _answer(
        session,
        principal,
        offer_id,
        accept=False,
        reason=body.reason,
        key=idempotency_key,
        window=timedelta(seconds=settings.offer_response_seconds),
    )
