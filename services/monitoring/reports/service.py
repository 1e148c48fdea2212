"""Situation reports and 3W/coverage exports.

Exports stream: rows come from a server-side cursor (`stream`, `yield_per`) and go out as
they are read, so a year of requests is never held in memory and the response starts at once.

Small cells: in a sensitive sector (`shared.classification.RESTRICTED_SECTORS`) a handful of
requests in one place can point at the people behind them. So 3W rows of those sectors stop at
admin level 1, and a count below the threshold (`MONITORING_SMALL_CELL_THRESHOLD`, default 5)
is shown as `<5` with its people figures left empty, in the 3W export and the situation report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring.access import View
from services.monitoring.access_audit.service import record_restricted_read
from services.monitoring.db.models.read_models import (
    alerts,
    incident_counts,
    ngos,
    requests,
)
from services.monitoring.insights import partners, queries
from shared.auth import Principal
from shared.classification import RESTRICTED_SECTORS
from shared.events.schemas.monitoring import AccessedRecords
from shared.gazetteer import gazetteer
from shared.vocabulary import Sensitivity

SENSITIVE_SECTORS = sorted(str(sector) for sector in RESTRICTED_SECTORS)
RESTRICTED = Sensitivity.restricted.value

THREE_W_HEADER = [
    "Organisation",
    "Sector",
    "Admin1 P-code",
    "Admin2 P-code",
    "Admin2 name",
    "Status",
    "Requests",
    "People affected",
    "People reached",
]
THREE_W_HXL = [
    "#org",
    "#sector",
    "#adm1+code",
    "#adm2+code",
    "#adm2+name",
    "#status",
    "#activity+num",
    "#affected+ind",
    "#reached+ind",
]
REQUESTS_HEADER = [
    "Request",
    "Sector",
    "Urgency",
    "Status",
    "Admin1 P-code",
    "Admin2 P-code",
    "Organisation",
    "Submitted",
    "Fulfilled",
    "People affected",
    "People reached",
]
REQUESTS_HXL = [
    "#activity+id",
    "#sector",
    "#severity",
    "#status",
    "#adm1+code",
    "#adm2+code",
    "#org",
    "#date+start",
    "#date+end",
    "#affected+ind",
    "#reached+ind",
]


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR (a formula, or
    the start of one, to Excel, LibreOffice and Sheets) gets a leading `'`. Numbers stay."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    # Written with CRLF so that a cell holding a bare CR is quoted too (the writer quotes the
    # terminator's characters only), then ended with the LF the exports use.
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return buffer.getvalue().removesuffix("\r\n") + "\n"


def suppressed(threshold: int) -> str:
    """What a count too small to show is written as."""
    return f"<{threshold}"


def is_small_cell(sector: str, count: int, threshold: int) -> bool:
    return sector in SENSITIVE_SECTORS and count < threshold


async def stream_three_w(
    sessionmaker: async_sessionmaker[AsyncSession],
    start: datetime,
    end: datetime,
    *,
    small_cell_threshold: int,
) -> AsyncIterator[str]:
    """Who does what where: requests of the period per organisation, sector, area, status;
    sensitive sectors at admin level 1 with small cells suppressed."""
    yield _csv_line(THREE_W_HEADER)
    yield _csv_line(THREE_W_HXL)
    gaz = gazetteer()
    org = func.coalesce(ngos.c.name, "(unassigned)")
    pcode = case(
        (requests.c.sector.in_(SENSITIVE_SECTORS), literal(None, String)),
        else_=requests.c.pcode,
    ).label("pcode")
    query = (
        select(
            org.label("org"),
            requests.c.sector,
            requests.c.adm1,
            pcode,
            requests.c.status,
            func.count().label("n"),
            func.sum(requests.c.people_affected).label("affected"),
            func.sum(requests.c.people_reached).label("reached"),
        )
        .select_from(requests.outerjoin(ngos, ngos.c.ngo_id == requests.c.ngo_id))
        .where(requests.c.created_at >= start, requests.c.created_at < end)
        .group_by(org, requests.c.sector, requests.c.adm1, pcode, requests.c.status)
        .order_by(org, requests.c.sector, requests.c.adm1, pcode, requests.c.status)
        .execution_options(yield_per=1000)
    )
    async with sessionmaker() as session, session.begin():
        async for row in await session.stream(query):
            area = gaz.get(row.pcode) if row.pcode else None
            small = is_small_cell(row.sector, row.n, small_cell_threshold)
            yield _csv_line(
                [
                    row.org,
                    row.sector,
                    row.adm1,
                    row.pcode,
                    area.name if area else "",
                    row.status,
                    suppressed(small_cell_threshold) if small else row.n,
                    None if small else row.affected,
                    None if small else row.reached,
                ]
            )


async def stream_requests(
    sessionmaker: async_sessionmaker[AsyncSession],
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    view: View,
    purpose: str | None,
    route: str,
) -> AsyncIterator[str]:
    """Every request of the period, one row each; restricted ones only in the full view (an
    entitled reader with a purpose).

    The rows are read in one REPEATABLE READ snapshot, and the restricted ones in it are
    counted first in that snapshot: the access log records exactly how many the export holds,
    and it is committed (in a transaction of its own) before the first row goes out, so a
    client that stops reading half-way cannot take restricted rows unrecorded."""
    yield _csv_line(REQUESTS_HEADER)
    yield _csv_line(REQUESTS_HXL)
    in_period = (requests.c.created_at >= start) & (requests.c.created_at < end)
    query = (
        select(
            cast(requests.c.request_id, String).label("request_id"),
            requests.c.sector,
            requests.c.urgency,
            requests.c.status,
            requests.c.adm1,
            requests.c.pcode,
            func.coalesce(ngos.c.name, "").label("org"),
            requests.c.created_at,
            requests.c.fulfilled_at,
            requests.c.people_affected,
            requests.c.people_reached,
        )
        .select_from(requests.outerjoin(ngos, ngos.c.ngo_id == requests.c.ngo_id))
        .where(in_period)
        .order_by(requests.c.created_at, requests.c.request_id)
        .execution_options(yield_per=2000)
    )
    if view is View.coarsened:
        query = query.where(requests.c.sensitivity != RESTRICTED)
    async with sessionmaker() as session, session.begin():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if view is View.full:
            restricted = await session.scalar(
                select(func.count()).where(in_period, requests.c.sensitivity == RESTRICTED)
            )
            async with sessionmaker() as log_session, log_session.begin():
                await record_restricted_read(
                    log_session,
                    principal,
                    route=route,
                    records=AccessedRecords.export,
                    export="requests.csv",
                    restricted_records=int(restricted or 0),
                    purpose=purpose,
                )
        async for row in await session.stream(query):
            yield _csv_line(
                [
                    row.request_id,
                    row.sector,
                    row.urgency,
                    row.status,
                    row.adm1,
                    row.pcode,
                    row.org,
                    row.created_at.isoformat(),
                    row.fulfilled_at.isoformat() if row.fulfilled_at else None,
                    row.people_affected,
                    row.people_reached,
                ]
            )


async def situation_report(
    session: AsyncSession, start: datetime, end: datetime, *, small_cell_threshold: int
) -> dict[str, Any]:
    """What happened in a period, and where things stand now (small cells of sensitive
    sectors suppressed: `requests` is then `"<5"`, the other figures null)."""
    in_period = (requests.c.created_at >= start) & (requests.c.created_at < end)
    by_sector = (
        await session.execute(
            select(
                requests.c.sector,
                func.count().label("requests"),
                func.count().filter(requests.c.fulfilled_at.is_not(None)).label("fulfilled"),
                func.sum(requests.c.people_affected).label("affected"),
                func.sum(requests.c.people_reached).label("reached"),
            )
            .where(in_period)
            .group_by(requests.c.sector)
            .order_by(func.count().desc())
        )
    ).all()
    incidents_by_area = (
        await session.execute(
            select(incident_counts.c.pcode, func.sum(incident_counts.c.incidents).label("n"))
            .where(incident_counts.c.day >= start.date(), incident_counts.c.day <= end.date())
            .group_by(incident_counts.c.pcode)
            .order_by(func.sum(incident_counts.c.incidents).desc())
            .limit(15)
        )
    ).all()
    alert_levels = (
        await session.execute(
            select(alerts.c.level, func.count())
            .where(alerts.c.raised_at >= start, alerts.c.raised_at < end)
            .group_by(alerts.c.level)
        )
    ).all()
    gaz = gazetteer()
    return {
        # Aggregates only, sensitive sectors' small cells suppressed: for mission staff.
        "sensitivity": Sensitivity.internal.value,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "requests_by_sector": [
            {
                "sector": r.sector,
                "requests": suppressed(small_cell_threshold),
                "fulfilled": None,
                "people_affected": None,
                "people_reached": None,
                "suppressed": True,
            }
            if is_small_cell(r.sector, r.requests, small_cell_threshold)
            else {
                "sector": r.sector,
                "requests": r.requests,
                "fulfilled": r.fulfilled,
                "people_affected": int(r.affected or 0),
                "people_reached": int(r.reached or 0),
                "suppressed": False,
            }
            for r in by_sector
        ],
        "incidents_by_area": [
            {
                "pcode": r.pcode,
                "area_name": getattr(gaz.get(r.pcode), "name", r.pcode),
                "incidents": int(r.n),
            }
            for r in incidents_by_area
        ],
        "alerts_raised": {level: int(n) for level, n in alert_levels},
        "now": {
            "kpis": await queries.kpis(session),
            "top_gaps": (await queries.coverage_gaps(session, level=2, limit=10))["gaps"],
            "hotspots": (await queries.hotspots(session, days=7))[:10],
            "contributions": (await partners.contributions(session))[:10],
        },
    }
