"""The dashboard's data API and its live stream. Every route needs ops_centre or admin."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse

from services.monitoring.access import Staff, sees_restricted
from services.monitoring.config import Settings
from services.monitoring.insights import drilldown, partners, queries
from services.monitoring.live import Broadcaster
from shared.deps import DbSession

router = APIRouter(prefix="/api", tags=["dashboard"])


@router.get("/kpis", summary="Headline KPIs")
async def get_kpis(session: DbSession, principal: Staff) -> dict[str, Any]:
    """Open, in-delivery and fulfilled requests, people in need and reached, open SLA
    alerts, incidents of the last 7 days, eligible NGOs, and from joint planning: open
    conflicts, overdue tasks, missed milestones and live (planned or active) operations."""
    return await queries.kpis(session)


@router.get("/funnel", summary="Request funnel and stage timings")
async def get_funnel(
    session: DbSession,
    principal: Staff,
    group_by: Literal["sector", "pcode", "urgency"] | None = None,
) -> dict[str, Any]:
    """Requests per status and p50/p90 seconds from submission to triage, first offer,
    acceptance and fulfilment, overall or per sector, area or urgency."""
    return await queries.funnel(session, group_by)


@router.get("/gaps", summary="Coverage-gap matrix (who does what where)")
async def get_gaps(
    session: DbSession,
    principal: Staff,
    level: Annotated[int, Query(ge=1, le=2)] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Unmet need per sector x admin area (level 1 states, 2 counties) against the eligible
    NGOs present and their capacity, ranked: uncovered cells first, then need per NGO."""
    return await queries.coverage_gaps(session, level=level, limit=limit)


@router.get("/hotspots", summary="Incident hotspots and trend")
async def get_hotspots(
    session: DbSession, principal: Staff, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> list[dict[str, Any]]:
    """Incidents per area in the last `days` against the period before; rising areas with
    three or more incidents are flagged high-risk."""
    return await queries.hotspots(session, days=days)


@router.get("/contributions", summary="Per-NGO contribution")
async def get_contributions(session: DbSession, principal: Staff) -> list[dict[str, Any]]:
    """Offers, acceptance rate, fulfilments on time and people reached, per NGO."""
    return await partners.contributions(session)


@router.get("/compliance", summary="Agreement reporting compliance")
async def get_compliance(
    request: Request, session: DbSession, principal: Staff
) -> list[dict[str, Any]]:
    """Per active agreement and reporting obligation: the periods due so far, which were
    reported and which are overdue (due date plus `MONITORING_REPORT_GRACE_DAYS` passed
    without a report), and the next due date. Agreements with overdue reports first."""
    settings: Settings = request.app.state.settings
    return await partners.compliance(session, grace_days=settings.report_grace_days)


@router.get("/alerts", summary="SLA alerts")
async def get_alerts(
    session: DbSession,
    principal: Staff,
    open_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Warnings and breaches, newest first; cleared ones too with `open_only=false`."""
    return await drilldown.alert_feed(session, open_only=open_only, limit=limit)


@router.get("/requests/{request_id}", summary="A request's history (drill-down)")
async def get_request(
    session: DbSession, principal: Staff, request_id: uuid.UUID
) -> dict[str, Any]:
    """The request as monitoring holds it, every event it went through, and its alerts."""
    return await drilldown.request_detail(session, request_id, may_see=sees_restricted(principal))


@router.get("/map", summary="Map layers")
async def get_map(session: DbSession, principal: Staff) -> dict[str, Any]:
    """Admin areas from the gazetteer with open requests, people in need and NGO presence;
    the latest open requests and recent incidents as points."""
    return await drilldown.map_layers(session, may_see=sees_restricted(principal))


@router.get("/live", summary="Live updates (server-sent events)")
async def live(request: Request, principal: Staff) -> EventSourceResponse:
    """A stream of `update` events: every read-model change and alert as it commits. The
    dashboard passes its token as `?token=` because EventSource cannot send headers."""
    broadcaster: Broadcaster = request.app.state.broadcaster

    async def stream() -> AsyncIterator[dict[str, str]]:
        async with broadcaster.subscribe() as queue:
            yield {"event": "hello", "data": "{}"}
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    continue  # sse-starlette sends its own keep-alive pings
                yield {"event": "update", "data": message}

    return EventSourceResponse(stream(), ping=10)
