"""HTTP routes of aid requests: intake, views per audience, and lifecycle transitions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from services.humanitarian_requests.aid_request import service
from services.humanitarian_requests.aid_request.errors import (
    AidRequestNotFound,
    LinkTargetEnded,
    NothingDelivered,
    RequestTransitionNotAllowed,
    UnknownDeliveryItems,
)
from services.humanitarian_requests.aid_request.schemas import (
    AidRequestIn,
    AidRequestPage,
    AidRequestView,
    AnyRequestView,
    CancelIn,
    DeliveryIn,
    HistoryView,
    LinkIn,
    NgoRequestPage,
    PriorityOverrideIn,
    ReclassifyIn,
)
from services.humanitarian_requests.common.deps import AppSettings, IdempotencyKey, Purpose
from services.humanitarian_requests.common.errors import (
    IDEMPOTENCY_ERRORS,
    INTAKE_ERRORS,
    ReclassificationRefused,
    SelfLink,
    UnknownLinkTarget,
)
from services.humanitarian_requests.common.idempotency import run_idempotent
from shared.auth import RECLASSIFY_ROLES, Principal, Role, Tenant, policy
from shared.deps import MAX_OFFSET, CurrentPrincipal, DbSession
from shared.events.schemas.humanitarian_requests import RequestStatus
from shared.ratelimit import rate_limit
from shared.vocabulary import Sector
from shared.web import error_responses

ViewT = TypeVar("ViewT")

router = APIRouter(prefix="/aid-requests", tags=["aid requests"])

STAFF = policy(Role.ops_centre, Role.admin)
RECLASSIFIERS = policy(*RECLASSIFY_ROLES)
REPORTERS = policy(Role.field_unit, Role.ops_centre, Role.admin, tenant=Tenant.own_unit)
ANSWERING_NGO = policy(Role.ngo, Role.ops_centre, tenant=Tenant.own_ngo)
Readers = Annotated[
    Principal,
    policy(
        Role.field_unit,
        Role.ngo,
        Role.ops_centre,
        Role.admin,
        Role.protection_officer,
        tenant=Tenant.own,
    ),
]
Reporters = Annotated[Principal, REPORTERS]
FULL_REQUEST = TypeAdapter(AidRequestView)
ANY_REQUEST: TypeAdapter[AnyRequestView] = TypeAdapter(AnyRequestView)
TRANSITION = (AidRequestNotFound, RequestTransitionNotAllowed, *IDEMPOTENCY_ERRORS)
"""What every lifecycle transition may answer: not visible, not from this status, the key."""


@router.post(
    "",
    status_code=201,
    response_model=AidRequestView,
    dependencies=[REPORTERS, rate_limit("intake")],
    responses=error_responses(*INTAKE_ERRORS),
)
async def submit_aid_request(
    body: AidRequestIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Submit an aid request. It is stored `submitted`; triage (priority, duplicate links) and
    the offer to the best eligible NGO follow within moments, and its status shows them (`GET
    /aid-requests/{id}`: `triaged`, then `offered` or linked as a duplicate). Retries with the
    same `Idempotency-Key` or the same `client_id` return the first request (200 for a
    `client_id` duplicate) and create nothing."""

    async def work() -> tuple[int, Any]:
        submitted = await service.submit(
            session, principal, body, settings=settings, now=datetime.now(UTC)
        )
        return (201 if submitted.created else 200), submitted.view

    return await run_idempotent(
        session,
        principal=principal,
        endpoint="aid-requests",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=FULL_REQUEST,
        work=work,
    )


@router.get("", response_model=AidRequestPage | NgoRequestPage)
async def list_aid_requests(
    session: DbSession,
    principal: Readers,
    status: RequestStatus | None = None,
    sector: Sector | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    purpose: Purpose = None,
) -> AidRequestPage | NgoRequestPage:
    """List requests: a field unit sees its own; an NGO its assignments and the open,
    non-restricted requests in its sectors and areas (coarsened); the ops centre everything."""
    return await service.list_for_principal(
        session,
        principal,
        status=status,
        sector=sector,
        limit=limit,
        offset=offset,
        purpose=purpose,
        now=datetime.now(UTC),
    )


@router.get(
    "/{request_id}",
    response_model=AnyRequestView,
    responses=error_responses(AidRequestNotFound),
)
async def get_aid_request(
    request_id: uuid.UUID,
    session: DbSession,
    principal: Readers,
    purpose: Purpose = None,
) -> AnyRequestView:
    """One request. NGOs get the coarsened view, and only of what they may see. A restricted
    one read in full is recorded in the access log (with the `purpose`, if given)."""
    return await service.read_request(
        session, principal, request_id, purpose=purpose, now=datetime.now(UTC)
    )


@router.get(
    "/{request_id}/history",
    response_model=list[HistoryView],
    responses=error_responses(AidRequestNotFound),
)
async def aid_request_history(
    request_id: uuid.UUID, session: DbSession, principal: Reporters
) -> list[HistoryView]:
    """Every transition of the request and its offers, oldest first (unit and ops centre)."""
    return await service.request_history(session, principal, request_id, now=datetime.now(UTC))


