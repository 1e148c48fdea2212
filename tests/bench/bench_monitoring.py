"""Dashboard query cost against the number of requests: KPI and gap queries at 10,000 and
1,000,000 requests. `kpi_query_growth` = p99 at 1M / p99 at 10k (goal <= 1.5).

The read models are seeded in bulk with SQL (`generate_series`) in the state the event
handlers would leave them in: the request replica plus the incrementally maintained
aggregates (counts per cell and status, status totals, open need per cell, timing
histograms), 200 NGOs with presence, 90 days of incident counts and one open alert per
thousand requests. The dashboard queries are the service's own functions, and so is the map
(`map_query_growth`). The two sizes live in two databases of the same server and are measured
in alternating slices.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.services import ROOT
from deploy.stack import LocalStack
from services.monitoring.aid_request.timing import BASE
from services.monitoring.config import Settings
from services.monitoring.db.models.read_models import READ_MODEL_TABLES
from services.monitoring.insights.drilldown import map_layers
from services.monitoring.insights.queries import coverage_gaps, kpis
from shared.auth import Principal, Role
from shared.db import create_engine, create_sessionmaker
from shared.gazetteer import gazetteer
from shared.migrations import provision, upgrade
from shared.vocabulary import Sector
from tests.bench.figures import percentile

# The map in full, as a protection officer with a purpose reads it (restricted points served
# in full are recorded in the access log, in the query's transaction, as in the API).
MAP_READER = Principal(subject="bench-officer", roles=frozenset({Role.protection_officer}))

ROUNDS = 300
SCALES = tuple(
    int(n) for n in os.environ.get("MONITORING_BENCH_SCALES", "10000,1000000").split(",")
)
QUICK_SCALES, QUICK_ROUNDS = (10_000, 100_000), 100
SLICE = 20  # rounds per size before switching to the other

SEED_REQUESTS = """
WITH p AS (SELECT CAST(:sectors AS text[]) AS sectors, CAST(:counties AS text[]) AS counties,
                  CAST(:states AS text[]) AS states)
INSERT INTO requests (request_id, version, status, sector, pcode, adm1, urgency, sensitivity,
    title, lat, lon, people_affected, people_reached, ngo_id, created_at, triaged_at,
    offered_at, accepted_at, fulfilled_at, closed_at, updated_at)
SELECT gen_random_uuid(), 3, s.status, p.sectors[1 + i % cardinality(p.sectors)],
    p.counties[1 + (i * 7) % cardinality(p.counties)],
    p.states[1 + (i * 7) % cardinality(p.counties)],
    (ARRAY['life_threatening','urgent','routine'])[1 + i % 3], 'internal',
    'bench', 4.85, 31.6, 10 + i % 500,
    CASE WHEN s.status = 'fulfilled' THEN 10 + i % 500 ELSE 0 END,
    NULL, t.created, t.created + interval '20 minutes', t.created + interval '1 hour',
    CASE WHEN s.status IN ('accepted','fulfilled') THEN t.created + interval '2 hours' END,
    CASE WHEN s.status = 'fulfilled' THEN t.created + interval '1 day' END, NULL, t.created
FROM p, generate_series(1, :n) AS i
CROSS JOIN LATERAL (SELECT now() - (i % 2160) * interval '1 hour' AS created) t
CROSS JOIN LATERAL (SELECT (ARRAY['submitted','triaged','offered','accepted','fulfilled',
    'fulfilled','escalated','triaged','fulfilled','cancelled'])[1 + (i / 7) % 10] AS status) s
