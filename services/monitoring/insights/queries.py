"""The dashboard's queries. All of them read aggregate tables whose size is bounded by
sectors x areas x statuses (or x histogram buckets, x days), never by the number of
requests, so they cost the same with ten thousand requests or a million."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.aid_request.repository import OPEN_STATUSES
from services.monitoring.aid_request.timing import STAGES, percentile
from services.monitoring.db.models.read_models import (
    alerts,
    incident_counts,
    ngo_presence,
    ngos,
    open_need,
    status_totals,
    timing_histogram,
    timing_totals,
)
from services.monitoring.planning import repository as planning
from shared.gazetteer import gazetteer

SERVED_STATUSES = ("accepted", "in_progress")
DONE_STATUSES = ("fulfilled", "closed")
FUNNEL = ("submitted", "triaged", "offered", "accepted", "in_progress", "fulfilled", "closed")


async def kpis(session: AsyncSession) -> dict[str, Any]:
    by_status = {
        row.status: row
        for row in (
            await session.execute(
                select(
                    status_totals.c.status,
                    status_totals.c.requests.label("requests"),
                    status_totals.c.people_affected.label("affected"),
                    status_totals.c.people_reached.label("reached"),
                )
            )
        ).all()
    }

    def total(statuses: tuple[str, ...], field: str = "requests") -> int:
        return int(sum(getattr(by_status[s], field) or 0 for s in statuses if s in by_status))

    open_alerts = (
        await session.execute(
            select(alerts.c.level, func.count())
            .where(alerts.c.cleared_at.is_(None))
            .group_by(alerts.c.level)
        )
    ).all()
    alert_counts = {level: int(n) for level, n in open_alerts}
    since = date.today() - timedelta(days=6)
    incidents_week = await session.scalar(
        select(func.coalesce(func.sum(incident_counts.c.incidents), 0)).where(
            incident_counts.c.day >= since
        )
    )
    eligible = await session.scalar(select(func.count()).where(ngos.c.eligible.is_(True)))
    planning_counts = await planning.counts(session)
    return {
        "requests_total": total(tuple(by_status)),
        "requests_open": total(OPEN_STATUSES),
        "requests_in_delivery": total(SERVED_STATUSES),
        "requests_fulfilled": total(DONE_STATUSES),
        "requests_escalated": total(("escalated",)),
        "people_in_open_requests": total(OPEN_STATUSES, "affected"),
        "people_reached": total(tuple(by_status), "reached"),
        "alerts_open": sum(alert_counts.values()),
        "alerts_breached": alert_counts.get("breach", 0),
        "alerts_warning": alert_counts.get("warning", 0),
        "incidents_last_7_days": int(incidents_week or 0),
        "eligible_ngos": int(eligible or 0),
        **planning_counts,
        "by_status": {s: int(r.requests or 0) for s, r in sorted(by_status.items())},
    }


async def funnel(session: AsyncSession, group_by: str | None) -> dict[str, Any]:
    """Requests per status, and p50/p90 seconds from submission to each stage, overall or
    per sector, area (admin2) or urgency."""
    counts = (await session.execute(select(status_totals.c.status, status_totals.c.requests))).all()
    reached = {status: int(n or 0) for status, n in counts}
    if group_by:
        columns = [
            getattr(timing_histogram.c, group_by),
            timing_histogram.c.stage,
            timing_histogram.c.bucket,
        ]
        query = select(*columns, func.sum(timing_histogram.c.requests).label("n")).group_by(
            *columns
        )
    else:  # the overall figures come from the per-stage totals, a few hundred rows at most
        query = select(
            timing_totals.c.stage, timing_totals.c.bucket, timing_totals.c.requests.label("n")
        )
    rows = (await session.execute(query)).all()
    histograms: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        key = getattr(row, group_by) if group_by else "all"
        histograms[key][row.stage].append((row.bucket, int(row.n)))
    timings = {
        key: {
            stage: {
                "count": sum(n for _, n in stages.get(stage, [])),
                "p50_seconds": percentile(stages.get(stage, []), 0.5),
                "p90_seconds": percentile(stages.get(stage, []), 0.9),
            }
            for stage in STAGES
        }
        for key, stages in sorted(histograms.items())
    }
    return {
        "statuses": {s: reached.get(s, 0) for s in (*FUNNEL, "escalated", "cancelled")},
        "group_by": group_by or "all",
        "timings": timings,
    }


async def _presence(session: AsyncSession) -> dict[tuple[str, str], set[str]]:
    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    rows = (
        await session.execute(
            select(ngo_presence.c.sector, ngo_presence.c.pcode, ngo_presence.c.ngo_id)
        )
    ).all()
    for row in rows:
        cells[(row.sector, row.pcode)].add(str(row.ngo_id))
    return cells


async def _capacities(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = (await session.execute(select(ngos.c.ngo_id, ngos.c.name, ngos.c.capacities))).all()
    return {str(r.ngo_id): {"name": r.name, "capacities": r.capacities} for r in rows}


async def coverage_gaps(
    session: AsyncSession, *, level: int = 2, limit: int = 50
) -> dict[str, Any]:
    """Unmet need per sector x area against the eligible NGOs present there.

    Need is what open requests (submitted, triaged, offered, escalated) concern; an NGO is
    present in a cell when it may be tasked for that sector in that area or any area above
    it. Gaps are ranked: cells with no eligible NGO first, then by people in need per NGO.
    """
    gaz = gazetteer()
    need_rows = (
        await session.execute(
            select(
                open_need.c.sector,
                open_need.c.pcode,
                open_need.c.requests,
                open_need.c.people_affected.label("people"),
            ).where(open_need.c.requests > 0)
        )
    ).all()
    presence = await _presence(session)
    capacities = await _capacities(session)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for row in need_rows:
        if not row.requests:
            continue
        chain = gaz.ancestors(row.pcode) or [row.pcode]
        area = row.pcode if level == 2 else (gaz.admin1(row.pcode) or row.pcode)
        cell = cells.setdefault(
            (row.sector, area),
            {
                "sector": row.sector,
                "pcode": area,
                "open_requests": 0,
                "people_in_need": 0,
                "ngo_ids": set(),
            },
        )
        cell["open_requests"] += int(row.requests)
        cell["people_in_need"] += int(row.people or 0)
        for pcode in chain:
            cell["ngo_ids"] |= presence.get((row.sector, pcode), set())
    ranked = []
    for cell in cells.values():
        ngo_ids = sorted(cell.pop("ngo_ids"))
        area = gaz.get(cell["pcode"])
        resources: dict[str, float] = defaultdict(float)
        for ngo_id in ngo_ids:
            for capacity in capacities.get(ngo_id, {}).get("capacities", []):
                resources[f"{capacity['resource']} ({capacity['unit']})"] += capacity["quantity"]
        ranked.append(
            cell
            | {
                "area_name": area.name if area else cell["pcode"],
                "eligible_ngos": len(ngo_ids),
                "ngos": [capacities.get(i, {}).get("name", i) for i in ngo_ids],
                "capacity": dict(resources),
                "unmet_per_ngo": round(cell["people_in_need"] / max(len(ngo_ids), 1), 1),
            }
        )
    ranked.sort(key=lambda c: (c["eligible_ngos"] > 0, -c["unmet_per_ngo"], c["pcode"]))
    return {"level": level, "total_cells": len(ranked), "gaps": ranked[:limit]}


async def hotspots(
    session: AsyncSession, *, days: int = 7, today: date | None = None
) -> list[dict[str, Any]]:
    """Incidents per area in the last `days` against the `days` before: trend and risk."""
    today = today or date.today()
    current_from = today - timedelta(days=days - 1)
    previous_from = current_from - timedelta(days=days)
    rows = (
        await session.execute(
            select(
                incident_counts.c.pcode,
                func.sum(incident_counts.c.incidents)
                .filter(incident_counts.c.day >= current_from)
                .label("current"),
                func.sum(incident_counts.c.incidents)
                .filter(incident_counts.c.day < current_from)
                .label("previous"),
            )
            .where(incident_counts.c.day >= previous_from, incident_counts.c.day <= today)
            .group_by(incident_counts.c.pcode)
        )
    ).all()
    gaz = gazetteer()
    result = []
    for row in rows:
        current, previous = int(row.current or 0), int(row.previous or 0)
        if current == 0 and previous == 0:
            continue
        area = gaz.get(row.pcode)
        trend = "up" if current > previous else "down" if current < previous else "flat"
        result.append(
            {
                "pcode": row.pcode,
                "area_name": area.name if area else row.pcode,
                "adm1": gaz.admin1(row.pcode),
                "current": current,
                "previous": previous,
                "trend": trend,
                "high_risk": current >= 3 and trend == "up",
            }
        )
    result.sort(key=lambda h: (-h["current"], h["pcode"]))
    return result
