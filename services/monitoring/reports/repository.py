"""Queries of the situation report and the 3W and requests exports, over the read models.

The export queries stream from a server-side cursor (`stream`, `yield_per`): the caller owns
the session and its transaction (and, for the requests export, its snapshot), and iterates
the result they return.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession

from services.monitoring.db.models.read_models import (
    alerts,
    incident_counts,
    ngos,
    requests,
)


async def stream_three_w_rows(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    admin1_only_sectors: Collection[str],
) -> AsyncResult[Any]:
    """Requests created in [start, end) counted per organisation, sector, area and status,
    in that order; the sectors in `admin1_only_sectors` grouped at admin level 1 only (their
    `pcode` is null)."""
    org = func.coalesce(ngos.c.name, "(unassigned)")
    pcode = case(
        (requests.c.sector.in_(admin1_only_sectors), literal(None, String)),
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
    return await session.stream(query)


async def count_requests_with_sensitivity(
    session: AsyncSession, start: datetime, end: datetime, sensitivity: str
) -> int:
    """How many requests created in [start, end) are of this sensitivity."""
    in_period = (requests.c.created_at >= start) & (requests.c.created_at < end)
    count = await session.scalar(
        select(func.count()).where(in_period, requests.c.sensitivity == sensitivity)
    )
    return int(count or 0)


async def stream_request_rows(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    excluding_sensitivity: str | None,
) -> AsyncResult[Any]:
    """Every request created in [start, end), oldest first, with its organisation's name;
    without those of `excluding_sensitivity` if given."""
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
    if excluding_sensitivity is not None:
        query = query.where(requests.c.sensitivity != excluding_sensitivity)
    return await session.stream(query)


async def requests_by_sector(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """Per sector, the requests created in [start, end): how many, how many fulfilled, and
    the people affected and reached; most requests first."""
    in_period = (requests.c.created_at >= start) & (requests.c.created_at < end)
    return (
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


async def incidents_by_area(
    session: AsyncSession, start: datetime, end: datetime, *, limit: int
) -> Sequence[Row[Any, Any]]:
    """Incidents per P-code on the days of [start, end], most first."""
    return (
        await session.execute(
            select(incident_counts.c.pcode, func.sum(incident_counts.c.incidents).label("n"))
            .where(incident_counts.c.day >= start.date(), incident_counts.c.day <= end.date())
            .group_by(incident_counts.c.pcode)
            .order_by(func.sum(incident_counts.c.incidents).desc())
            .limit(limit)
        )
    ).all()


async def alerts_by_level(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[Row[Any, Any]]:
    """How many alerts of each level were raised in [start, end)."""
    return (
        await session.execute(
            select(alerts.c.level, func.count())
            .where(alerts.c.raised_at >= start, alerts.c.raised_at < end)
            .group_by(alerts.c.level)
        )
    ).all()
