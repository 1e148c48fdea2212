"""HTTP routes of aid requests: intake, views per audience, and lifecycle transitions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from services.humanitarian_requests.access.service import record_restricted_reads
from services.humanitarian_requests.aid_request import repository, service
from services.humanitarian_requests.aid_request.events import request_state, request_summary
from services.humanitarian_requests.aid_request.schemas import (
    AidRequestIn,
    AidRequestPage,
    AidRequestView,
    CancelIn,
    DeliveryIn,
    HistoryView,
    LinkIn,
    NgoRequestPage,
    NgoRequestView,
    PriorityOverrideIn,
    ReclassifyIn,
)
from services.humanitarian_requests.common.deps import AppSettings
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.common.need_to_know import served_in_full, withhold
from services.humanitarian_requests.common.principals import (
    actor_of,
    is_ngo,
    reporting_unit_of,
)
from services.humanitarian_requests.db.models.tables import AidRequest
from shared.auth import RECLASSIFY_ROLES, Principal, Role, Tenant, policy
from shared.deps import MAX_OFFSET, CurrentPrincipal, DbSession
from shared.errors import NotFound
from shared.events.schemas.humanitarian_requests import RequestStatus
from shared.ratelimit import rate_limit
from shared.vocabulary import Sector

router = APIRouter(prefix="/aid-requests", tags=["aid requests"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry-safe key: the same key replays"),
]
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


def full_view(
    row: AidRequest, principal: Principal, *, purpose_given: bool = True
) -> dict[str, Any]:
    """The full state, coarsened for staff not entitled to a restricted request's details."""
    state = AidRequestView.model_validate(request_state(row).model_dump()).model_dump(mode="json")
    return withhold(principal, state, purpose_given=purpose_given)


Purpose = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        description="Why you read restricted records: recorded in the access log; a list "
        "serves restricted records in full only with it",
    ),
]


async def _audited(
    session: DbSession,
    principal: Principal,
    views: list[dict[str, Any]],
    route: str,
    purpose: str | None,
) -> None:
    await record_restricted_reads(
        session,
        principal,
        entity_type="aid_request",
        entity_ids=[uuid.UUID(v["request_id"]) for v in views if served_in_full(principal, v)],
        route=route,
        purpose=purpose,
        now=datetime.now(UTC),
    )


def ngo_view(row: AidRequest, ngo_id: uuid.UUID | None) -> NgoRequestView:
    return NgoRequestView(
        **request_summary(row).model_dump(),
        status=row.status,
        assigned_to_you=row.assigned_ngo_id is not None and row.assigned_ngo_id == ngo_id,
    )


async def _visible(session: DbSession, principal: Principal, request_id: uuid.UUID) -> AidRequest:
    """The request if this principal may see it; 404 otherwise (never reveal it exists)."""
    row = await session.get(AidRequest, request_id)
    if row is None:
        raise NotFound(f"No aid request {request_id}")
    if principal.is_staff:
        return row
    if is_ngo(principal) and principal.ngo_id is not None:
        if await repository.ngo_can_see(session, principal.ngo_id, row, datetime.now(UTC).date()):
            return row
    elif principal.unit_id is not None and row.reporting_unit == principal.unit_id:
        return row
    raise NotFound(f"No aid request {request_id}")


