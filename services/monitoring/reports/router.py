"""Situation reports and exports over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from services.monitoring.access import Purpose, Staff, View, bulk_view
from services.monitoring.common.deps import AppSettings
from services.monitoring.reports import html, service
from shared.deps import DbSession
from shared.errors import Unprocessable
from shared.ratelimit import rate_limit
from shared.state import service_state
from shared.vocabulary import Sensitivity

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[rate_limit("export")])

MAX_PERIOD = timedelta(days=3660)


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=7)
    if start.tzinfo is None or end.tzinfo is None:
        raise Unprocessable("start and end must carry a time zone (e.g. 2026-11-01T00:00:00Z)")
    if start >= end:
        raise Unprocessable("start must be before end")
    if end - start > MAX_PERIOD:
        raise Unprocessable("a period may span at most ten years")
    return start, end


SENSITIVITY_HEADER = "X-Concord-Sensitivity"
SENSITIVITY_HEADER_DOC = {
    SENSITIVITY_HEADER: {
        "description": "The export's class: `restricted` when it may hold restricted records "
        "in full, `internal` otherwise (aggregates, small cells suppressed)",
        "schema": {"type": "string", "enum": ["internal", "restricted"]},
    }
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The CSV (UTF-8, HXL hashtags in the second row)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "headers": SENSITIVITY_HEADER_DOC,
    }
}


@router.get(
    "/sitrep",
    summary="Situation report for a period",
    response_model=None,
    responses={
        200: {
            "description": "The report (JSON, or a printable page with `format=html`)",
            "content": {"text/html": {"schema": {"type": "string"}}},
            "headers": SENSITIVITY_HEADER_DOC,
        }
    },
)
async def sitrep(
    response: Response,
    session: DbSession,
    principal: Staff,
    settings: AppSettings,
    start: datetime | None = None,
    end: datetime | None = None,
    format: Literal["json", "html"] = "json",
) -> dict[str, Any] | HTMLResponse:
    """Requests, fulfilment, incidents and alerts of the period (default: the last 7 days),
    with where things stand now; `format=html` gives a readable, printable page. Its class
    (`sensitivity`, and the `X-Concord-Sensitivity` header) is `internal`: aggregates, with
    the small cells of sensitive sectors suppressed."""
    start, end = _period(start, end)
    report = await service.situation_report(
        session, start, end, small_cell_threshold=settings.small_cell_threshold
    )
    headers = {SENSITIVITY_HEADER: report["sensitivity"]}
    if format == "html":
        return HTMLResponse(html.render(report), headers=headers)
    response.headers.update(headers)
    return report


def _csv(body: Any, name: str, *, sensitivity: Sensitivity) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            SENSITIVITY_HEADER: sensitivity.value,
        },
    )


@router.get(
    "/3w.csv", summary="3W / coverage export (CSV with HXL hashtags)", responses=CSV_RESPONSE
)
async def three_w(
    request: Request,
    principal: Staff,
    settings: AppSettings,
    start: datetime | None = None,
    end: datetime | None = None,
) -> StreamingResponse:
    """Who does what where for the period: requests per organisation, sector, admin areas
    and status with people affected and reached; the second row holds HXL hashtags."""
    start, end = _period(start, end)
    # Streamed past the route's return: it reads on its own session, not the request's.
    body = service.stream_three_w(
        service_state(request).runtime.sessionmaker,
        start,
        end,
        small_cell_threshold=settings.small_cell_threshold,
    )
    return _csv(body, "3w.csv", sensitivity=Sensitivity.internal)


@router.get(
    "/requests.csv",
    summary="Every request of a period (CSV with HXL, streamed)",
    responses=CSV_RESPONSE,
)
async def requests_csv(
    request: Request,
    principal: Staff,
    start: datetime | None = None,
    end: datetime | None = None,
    purpose: Purpose = None,
) -> StreamingResponse:
    """One row per request of the period, streamed from a server-side cursor. Restricted
    requests are in it only for protection officers, administrators and a granted ops centre
    who give a `purpose`; the export is then recorded in the access log with how many
    restricted requests it holds, and its `X-Concord-Sensitivity` is `restricted`."""
    start, end = _period(start, end)
    view = bulk_view(principal, purpose)
    body = service.stream_requests(
        service_state(request).runtime.sessionmaker,
        principal,
        start,
        end,
        view=view,
        purpose=purpose,
        route="/api/reports/requests.csv",
    )
    sensitivity = Sensitivity.restricted if view is View.full else Sensitivity.internal
    return _csv(body, "requests.csv", sensitivity=sensitivity)
