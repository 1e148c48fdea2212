"""Deconfliction growth: does a notification's check slow down as the mission fills up?

Two joint planning apps run side by side on the same Postgres server, one database each: the
small one holds 100 live operations, 100 active notifications and 100 recent incidents, the
large one 10,000 of each, spread over the mission's counties and the next 60 days the way a
busy mission would have them. Then movements are notified through the HTTP API, alternating
between the two (so warm-up and noise hit both alike); each probe is cancelled afterwards so
the populations stay as seeded. `deconfliction_growth` is the p99 of the large app over the
p99 of the small one; the goal is at most 2.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.services import ROOT
from deploy.stack import LocalStack
from services.joint_planning.app import create_app
from services.joint_planning.config import Settings
from services.joint_planning.db.models.notifications import (
    Notification,
    NotificationArea,
    NotificationCell,
)
from services.joint_planning.db.models.operations import Operation, OperationArea
from services.joint_planning.db.models.replicas import IncidentReplica
from services.joint_planning.deconfliction.geometry import (
    Point,
    cell_of,
    corridor_cells,
    counties_along,
)
from shared.gazetteer import gazetteer
from shared.migrations import provision, upgrade
from shared.testing import bearer, serve_in_process

SMALL, LARGE = 100, 10_000
PROBES = 300
QUICK_LARGE, QUICK_PROBES = 1_000, 80
HORIZON_HOURS = 60 * 24
CHUNK = 2_000
TABLES = (
    "operations",
    "operation_areas",
    "notifications",
    "notification_areas",
    "notification_cells",
    "incidents",
)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _route(rng: random.Random, county: str) -> list[Point]:
    area = gazetteer().areas[county]
    start = Point(area.lat + rng.uniform(-0.1, 0.1), area.lon + rng.uniform(-0.1, 0.1))
    return [
        start,
        *(
            Point(start.lat + rng.uniform(-0.15, 0.15), start.lon + rng.uniform(-0.15, 0.15))
            for _ in range(rng.randint(1, 3))
        ),
    ]


def _window(
    rng: random.Random, now: datetime, hours: tuple[float, float]
) -> tuple[datetime, datetime]:
    start = now + timedelta(hours=rng.uniform(24, HORIZON_HOURS))
    return start, start + timedelta(hours=rng.uniform(*hours))


async def _insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        await session.execute(insert(table), rows[i : i + CHUNK])


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], count: int, rng: random.Random
) -> None:
    """`count` live operations, active notifications and recent incidents, written directly
    (the API would take minutes for 10,000 of each; the rows are the same)."""
    gaz = gazetteer()
    counties = [a.pcode for a in gaz.at_level(2)]
    states = [a.pcode for a in gaz.at_level(1)]
    now = datetime.now(UTC)
    operations, operation_areas = [], []
    for _ in range(count):
        operation_id = uuid.uuid4()
        starts_at, ends_at = _window(rng, now, (4, 12))
        area = rng.choice(states) if rng.random() < 0.05 else rng.choice(counties)
        operations.append(
            {
                "id": operation_id, "title": "bench", "objectives": [], "sectors": ["wash"],
                "areas": [area], "starts_at": starts_at, "ends_at": ends_at,
                "status": "planned", "linked_request_ids": [], "linked_incident_ids": [],
                "created_by": "bench", "version": 1, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        operation_areas.append(
            {
                "operation_id": operation_id,
                "pcode": area,
                "starts_at": starts_at,
                "ends_at": ends_at,
            }
        )
    notifications, areas, cells = [], [], []
    for _ in range(count):
        notification_id = uuid.uuid4()
        route = _route(rng, rng.choice(counties))
        starts_at, ends_at = _window(rng, now, (2, 8))
        pcodes = counties_along(route)
        notifications.append(
            {
                "id": notification_id, "ngo_id": uuid.uuid4(), "kind": "movement",
                "status": "submitted", "function": None, "location": None,
                "waypoints": [{"lat": p.lat, "lon": p.lon} for p in route],
                "starts_at": starts_at, "ends_at": ends_at, "vehicles": [], "occupancy": None,
                "contact": {"name": "bench"}, "pcodes": pcodes, "escort_status": "not_requested",
                "escort_reason": None, "escort_decided_by": None, "acknowledged_by": None,
                "acknowledged_at": None, "version": 1, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        window = {"starts_at": starts_at, "ends_at": ends_at}
        areas += [{"notification_id": notification_id, "pcode": p, **window} for p in pcodes]
        cells += [
            {"notification_id": notification_id, "cell": c, **window}
            for c in corridor_cells(route, 15.0)
        ]
    incidents = []
    for _ in range(count):
        place = gaz.areas[rng.choice(counties)]
        lat, lon = place.lat + rng.uniform(-0.3, 0.3), place.lon + rng.uniform(-0.3, 0.3)
        occurred_at = now - timedelta(hours=rng.uniform(0, 24 * 30))
        incidents.append(
            {
                "incident_id": uuid.uuid4(), "incident_type": "other", "severity": "moderate",
                "sensitivity": "internal", "occurred_at": occurred_at, "lat": lat, "lon": lon,
                "pcode": place.pcode, "cell": cell_of(lat, lon), "duplicate_of": None,
                "version": 1, "updated_at": occurred_at,
            }
        )  # fmt: skip
    async with sessionmaker() as session, session.begin():
        await _insert(session, Operation, operations)
        await _insert(session, OperationArea, operation_areas)
        await _insert(session, Notification, notifications)
        await _insert(session, NotificationArea, areas)
        await _insert(session, NotificationCell, cells)
        await _insert(session, IncidentReplica, incidents)
    async with sessionmaker() as session, session.begin():
        for table in TABLES:
            await session.execute(text(f"ANALYZE {table}"))


def _probe(rng: random.Random) -> dict[str, Any]:
    counties = [a.pcode for a in gazetteer().at_level(2)]
    route = _route(rng, rng.choice(counties))
    starts_at, ends_at = _window(rng, datetime.now(UTC), (2, 8))
    return {
        "kind": "movement",
        "waypoints": [{"lat": round(p.lat, 5), "lon": round(p.lon, 5)} for p in route],
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "vehicles": [{"vehicle_type": "land cruiser", "count": 2}],
        "contact": {"name": "bench"},
    }


async def _second_database(stack: LocalStack) -> Settings:
    """The same server, a database of its own, migrated like any other."""
    assert stack.database_url
    url = make_url(stack.database_url).set(database="concord_bench_large")
    admin = url.render_as_string(hide_password=False)
    settings = Settings(database_url=admin)
    await provision(admin, [settings])
    await asyncio.to_thread(upgrade, settings, ROOT / "services" / "joint_planning" / "migrations")
    return settings


async def run(stack: LocalStack, *, quick: bool = False) -> dict[str, str]:
    large_size, probes = (QUICK_LARGE, QUICK_PROBES) if quick else (LARGE, PROBES)
    rng = random.Random(11)
    small_settings, large_settings = Settings(), await _second_database(stack)
    apps = {"small": create_app(small_settings), "large": create_app(large_settings)}
    for app in apps.values():
        app.state.runtime.run_consumers = False  # no events needed: only the HTTP path
        app.state.runtime.run_background = False
    ngo = bearer(small_settings, "ngo", ngo_id=uuid.uuid4())
    latencies: dict[str, list[float]] = {"small": [], "large": []}
    conflicts: dict[str, int] = {"small": 0, "large": 0}
    async with (
        serve_in_process(apps["small"]) as small,
        serve_in_process(apps["large"]) as large,
    ):
        clients: dict[str, httpx.AsyncClient] = {"small": small, "large": large}
        seeding = time.perf_counter()
        await _seed(apps["small"].state.runtime.sessionmaker, SMALL, rng)
        await _seed(apps["large"].state.runtime.sessionmaker, large_size, rng)
        seeded = time.perf_counter() - seeding
        for i in range(probes * 2):
            name = ("small", "large")[i % 2]
            body = _probe(rng)
            started = time.perf_counter()
            created = await clients[name].post("/notifications", json=body, headers=ngo)
            latencies[name].append((time.perf_counter() - started) * 1000)
            assert created.status_code == 201, created.text
            conflicts[name] += len(created.json()["conflicts"])
            notification_id = created.json()["notification_id"]
            cancelled = await clients[name].post(
                f"/notifications/{notification_id}/cancel", headers=ngo
            )
            assert cancelled.status_code == 200, cancelled.text
    small_p99 = _percentile(latencies["small"][20:], 0.99)
    large_p99 = _percentile(latencies["large"][20:], 0.99)
    return {
        "deconfliction_sizes": f"{SMALL}/{large_size}",
        "deconfliction_seed_seconds": f"{seeded:.1f}",
        "deconfliction_small_p50_ms": f"{_percentile(latencies['small'], 0.5):.1f}",
        "deconfliction_small_p99_ms": f"{small_p99:.1f}",
        "deconfliction_large_p50_ms": f"{_percentile(latencies['large'], 0.5):.1f}",
        "deconfliction_large_p99_ms": f"{large_p99:.1f}",
        "conflicts_per_probe_small": f"{conflicts['small'] / probes:.2f}",
        "conflicts_per_probe_large": f"{conflicts['large'] / probes:.2f}",
        "deconfliction_growth": f"{large_p99 / small_p99:.2f}",
    }