@router.post(
    "",
    status_code=201,
    response_model=AidRequestView,
    dependencies=[REPORTERS, rate_limit("intake")],
)
async def submit_aid_request(
    body: AidRequestIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit an aid request. It is triaged (priority, duplicate links) and offered to the best
    eligible NGO in the same transaction. Retries with the same `Idempotency-Key` or the same
    `client_id` return the first request (200 for a `client_id` duplicate) and create nothing."""

    async def work() -> tuple[int, Any]:
        intake = await service.submit_request(
            session,
            body,
            reporting_unit=reporting_unit_of(principal),
            actor=actor_of(principal),
            settings=settings,
            now=datetime.now(UTC),
        )
        response = full_view(intake.request, principal)
        if intake.raised_from is not None:
            response["sensitivity_raised_from"] = intake.raised_from.value
        return (201 if intake.created else 200), response

    return await run_idempotent(
        session,
        principal=principal,
        endpoint="aid-requests",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
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
    if is_ngo(principal) and principal.ngo_id is not None:
        rows = await repository.list_for_ngo(
            session, principal.ngo_id, today=datetime.now(UTC).date(), limit=limit, offset=offset
        )
        return NgoRequestPage(items=[ngo_view(r, principal.ngo_id) for r in rows])
    unit = None if principal.is_staff else (principal.unit_id or "")
    rows = list(
        await repository.list_requests(
            session, reporting_unit=unit, status=status, sector=sector, limit=limit, offset=offset
        )
    )
    views = [full_view(r, principal, purpose_given=purpose is not None) for r in rows]
    await _audited(session, principal, views, "GET /aid-requests", purpose)
    return AidRequestPage(items=[AidRequestView.model_validate(v) for v in views])


@router.get("/{request_id}", response_model=AidRequestView | NgoRequestView)
async def get_aid_request(
    request_id: uuid.UUID,
    session: DbSession,
    principal: Readers,
    purpose: Purpose = None,
) -> AidRequestView | NgoRequestView:
    """One request. NGOs get the coarsened view, and only of what they may see. A restricted
    one read in full is recorded in the access log (with the `purpose`, if given)."""
    row = await _visible(session, principal, request_id)
    if is_ngo(principal):
        return ngo_view(row, principal.ngo_id)
    shown = full_view(row, principal)
    await _audited(session, principal, [shown], "GET /aid-requests/{request_id}", purpose)
    return AidRequestView.model_validate(shown)


@router.get("/{request_id}/history", response_model=list[HistoryView])
async def aid_request_history(
    request_id: uuid.UUID, session: DbSession, principal: Reporters
) -> list[HistoryView]:
    """Every transition of the request and its offers, oldest first (unit and ops centre)."""
    if is_ngo(principal):
        raise NotFound(f"No aid request {request_id}")
    await _visible(session, principal, request_id)
    return [
        HistoryView.model_validate(h, from_attributes=True)
        for h in await repository.history_of(session, request_id)
    ]


Transition = Callable[[AidRequest, datetime], Awaitable[None]]


async def _transition(
    session: DbSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    endpoint: str,
    key: str | None,
    body: Any,
    change: Transition,
    who: str,
) -> JSONResponse:
    async def work() -> tuple[int, Any]:
        await _visible(session, principal, request_id)
        row = await service.locked(session, request_id)
        if who == "owner_or_staff" and not principal.is_staff and is_ngo(principal):
            raise NotFound(f"No aid request {request_id}")
        if (
            who == "assigned_ngo"
            and not principal.is_staff
            and (row.assigned_ngo_id is None or row.assigned_ngo_id != principal.ngo_id)
        ):
            raise NotFound(f"No aid request {request_id} assigned to you")
        await change(row, datetime.now(UTC))
        return 200, (
            ngo_view(row, principal.ngo_id).model_dump(mode="json")
            if is_ngo(principal)
            else full_view(row, principal)
        )

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"aid-requests/{request_id}/{endpoint}",
        key=key,
        body=body,
        work=work,
    )


@router.post("/{request_id}/cancel", response_model=AidRequestView)
async def cancel_aid_request(
    request_id: uuid.UUID,
    body: CancelIn,
    session: DbSession,
    principal: Reporters,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Cancel a request (its unit or the ops centre); a pending offer is withdrawn, and the
    requests waiting in its cluster go on to matching. 409 from fulfilled, closed or
    cancelled."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.cancel(
            session,
            row,
            reason=body.reason,
            actor=actor_of(principal),
            settings=settings,
            now=now,
        )

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="cancel",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        change=change,
        who="owner_or_staff",
    )


@router.post("/{request_id}/priority", response_model=AidRequestView, dependencies=[STAFF])
async def override_priority(
    request_id: uuid.UUID,
    body: PriorityOverrideIn,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ops centre: set the priority score by hand, with the reason recorded."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.override_priority(
            session,
            row,
            score=body.priority_score,
            reason=body.reason,
            actor=actor_of(principal),
            now=now,
        )

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="priority",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        change=change,
        who="staff",
    )


@router.post(
    "/{request_id}/classification",
    response_model=AidRequestView,
    dependencies=[RECLASSIFIERS],
    responses={
        403: {"description": "Not ops_centre, admin or protection_officer"},
        404: {"description": "No such request"},
        422: {"description": "Bad body, unchanged class, or below the derived minimum"},
    },
)
async def reclassify_aid_request(
    request_id: uuid.UUID,
    body: ReclassifyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff: change the request's sensitivity with a reason (an `aid_request.reclassified`
    event is the audit). Never below the derived minimum (422). To `restricted`, a request
    listed for NGOs is retracted (`open_request.retracted`) and leaves their listings."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.reclassify(
            session,
            row,
            sensitivity=body.sensitivity,
            reason=body.reason,
            actor=actor_of(principal),
            now=now,
        )

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="classification",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        change=change,
        who="staff",
    )


@router.post("/{request_id}/link", response_model=AidRequestView, dependencies=[STAFF])
async def link_aid_request(
    request_id: uuid.UUID,
    body: LinkIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ops centre: link the request to another's cluster, or unlink it (then it is matched)."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.link(
            session,
            row,
            duplicate_of=body.duplicate_of,
            reason=body.reason,
            actor=actor_of(principal),
            settings=settings,
            now=now,
        )

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="link",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        change=change,
        who="staff",
    )


@router.post("/{request_id}/rematch", response_model=AidRequestView, dependencies=[STAFF])
async def rematch_aid_request(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ops centre: try matching an escalated request again (NGOs not yet asked)."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.rematch(session, row, actor=actor_of(principal), settings=settings, now=now)

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="rematch",
        key=idempotency_key,
        body={},
        change=change,
        who="staff",
    )


@router.post("/{request_id}/start", dependencies=[ANSWERING_NGO])
async def start_delivery(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The assigned NGO starts delivering: accepted → in_progress."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.start(session, row, actor=actor_of(principal), now=now)

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="start",
        key=idempotency_key,
        body={},
        change=change,
        who="assigned_ngo",
    )


@router.post("/{request_id}/deliveries", dependencies=[ANSWERING_NGO])
async def record_delivery(
    request_id: uuid.UUID,
    body: DeliveryIn,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The assigned NGO records delivered quantities; all delivered (or `final`) → fulfilled
    (full or partial), otherwise partially fulfilled and still in progress."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.record_delivery(session, row, body, actor=actor_of(principal), now=now)

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="deliveries",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        change=change,
        who="assigned_ngo",
    )


@router.post("/{request_id}/close", response_model=AidRequestView, dependencies=[STAFF])
async def close_aid_request(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ops centre: close a fulfilled request (terminal)."""

    async def change(row: AidRequest, now: datetime) -> None:
        await service.close(session, row, actor=actor_of(principal), now=now)

    return await _transition(
        session,
        principal,
        request_id,
        endpoint="close",
        key=idempotency_key,
        body={},
        change=change,
        who="staff",
    )
