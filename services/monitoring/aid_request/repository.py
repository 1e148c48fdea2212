"""Counter arithmetic on the aggregate tables (upserts that add a delta)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, text
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


@dataclass(frozen=True)
class CountDelta:
    """A request's contribution to one cell and status: +1 where it now is, -1 where it was."""

    sector: str
    pcode: str
    urgency: str
    status: str
    requests: int
    people_affected: int
    people_reached: int


@dataclass(frozen=True)
class TimingHit:
    """A request reached `stage` after a time that falls in histogram `bucket`."""

    stage: str
    sector: str
    pcode: str
    urgency: str
    bucket: int


def _sum_into(target: dict[Any, list[int]], key: Any, *values: int) -> None:
    held = target.setdefault(key, [0] * len(values))
    for i, value in enumerate(values):
        held[i] += value


def _columns(rows: dict[Any, list[int]], width: int) -> list[list[Any]]:
    """Cells with any non-zero delta, in key order (so two consumers lock rows in the same
    order and never deadlock), as one array per column for `unnest`."""
    kept = sorted((k if isinstance(k, tuple) else (k,), v) for k, v in rows.items() if any(v))
    columns: list[list[Any]] = [[] for _ in range(width)]
    for key, values in kept:
        for i, part in enumerate((*key, *values)):
            columns[i].append(part)
    return columns


def _upsert(alias: str, table: Table, keys: list[str], sums: list[str], types: list[str]) -> str:
    names = [*keys, *sums]
    arrays = ", ".join(
        f"CAST(:{alias}_{name} AS {kind}[])" for name, kind in zip(names, types, strict=True)
    )
    added = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in sums)
    # Built once at import from the table definitions above, never from input.
    return (
        f"{alias} AS (INSERT INTO {table.fullname} AS t ({', '.join(names)}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added} RETURNING 1)"
    )


_TEXT, _INT, _BIG = "text", "integer", "bigint"
_AGGREGATES = (
    ("rc", request_counts, ["sector", "pcode", "urgency", "status"],
     ["requests", "people_affected", "people_reached"], [_TEXT] * 4 + [_BIG] * 3),
    ("st", status_totals, ["status"],
     ["requests", "people_affected", "people_reached"], [_TEXT] + [_BIG] * 3),
    ("onn", open_need, ["sector", "pcode"],
     ["requests", "people_affected"], [_TEXT] * 2 + [_BIG] * 2),
    ("th", timing_histogram, ["stage", "sector", "pcode", "urgency", "bucket"],
     ["requests"], [_TEXT] * 4 + [_INT, _BIG]),
    ("tt", timing_totals, ["stage", "bucket"], ["requests"], [_TEXT, _INT, _BIG]),
)  # fmt: skip
AGGREGATES_STATEMENT = text(
    "WITH "
    + ", ".join(
        _upsert(alias, table, keys, sums, types) for alias, table, keys, sums, types in _AGGREGATES
    )
    + " SELECT 1"
)
"""Every counter a request event moves, in one round trip: five upserts that add deltas, as
data-modifying CTEs (each runs to completion whether or not the final SELECT reads it)."""


async def add_to_aggregates(
    session: AsyncSession, counts: list[CountDelta], timings: list[TimingHit]
) -> None:
    """Add the deltas to the request counters (per cell and status, per status, open need
    per cell) and the stage timings (per cell and bucket, per bucket). Deltas on the same row
    are summed first: one statement may not update a row twice."""
    cells: dict[Any, list[int]] = {}
    statuses: dict[Any, list[int]] = {}
    need: dict[Any, list[int]] = {}
    for c in counts:
        _sum_into(
            cells,
            (c.sector, c.pcode, c.urgency, c.status),
            c.requests,
            c.people_affected,
            c.people_reached,
        )
        _sum_into(statuses, c.status, c.requests, c.people_affected, c.people_reached)
        if c.status in OPEN_STATUSES:
            _sum_into(need, (c.sector, c.pcode), c.requests, c.people_affected)
    histogram: dict[Any, list[int]] = {}
    totals: dict[Any, list[int]] = {}
    for t in timings:
        _sum_into(histogram, (t.stage, t.sector, t.pcode, t.urgency, t.bucket), 1)
        _sum_into(totals, (t.stage, t.bucket), 1)
    params: dict[str, list[Any]] = {}
    for (alias, _table, keys, sums, _types), rows in zip(
        _AGGREGATES, (cells, statuses, need, histogram, totals), strict=True
    ):
        columns = _columns(rows, len(keys) + len(sums))
        for name, column in zip((*keys, *sums), columns, strict=True):
            params[f"{alias}_{name}"] = column
    if any(params.values()):
        await session.execute(AGGREGATES_STATEMENT, params)


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
