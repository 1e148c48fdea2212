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

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring.access import View
from services.monitoring.access_audit.service import record_restricted_read
from services.monitoring.insights import partners, queries
from services.monitoring.reports import repository
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
    async with sessionmaker() as session, session.begin():
        async for row in await repository.stream_three_w_rows(
            session, start, end, admin1_only_sectors=SENSITIVE_SECTORS
        ):
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
    async with sessionmaker() as session, session.begin():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if view is View.full:
            restricted = await repository.count_requests_with_sensitivity(
                session, start, end, RESTRICTED
            )
            async with sessionmaker() as log_session, log_session.begin():
                await record_restricted_read(
                    log_session,
                    principal,
                    route=route,
                    records=AccessedRecords.export,
                    export="requests.csv",
                    restricted_records=restricted,
                    purpose=purpose,
                )
        rows = await repository.stream_request_rows(
            session,
            start,
            end,
            excluding_sensitivity=RESTRICTED if view is View.coarsened else None,
        )
        async for row in rows:
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
    by_sector = await repository.requests_by_sector(session, start, end)
    incidents_by_area = await repository.incidents_by_area(session, start, end, limit=15)
    alert_levels = await repository.alerts_by_level(session, start, end)
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
