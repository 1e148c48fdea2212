"""Compatibility search latency at 100 and at 10,000 NGOs, through the HTTP endpoint.

NGOs are seeded straight into the registry's tables with COPY (profiles and the search cells
the service itself would derive, computed by the same `cells_for`), because registering
10,000 NGOs through the API would measure the API, not the search. Each size is measured
with the same seeded mix of queries (sector near a county, half with a capacity floor, a
tenth near a state), after a warm-up; the figure that matters is the growth of p99.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from deploy.stack import LocalStack
from services.ngo_registry.app import create_app
from services.ngo_registry.config import Settings
from services.ngo_registry.db.models.registry import Ngo
from services.ngo_registry.search.indexer import cells_for, counties
from shared.events.schemas.ngo_registry import EligibilityGrant
from shared.gazetteer import gazetteer
from shared.testing import bearer, serve_in_process
from shared.vocabulary import Sector

SIZES = (100, 10_000)
ROUNDS = 3
QUERIES = 150  # per size and round: 450 samples per size
QUICK_SIZES, QUICK_ROUNDS, QUICK_QUERIES = (100, 1_000), 2, 60
WARMUP = 20
RESOURCES = ("staff", "vehicles", "water_trucking", "beds", "food_stocks", "demining_teams")
SCHEMA = "ngo_registry"

NGO_COLUMNS = [
    "id",
    "name",
    "acronym",
    "ngo_type",
    "hq_country",
    "website",
    "contacts",
    "sectors",
    "capacities",
    "operating_areas",
    "operating_points",
    "languages",
    "operational_approach",
    "vetting_status",
    "vetted_until",
    "eligibility",
    "eligible",
    "version",
    "created_at",
    "updated_at",
]
CELL_COLUMNS = [
    "sector",
    "pcode",
    "ngo_id",
    "name",
    "distance_km",
    "via",
    "eligible",
    "agreement_id",
    "capacities",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _fake_ngo(rng: random.Random, index: int, today: date) -> tuple[Ngo, list[EligibilityGrant]]:
    county_codes = [c.pcode for c in counties()]
    states = [a.pcode for a in gazetteer().at_level(1)]
    areas = rng.sample(county_codes, rng.randint(1, 2))
    if rng.random() < 0.1:
        areas = [rng.choice(states)]
    sectors = rng.sample([s.value for s in Sector], rng.randint(1, 3))
    capacities = [
        {"resource": r, "quantity": float(rng.randint(1, 200)), "unit": "units"}
        for r in rng.sample(RESOURCES, 3)
    ]
    now = datetime.now(UTC)
    ngo = Ngo(
        id=uuid.uuid4(),
        name=f"Bench NGO {index:05d}",
        acronym=None,
        ngo_type="national",
        hq_country="SS",
        website=None,
        contacts=[],
        sectors=sectors,
        capacities=capacities,
        operating_areas=areas,
        operating_points=[],
        languages=["en"],
        operational_approach=None,
        vetting_status="vetted",
        vetted_until=today + timedelta(days=365),
        eligibility=[],
        eligible=False,
        version=1,
        created_at=now,
        updated_at=now,
    )
    grants = []
    if rng.random() < 0.5:
        grants = [
            EligibilityGrant(
                sector=Sector(sectors[0]),
                pcodes=areas,
                agreement_id=uuid.uuid4(),
                valid_until=today + timedelta(days=180),
            )
        ]
    ngo.eligibility = [g.model_dump(mode="json") for g in grants]
    ngo.eligible = bool(grants)
    return ngo, grants


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _generate(size: int) -> Rows:
    """`size` vetted NGOs and their search cells, as COPY records."""
    rng = random.Random(size)
    today = date.today()
    ngo_rows: list[tuple[Any, ...]] = []
    cell_rows: list[tuple[Any, ...]] = []
    for index in range(size):
        ngo, grants = _fake_ngo(rng, index, today)
        ngo_rows.append(
            tuple(
                json.dumps(getattr(ngo, c))
                if c in ("contacts", "capacities", "operating_points", "eligibility")
                else getattr(ngo, c)
                for c in NGO_COLUMNS
            )
        )
        for cell in cells_for(ngo, grants, vetted=True):
            cell["capacities"] = json.dumps(cell["capacities"])
            cell_rows.append(tuple(cell[c] for c in CELL_COLUMNS))
    return ngo_rows, cell_rows


async def _load(app: Any, rows: Rows) -> None:
    """Replace the registry's contents with these rows."""
    ngo_rows, cell_rows = rows
    async with app.state.runtime.engine.connect() as conn:
        await conn.execute(text("TRUNCATE ngos, agreements CASCADE"))
        await conn.commit()
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table(
            "ngos", records=ngo_rows, columns=NGO_COLUMNS, schema_name=SCHEMA
        )
        await raw.copy_records_to_table(
            "search_cells", records=cell_rows, columns=CELL_COLUMNS, schema_name=SCHEMA
        )
        await conn.execute(text("ANALYZE ngos"))
        await conn.execute(text("ANALYZE search_cells"))
        await conn.commit()


