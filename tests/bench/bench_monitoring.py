"""Dashboard query cost against the number of requests: KPI and gap queries at 10,000 and
1,000,000 requests. `kpi_query_growth` = p99 at 1M / p99 at 10k (goal <= 1.5).

The read models are seeded in bulk with SQL (`generate_series`) in the state the event
handlers would leave them in: the request replica plus the incrementally maintained
aggregates (counts per cell and status, status totals, open need per cell, timing
histograms), 200 NGOs with presence, 90 days of incident counts and one open alert per
thousand requests. The dashboard queries are the service's own functions.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.stack import LocalStack
from services.monitoring.aid_request.timing import BASE
from services.monitoring.config import Settings
from services.monitoring.db.models.read_models import READ_MODEL_TABLES
from services.monitoring.insights.drilldown import map_layers
from services.monitoring.insights.queries import coverage_gaps, kpis
from shared.db import create_engine, create_sessionmaker
from shared.gazetteer import gazetteer
from shared.vocabulary import Sector
from tests.bench.figures import percentile

ROUNDS = 300
SCALES = tuple(
    int(n) for n in os.environ.get("MONITORING_BENCH_SCALES", "10000,1000000").split(",")
)
QUICK_SCALES, QUICK_ROUNDS = (10_000, 100_000), 100

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
        await conn.execute(text("ANALYZE"))


async def measure(engine: AsyncEngine, rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each dashboard refresh's KPI and gap queries, and of each map query."""
    sessionmaker = create_sessionmaker(engine)
    refreshes, maps = [], []
    for round_ in range(rounds + 20):
        started = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            await kpis(session)
            await coverage_gaps(session, level=2, limit=50)
        refreshed = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            await map_layers(session, may_see=True)
        if round_ >= 20:  # warm-up rounds fill caches and the pool
            refreshes.append((refreshed - started) * 1000)
            maps.append((time.perf_counter() - refreshed) * 1000)
    return refreshes, maps


async def run(stack: LocalStack, *, quick: bool = False) -> dict[str, str]:
    scales, rounds = (QUICK_SCALES, QUICK_ROUNDS) if quick else (SCALES, ROUNDS)
    settings = Settings()
    engine = create_engine(
        settings.service_database_url, schema="monitoring", application_name="bench", pool_size=2
    )
    results: dict[str, str] = {"kpi_query_sizes": "/".join(str(n) for n in scales)}
    p99s, map_p99s = [], []
    try:
        for n, label in zip(scales, ("small", "large"), strict=True):
            started = time.perf_counter()
            await seed(engine, n)
            seeded_in = time.perf_counter() - started
            refreshes, maps = await measure(engine, rounds)
            p99s.append(percentile(refreshes, 0.99))
            map_p99s.append(percentile(maps, 0.99))
            results[f"kpi_gap_query_p99_ms_{label}"] = f"{p99s[-1]:.2f}"
            results[f"kpi_gap_query_median_ms_{label}"] = f"{statistics.median(refreshes):.2f}"
            results[f"map_query_p99_ms_{label}"] = f"{map_p99s[-1]:.2f}"
            results[f"kpi_seed_seconds_{label}"] = f"{seeded_in:.1f}"
    finally:
        await engine.dispose()
    results["kpi_query_growth"] = f"{p99s[1] / p99s[0]:.2f}"
    results["map_query_growth"] = f"{map_p99s[1] / map_p99s[0]:.2f}"
    return results