"""

AGGREGATES = [
    """INSERT INTO request_counts SELECT sector, pcode, urgency, status, count(*),
        sum(people_affected), sum(people_reached) FROM requests GROUP BY 1, 2, 3, 4""",
    """INSERT INTO status_totals SELECT status, sum(requests), sum(people_affected),
        sum(people_reached) FROM request_counts GROUP BY 1""",
    """INSERT INTO open_need SELECT sector, pcode, sum(requests), sum(people_affected)
        FROM request_counts WHERE status IN ('submitted','triaged','offered','escalated')
        GROUP BY 1, 2""",
    f"""INSERT INTO timing_histogram
        SELECT stage, sector, pcode, urgency,
            floor(ln(1 + extract(epoch FROM reached - created_at)) / ln({BASE}))::int, count(*)
        FROM requests CROSS JOIN LATERAL (VALUES ('triage', triaged_at), ('offer', offered_at),
            ('acceptance', accepted_at), ('fulfilment', fulfilled_at)) AS s(stage, reached)
        WHERE reached IS NOT NULL GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO timing_totals SELECT stage, bucket, sum(requests) FROM timing_histogram
        GROUP BY 1, 2""",
    """INSERT INTO ngos SELECT gen_random_uuid(), 1, 'NGO ' || i, NULL, 'vetted', true,
        '[]', '[{"resource": "staff", "quantity": 25, "unit": "persons"}]', '[]', now()
        FROM generate_series(1, 200) i""",
    """INSERT INTO ngo_presence
        SELECT n.ngo_id, p.sectors[1 + n.k % cardinality(p.sectors)],
            p.states[1 + n.k % cardinality(p.states)]
        FROM (SELECT CAST(:sectors AS text[]) AS sectors,
                     CAST(:state_list AS text[]) AS states) p,
             (SELECT ngo_id, row_number() OVER () AS k FROM ngos) n""",
    """INSERT INTO incident_counts SELECT pcode, current_date - d, 1 + (d % 4)
        FROM unnest(CAST(:counties AS text[])) pcode, generate_series(0, 89) d""",
    """INSERT INTO alerts SELECT gen_random_uuid(), 1, request_id, 'triage', urgency, sector,
        pcode, 'breach', 1, '["duty_officer"]', now(), now(), NULL, NULL
        FROM requests WHERE status = 'submitted' LIMIT :alerts""",
]


async def seed(engine: AsyncEngine, n: int) -> None:
    gaz = gazetteer()
    counties = [a.pcode for a in gaz.at_level(2)]
    params: dict[str, Any] = {
        "n": n,
        "sectors": [s.value for s in Sector],
        "counties": counties,
        "states": [gaz.admin1(p) for p in counties],
        "state_list": [a.pcode for a in gaz.at_level(1)],
        "alerts": max(n // 1000, 1),
    }
    async with engine.begin() as conn:
        names = ", ".join(t.name for t in READ_MODEL_TABLES)
        await conn.execute(text(f"TRUNCATE {names}"))
        await conn.execute(text(SEED_REQUESTS), params)
        for statement in AGGREGATES:
            await conn.execute(text(statement), params)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # VACUUM too: autovacuum waking on a million fresh rows mid-measurement would land on
        # one side of the ratio only (a real mission's tables were vacuumed long ago).
        await conn.execute(text("VACUUM ANALYZE"))


async def measure(
    engine: AsyncEngine, rounds: int, *, warmup: int = 0
) -> tuple[list[float], list[float]]:
    """Milliseconds of each dashboard refresh's KPI and gap queries, and of each map query."""
    sessionmaker = create_sessionmaker(engine)
    refreshes, maps = [], []
    for round_ in range(rounds + warmup):
        started = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            await kpis(session)
            await coverage_gaps(session, level=2, limit=50)
        refreshed = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            await map_layers(session, MAP_READER, purpose="benchmark", route="/api/map")
        if round_ >= warmup:  # warm-up rounds fill caches and the pool
            refreshes.append((refreshed - started) * 1000)
            maps.append((time.perf_counter() - refreshed) * 1000)
    return refreshes, maps


async def _second_database(stack: LocalStack) -> Settings:
    """The same server, a database of its own for the large size, migrated like any other."""
    assert stack.database_url
    url = make_url(stack.database_url).set(database="concord_bench_monitoring_large")
    admin = url.render_as_string(hide_password=False)
    settings = Settings(database_url=admin)
    await provision(admin, [settings])
    await asyncio.to_thread(upgrade, settings, ROOT / "services" / "monitoring" / "migrations")
    return settings


async def run(stack: LocalStack, *, quick: bool = False) -> dict[str, str]:
    """Both sizes seeded side by side (one database each), then measured in alternating
    slices of `SLICE` rounds, so a burst of load on a shared machine hits both sides."""
    scales, rounds = (QUICK_SCALES, QUICK_ROUNDS) if quick else (SCALES, ROUNDS)
    labels = ("small", "large")
    engines = {
        label: create_engine(
            settings.service_database_url,
            schema="monitoring",
            application_name="bench",
            pool_size=2,
        )
        for label, settings in zip(labels, (Settings(), await _second_database(stack)), strict=True)
    }
    results: dict[str, str] = {"kpi_query_sizes": "/".join(str(n) for n in scales)}
    refreshes: dict[str, list[float]] = {label: [] for label in labels}
    maps: dict[str, list[float]] = {label: [] for label in labels}
    try:
        for n, label in zip(scales, labels, strict=True):
            started = time.perf_counter()
            await seed(engines[label], n)
            results[f"kpi_seed_seconds_{label}"] = f"{time.perf_counter() - started:.1f}"
            await measure(engines[label], 0, warmup=20)
        for _ in range(0, rounds, SLICE):
            for label in labels:
                refreshed, mapped = await measure(engines[label], SLICE)
                refreshes[label] += refreshed
                maps[label] += mapped
    finally:
        for engine in engines.values():
            await engine.dispose()
    for label in labels:
        results[f"kpi_gap_query_p99_ms_{label}"] = f"{percentile(refreshes[label], 0.99):.2f}"
        results[f"kpi_gap_query_median_ms_{label}"] = f"{statistics.median(refreshes[label]):.2f}"
        results[f"map_query_p99_ms_{label}"] = f"{percentile(maps[label], 0.99):.2f}"
    growth = percentile(refreshes["large"], 0.99) / percentile(refreshes["small"], 0.99)
    map_growth = percentile(maps["large"], 0.99) / percentile(maps["small"], 0.99)
    results["kpi_query_growth"] = f"{growth:.2f}"
    results["map_query_growth"] = f"{map_growth:.2f}"
    return results