def _queries(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    county_codes = [c.pcode for c in counties()]
    states = [a.pcode for a in gazetteer().at_level(1)]
    queries = []
    for _ in range(WARMUP + count):
        query: dict[str, Any] = {"sector": rng.choice(list(Sector)).value, "limit": 10}
        query["pcode"] = rng.choice(states) if rng.random() < 0.1 else rng.choice(county_codes)
        if rng.random() < 0.5:
            query["resource"] = rng.choice(RESOURCES)
            query["min_quantity"] = rng.randint(1, 100)
        queries.append(query)
    return queries


async def _measure(
    client: httpx.AsyncClient, headers: dict[str, str], seed: int, count: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    results = 0
    for index, query in enumerate(_queries(seed, count)):
        started = time.perf_counter()
        response = await client.get("/search/ngos", params=query, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        if index >= WARMUP:
            latencies.append(elapsed * 1000)
            results += len(response.json()["results"])
    return latencies, results


async def run(stack: LocalStack, *, quick: bool = False) -> dict[str, str]:
    sizes = QUICK_SIZES if quick else SIZES
    rounds, queries = (QUICK_ROUNDS, QUICK_QUERIES) if quick else (ROUNDS, QUERIES)
    settings = Settings()
    app = create_app(settings)
    headers = bearer(settings, "ops_centre")
    figures: dict[str, str] = {}
    rows = {size: _generate(size) for size in sizes}
    latencies: dict[int, list[float]] = {size: [] for size in sizes}
    results: dict[int, int] = dict.fromkeys(sizes, 0)
    async with serve_in_process(app) as client:
        # Alternate the sizes over several rounds, so a burst of load on a shared machine
        # hits both sides of the ratio rather than one.
        for round_number in range(rounds):
            for size in sizes:
                await _load(app, rows[size])
                measured, found = await _measure(client, headers, round_number, queries)
                latencies[size].extend(measured)
                results[size] += found
        figures["registry_search_sizes"] = "/".join(str(size) for size in sizes)
        for size, label in zip(sizes, ("small", "large"), strict=True):
            figures[f"registry_search_cells_{label}"] = str(len(rows[size][1]))
            figures[f"registry_search_p50_ms_{label}"] = f"{statistics.median(latencies[size]):.2f}"
            figures[f"registry_search_p99_ms_{label}"] = f"{percentile(latencies[size], 0.99):.2f}"
            mean_results = results[size] / len(latencies[size])
            figures[f"registry_search_mean_results_{label}"] = f"{mean_results:.1f}"
        async with app.state.runtime.engine.connect() as conn:
            await conn.execute(text("TRUNCATE ngos, agreements CASCADE"))
            await conn.commit()
    small, large = (percentile(latencies[size], 0.99) for size in sizes)
    figures["registry_search_growth"] = f"{large / small:.2f}"
    return figures
