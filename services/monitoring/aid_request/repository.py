"""Counter arithmetic on the aggregate tables (upserts that add a delta)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.read_models import (
    incident_counts,
    ngo_contribution,
    open_need,
    request_counts,
    status_totals,
    timing_histogram,
    timing_totals,
)

# A request in these statuses is need nobody has taken on yet.
OPEN_STATUSES = ("submitted", "triaged", "offered", "escalated")


async def add_request_count(
    session: AsyncSession,
    *,
    sector: str,
    pcode: str,
    urgency: str,
    status: str,
    requests: int,
    people_affected: int,
    people_reached: int,
) -> None:
    statement = insert(request_counts).values(
        sector=sector,
        pcode=pcode,
        urgency=urgency,
        status=status,
        requests=requests,
        people_affected=people_affected,
        people_reached=people_reached,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["sector", "pcode", "urgency", "status"],
            set_={
                "requests": request_counts.c.requests + statement.excluded.requests,
                "people_affected": request_counts.c.people_affected
                + statement.excluded.people_affected,
                "people_reached": request_counts.c.people_reached
                + statement.excluded.people_reached,
            },
        )
    )
    totals = insert(status_totals).values(
        status=status,
        requests=requests,
        people_affected=people_affected,
        people_reached=people_reached,
    )
    await session.execute(
        totals.on_conflict_do_update(
            index_elements=["status"],
            set_={
                "requests": status_totals.c.requests + totals.excluded.requests,
                "people_affected": status_totals.c.people_affected
                + totals.excluded.people_affected,
                "people_reached": status_totals.c.people_reached + totals.excluded.people_reached,
            },
        )
    )
    if status in OPEN_STATUSES:
        need = insert(open_need).values(
            sector=sector, pcode=pcode, requests=requests, people_affected=people_affected
        )
        await session.execute(
            need.on_conflict_do_update(
                index_elements=["sector", "pcode"],
                set_={
                    "requests": open_need.c.requests + need.excluded.requests,
                    "people_affected": open_need.c.people_affected + need.excluded.people_affected,
                },
            )
        )


async def add_timing(
    session: AsyncSession, *, stage: str, sector: str, pcode: str, urgency: str, bucket: int
) -> None:
    statement = insert(timing_histogram).values(
        stage=stage, sector=sector, pcode=pcode, urgency=urgency, bucket=bucket, requests=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["stage", "sector", "pcode", "urgency", "bucket"],
            set_={"requests": timing_histogram.c.requests + 1},
        )
    )
    total = insert(timing_totals).values(stage=stage, bucket=bucket, requests=1)
    await session.execute(
        total.on_conflict_do_update(
            index_elements=["stage", "bucket"],
            set_={"requests": timing_totals.c.requests + 1},
        )
    )


async def add_contribution(session: AsyncSession, ngo_id: uuid.UUID, **deltas: int) -> None:
    if not any(deltas.values()):
        return
    statement = insert(ngo_contribution).values(ngo_id=ngo_id, **deltas)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["ngo_id"],
            set_={
                name: getattr(ngo_contribution.c, name) + getattr(statement.excluded, name)
                for name in deltas
            },
        )
    )


async def add_incident_count(session: AsyncSession, *, pcode: str, day: Any, delta: int) -> None:
    statement = insert(incident_counts).values(pcode=pcode, day=day, incidents=delta)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["pcode", "day"],
            set_={"incidents": incident_counts.c.incidents + delta},
        )
    )