async def _idempotent(
    session: DbSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    endpoint: str,
    key: str | None,
    body: Any,
    response: Response,
    view: TypeAdapter[ViewT],
    change: Callable[[datetime], Awaitable[dict[str, Any]]],
) -> ViewT:
    """Run one transition once per Idempotency-Key; it answers 200 with the request as the
    caller reads it (`view`)."""

    async def work() -> tuple[int, Any]:
        return 200, await change(datetime.now(UTC))

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"aid-requests/{request_id}/{endpoint}",
        key=key,
        body=body,
        response=response,
        view=view,
        work=work,
    )


@router.post(
    "/{request_id}/cancel", response_model=AidRequestView, responses=error_responses(*TRANSITION)
)
async def cancel_aid_request(
    request_id: uuid.UUID,
    body: CancelIn,
    session: DbSession,
    principal: Reporters,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Cancel a request (its unit or the ops centre); a pending offer is withdrawn, and the
    requests waiting in its cluster go on to matching. 409 from fulfilled, closed or
    cancelled."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.cancel(
            session, principal, request_id, reason=body.reason, settings=settings, now=now
        )

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="cancel",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=FULL_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/priority",
    response_model=AidRequestView,
    dependencies=[STAFF],
    responses=error_responses(*TRANSITION),
)
async def override_priority(
    request_id: uuid.UUID,
    body: PriorityOverrideIn,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Ops centre: set the priority score by hand, with the reason recorded."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.override_priority(
            session,
            principal,
            request_id,
            score=body.priority_score,
            reason=body.reason,
            now=now,
        )

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="priority",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=FULL_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/classification",
    response_model=AidRequestView,
    dependencies=[RECLASSIFIERS],
    responses={
        **error_responses(AidRequestNotFound, ReclassificationRefused, *IDEMPOTENCY_ERRORS),
        403: {"description": "Not ops_centre, admin or protection_officer"},
    },
)
async def reclassify_aid_request(
    request_id: uuid.UUID,
    body: ReclassifyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Staff: change the request's sensitivity with a reason (an `aid_request.reclassified`
    event is the audit). Never below the derived minimum (422). To `restricted`, a request
    listed for NGOs is retracted (`open_request.retracted`) and leaves their listings."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.reclassify(
            session,
            principal,
            request_id,
            sensitivity=body.sensitivity,
            reason=body.reason,
            now=now,
        )

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="classification",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=FULL_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/link",
    response_model=AidRequestView,
    dependencies=[STAFF],
    responses=error_responses(*TRANSITION, LinkTargetEnded, SelfLink, UnknownLinkTarget),
)
async def link_aid_request(
    request_id: uuid.UUID,
    body: LinkIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Ops centre: link the request to another's cluster, or unlink it (then it is matched)."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.link(
            session,
            principal,
            request_id,
            duplicate_of=body.duplicate_of,
            reason=body.reason,
            settings=settings,
            now=now,
        )

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="link",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=FULL_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/rematch",
    response_model=AidRequestView,
    dependencies=[STAFF],
    responses=error_responses(*TRANSITION),
)
async def rematch_aid_request(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Ops centre: try matching an escalated request again (NGOs not yet asked)."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.rematch(session, principal, request_id, settings=settings, now=now)

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="rematch",
        key=idempotency_key,
        body={},
        response=response,
        view=FULL_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/start",
    response_model=AnyRequestView,
    dependencies=[ANSWERING_NGO],
    responses=error_responses(*TRANSITION),
)
async def start_delivery(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AnyRequestView:
    """The assigned NGO starts delivering: accepted → in_progress."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.start(session, principal, request_id, now=now)

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="start",
        key=idempotency_key,
        body={},
        response=response,
        view=ANY_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/deliveries",
    response_model=AnyRequestView,
    dependencies=[ANSWERING_NGO],
    responses=error_responses(*TRANSITION, NothingDelivered, UnknownDeliveryItems),
)
async def record_delivery(
    request_id: uuid.UUID,
    body: DeliveryIn,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AnyRequestView:
    """The assigned NGO records delivered quantities; all delivered (or `final`) → fulfilled
    (full or partial), otherwise partially fulfilled and still in progress."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.record_delivery(session, principal, request_id, body, now=now)

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="deliveries",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=ANY_REQUEST,
        change=change,
    )


@router.post(
    "/{request_id}/close",
    response_model=AidRequestView,
    dependencies=[STAFF],
    responses=error_responses(*TRANSITION),
)
async def close_aid_request(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AidRequestView:
    """Ops centre: close a fulfilled request (terminal)."""

    async def change(now: datetime) -> dict[str, Any]:
        return await service.close(session, principal, request_id, now=now)

    return await _idempotent(
        session,
        principal,
        request_id,
        endpoint="close",
        key=idempotency_key,
        body={},
        response=response,
        view=FULL_REQUEST,
        change=change,
    )
