"""Helpers of the retention tests: planted names, points that are never duplicates, and
where a planted name is left in the service's stores."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from services.humanitarian_requests.tests.helpers import fetch
from shared.gazetteer import gazetteer

PURGED_TYPE = "concord.humanitarian_requests.retention.purged.v1"
TABLES = ("aid_requests", "incidents", "history", "offers", "access_log", "idempotency_keys")


def plant(who: str) -> str:
    """A name a reporter typed, unique to this run, to look for in every store."""
    return f"{who}-{uuid.uuid4().hex[:10]}"


def point(county: str, index: int) -> dict[str, Any]:
    """Points of one county 0.1° apart, off the centroid other tests use: never duplicates."""
    area = gazetteer().areas[county]
    return {"lat": round(area.lat + 0.1 * index, 5), "lon": round(area.lon + 0.07, 5)}


async def post_with_key(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str], key: str
) -> httpx.Response:
    response = await client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
    assert response.status_code in (200, 201), response.text
    return response


async def mentions(database_url: str, text: str) -> dict[str, int]:
    """How many rows of each table (and of the outbox) hold `text` anywhere."""
    found: dict[str, int] = {}
    for table in (*TABLES, "outbox"):
        rows = await fetch(
            database_url,
            f"SELECT count(*) FROM humanitarian_requests.{table} t WHERE t::text LIKE :text",
            text=f"%{text}%",
        )
        found[table] = int(rows[0][0])
    return {table: n for table, n in found.items() if n}


async def wait_until_sent(database_url: str, ids: list[str]) -> None:
    """Wait until the relay has published every event about these records."""
    sql = (
        "SELECT count(*) FROM humanitarian_requests.outbox WHERE published_at IS NULL "
        "AND failed_at IS NULL AND (message_key = ANY(:ids) "
        "OR envelope #>> '{data,request_id}' = ANY(:ids) "
        "OR envelope #>> '{data,entity_id}' = ANY(:ids))"
    )
    async with asyncio.timeout(60):
        while True:
            if not (await fetch(database_url, sql, ids=ids))[0][0]:
                return
            await asyncio.sleep(0.1)


async def row_of(database_url: str, table: str, row_id: str) -> dict[str, Any]:
    rows = await fetch(
        database_url,
        f"SELECT to_jsonb(t) FROM humanitarian_requests.{table} t WHERE id = :id",
        id=row_id,
    )
    value: dict[str, Any] = rows[0][0]
    return value


REQUEST_TIMES = ("updated_at", "submitted_at", "observed_at", "triaged_at", "cancelled_at")
INCIDENT_TIMES = ("updated_at", "reported_at", "occurred_at", "observed_at")


async def age(database_url: str, table: str, ids: list[str], days: int) -> int:
    """Move the records' times (and their events' in the outbox) `days` into the past, as if
    that long had passed since; how many records were aged."""
    columns = REQUEST_TIMES if table == "aid_requests" else INCIDENT_TIMES
    shift = ", ".join(f"{c} = {c} - make_interval(days => :days)" for c in columns)
    aged = await fetch(
        database_url,
        f"UPDATE humanitarian_requests.{table} SET {shift} "
        "WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING id",
        ids=ids,
        days=days,
    )
    await fetch(
        database_url,
        "UPDATE humanitarian_requests.outbox SET created_at = created_at - "
        "make_interval(days => :days), published_at = published_at - "
        "make_interval(days => :days) WHERE message_key = ANY(:ids) RETURNING id",
        ids=ids,
        days=days,
    )
    return len(aged)
