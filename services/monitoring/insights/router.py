"""The dashboard's data API and its live stream. Every route needs a staff role."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sse_starlette.sse import EventSourceResponse
from starlette.types import Receive, Scope, Send

from services.monitoring.access import STAFF_POLICY, Purpose, Staff, require_staff
from services.monitoring.common.deps import AppSettings
from services.monitoring.insights import drilldown, partners, queries
from services.monitoring.insights.schemas import (
    AgreementCompliance,
    Alert,
    Contribution,
    CoverageGaps,
    Funnel,
    Hotspot,
    Kpis,
    LiveTicket,
    MapLayers,
    RequestDetail,
)
from services.monitoring.live import BROADCASTER
from services.monitoring.live_tickets import issue_ticket, redeem_ticket
from shared.auth import Principal
from shared.deps import DbSession
from shared.errors import PROBLEM_CONTENT_TYPE
from shared.state import service_state
from shared.web import UNAUTHORIZED_RESPONSE

router = APIRouter(prefix="/api", tags=["dashboard"])


@router.get("/kpis", summary="Headline KPIs")
async def get_kpis(session: DbSession, principal: Staff) -> Kpis:
    """Open, in-delivery and fulfilled requests, people in need and reached, open SLA
    alerts, incidents of the last 7 days, eligible NGOs, and from joint planning: open
    conflicts, overdue tasks, missed milestones and live (planned or active) operations."""
    return Kpis.model_validate(await queries.kpis(session))


@router.get("/funnel", summary="Request funnel and stage timings")
async def get_funnel(
    session: DbSession,
    principal: Staff,
    group_by: Literal["sector", "pcode", "urgency"] | None = None,
) -> Funnel:
    """Requests per status and p50/p90 seconds from submission to triage, first offer,
    acceptance and fulfilment, overall or per sector, area or urgency."""
    return Funnel.model_validate(await queries.funnel(session, group_by))


@router.get("/gaps", summary="Coverage-gap matrix (who does what where)")
async def get_gaps(
    session: DbSession,
    principal: Staff,
    level: Annotated[int, Query(ge=1, le=2)] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> CoverageGaps:
    """Unmet need per sector x admin area (level 1 states, 2 counties) against the eligible
    NGOs present and their capacity, ranked: uncovered cells first, then need per NGO."""
    return CoverageGaps.model_validate(
        await queries.coverage_gaps(session, level=level, limit=limit)
    )


@router.get("/hotspots", summary="Incident hotspots and trend")
async def get_hotspots(
    session: DbSession, principal: Staff, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> list[Hotspot]:
    """Incidents per area in the last `days` against the period before; rising areas with
    three or more incidents are flagged high-risk."""
    return [Hotspot.model_validate(h) for h in await queries.hotspots(session, days=days)]


@router.get("/contributions", summary="Per-NGO contribution")
async def get_contributions(session: DbSession, principal: Staff) -> list[Contribution]:
    """Offers, acceptance rate, fulfilments on time and people reached, per NGO."""
    return [Contribution.model_validate(c) for c in await partners.contributions(session)]


@router.get("/compliance", summary="Agreement reporting compliance")
async def get_compliance(
    session: DbSession, principal: Staff, settings: AppSettings
) -> list[AgreementCompliance]:
    """Per active agreement and reporting obligation: the periods due so far, which were
    reported and which are overdue (due date plus `MONITORING_REPORT_GRACE_DAYS` passed
    without a report), and the next due date. Agreements with overdue reports first."""
    found = await partners.compliance(session, grace_days=settings.report_grace_days)
    return [AgreementCompliance.model_validate(a) for a in found]


@router.get("/alerts", summary="SLA alerts", response_model_exclude_unset=True)
async def get_alerts(
    session: DbSession,
    principal: Staff,
    open_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    purpose: Purpose = None,
) -> list[Alert]:
    """Warnings and breaches, newest first; cleared ones too with `open_only=false`. An
    alert on a restricted request (`sensitivity: restricted`) is placed in its state only
    (`details_withheld`), unless an entitled reader gives a `purpose`: then it is served in
    full and the read recorded in the access log."""
    found = await drilldown.alert_feed(
        session,
        principal,
        open_only=open_only,
        limit=limit,
        purpose=purpose,
        route="/api/alerts",
    )
    return [Alert.model_validate(a) for a in found]


@router.get(
    "/requests/{request_id}",
    summary="A request's history (drill-down)",
    response_model_exclude_unset=True,
)
async def get_request(
    session: DbSession, principal: Staff, request_id: uuid.UUID, purpose: Purpose = None
) -> RequestDetail:
    """The request as monitoring holds it, every event it went through, and its alerts. A
    restricted request is served in full to protection officers, administrators and a granted
    ops centre, and that read is recorded in the access log (with the `purpose`, if given);
    anyone else gets it coarsened."""
    detail = await drilldown.request_detail(
        session, principal, request_id, purpose=purpose, route="/api/requests/{request_id}"
    )
    return RequestDetail.model_validate(detail)


@router.get("/map", summary="Map layers", response_model_exclude_unset=True)
async def get_map(session: DbSession, principal: Staff, purpose: Purpose = None) -> MapLayers:
    """Admin areas from the gazetteer with open requests, people in need and NGO presence;
    the latest open requests and recent incidents as points. Restricted points are at their
    area's centroid, unless an entitled reader gives a `purpose`: then they are exact, and
    the read is recorded in the access log."""
    layers = await drilldown.map_layers(session, principal, purpose=purpose, route="/api/map")
    return MapLayers.model_validate(layers)


@router.post(
    "/live/tickets",
    status_code=201,
    summary="A single-use ticket for the live stream",
    response_model=LiveTicket,
)
async def create_live_ticket(
    session: DbSession, principal: Staff, settings: AppSettings
) -> LiveTicket:
    """Trade the bearer token for a ticket that opens the live stream once, within
    `MONITORING_LIVE_TICKET_TTL_SECONDS` (an `EventSource` cannot send the token in a header,
    and a token in a URL would be logged)."""
    ticket = await issue_ticket(session, principal, ttl_seconds=settings.live_ticket_ttl_seconds)
    return LiveTicket(ticket=ticket, expires_in=settings.live_ticket_ttl_seconds)


async def _ticket_holder(
    session: DbSession,
    ticket: Annotated[str | None, Query(description="From POST /api/live/tickets")] = None,
) -> Principal:
    return require_staff(await redeem_ticket(session, ticket))


_ticket_holder.policy = STAFF_POLICY  # type: ignore[attr-defined]


class LiveStream(EventSourceResponse):
    """An SSE response that gives its subscriber slot back however the stream ends, even if
    it ends before the stream's generator ever ran."""

    def __init__(self, content: AsyncIterator[dict[str, str]], release: Callable[[], None]):
        super().__init__(content, ping=10)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.get(
    "/live",
    summary="Live updates (server-sent events)",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
        401: UNAUTHORIZED_RESPONSE,
        429: {
            "description": "This principal already has its share of open streams "
            "(`MONITORING_LIVE_MAX_SUBSCRIBERS_PER_PRINCIPAL`); close one, or retry after "
            "`Retry-After` seconds with a new ticket",
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
        503: {
            "description": "Too many open streams (`MONITORING_LIVE_MAX_SUBSCRIBERS`); "
            "retry after `Retry-After` seconds with a new ticket",
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
async def live(
    request: Request, principal: Annotated[Principal, Depends(_ticket_holder)]
) -> EventSourceResponse:
    """A stream of `update` events: every read-model change and alert as it commits. Opened
    with a single-use `ticket` from `POST /api/live/tickets`, never with a bearer token in
    the URL; a reconnecting client asks for a new ticket."""
    broadcaster = service_state(request).get(BROADCASTER)
    # Taken here, in the request: a full stream is a 429 or 503 now, not a broken stream
    # later (and the ticket's redemption rolls back with it, so the same ticket may retry).
    queue = broadcaster.add_subscriber(principal.subject)

    async def stream() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "hello", "data": "{}"}
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    continue  # sse-starlette sends its own keep-alive pings
                yield {"event": "update", "data": message}
        finally:
            broadcaster.remove_subscriber(queue)

    return LiveStream(stream(), release=lambda: broadcaster.remove_subscriber(queue))
