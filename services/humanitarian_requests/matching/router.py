"""HTTP routes of offers: NGOs read and answer the offers addressed to them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from services.humanitarian_requests.common.deps import AppSettings, IdempotencyKey
from services.humanitarian_requests.common.errors import IDEMPOTENCY_ERRORS
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.matching import service
from services.humanitarian_requests.matching.errors import ANSWER_CONFLICTS, OfferNotFound
from services.humanitarian_requests.matching.schemas import DeclineIn, OfferView
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import CurrentPrincipal, DbSession
from shared.events.schemas.humanitarian_requests import OfferStatus
from shared.web import error_responses

router = APIRouter(prefix="/offers", tags=["offers"])

OFFER: TypeAdapter[OfferView] = TypeAdapter(OfferView)
ANSWERERS = policy(Role.ngo, Role.ops_centre, Role.admin, tenant=Tenant.own_ngo)


@router.get(
    "",
    response_model=list[OfferView],
    dependencies=[ANSWERERS],
    responses=error_responses(OfferNotFound),
)
async def list_offers(
    session: DbSession,
    principal: CurrentPrincipal,
    status: OfferStatus | None = None,
    request_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OfferView]:
    """Offers addressed to the calling NGO (the ops centre sees all), newest first."""
    return await service.list_offers(
        session, principal, status=status, request_id=request_id, limit=limit
    )


@router.get(
    "/{offer_id}",
    response_model=OfferView,
    dependencies=[ANSWERERS],
    responses=error_responses(OfferNotFound),
)
async def get_offer(
    offer_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> OfferView:
    """One offer, with this NGO's ranking explanation (ops centre: the full ranking)."""
    return await service.get_offer(session, principal, offer_id)


async def _answer(
    session: DbSession,
    principal: Principal,
    offer_id: uuid.UUID,
    *,
    accept: bool,
    reason: str | None,
    key: str | None,
    window: timedelta,
    response: Response,
) -> OfferView:
    service.offers_visible_to(principal)  # 404 before the key is claimed, as before

    async def work() -> tuple[int, Any]:
        offer = await service.answer_offer(
            session,
            principal,
            offer_id,
            accept=accept,
            reason=reason,
            now=datetime.now(UTC),
            response_window=window,
        )
        return 200, offer

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"offers/{offer_id}/{'accept' if accept else 'decline'}",
        key=key,
        body={"reason": reason},
        response=response,
        view=OFFER,
        work=work,
    )


@router.post(
    "/{offer_id}/accept",
    response_model=OfferView,
    dependencies=[ANSWERERS],
    responses=error_responses(OfferNotFound, *ANSWER_CONFLICTS, *IDEMPOTENCY_ERRORS),
)
async def accept_offer(
    offer_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OfferView:
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
        response=response,
    )


@router.post(
    "/{offer_id}/decline",
    response_model=OfferView,
    dependencies=[ANSWERERS],
    responses=error_responses(OfferNotFound, *ANSWER_CONFLICTS, *IDEMPOTENCY_ERRORS),
)
async def decline_offer(
    offer_id: uuid.UUID,
    body: DeclineIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OfferView:
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
        response=response,
    )
