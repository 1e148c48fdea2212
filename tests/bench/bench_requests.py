"""Intake throughput and latency of the requests service, through the HTTP API.

Every submission is the real path: idempotency key claimed, request stored, triaged
(priority, duplicate search), matched against the registry replica (20 eligible NGOs seeded
from registry events on Kafka) and its events written to the outbox, in one transaction.

Measured: sequential single-request latency (p50/p95/p99), concurrent throughput at 16 in
flight, and one store-and-forward batch of 500.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import httpx

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    ngo_state,
    point_in,
    publish_registry_events,
    unique_unit,
    wait_for_replica,
)
from shared.gazetteer import gazetteer
from shared.testing import bearer, serve_in_process
from shared.vocabulary import Sector

SEQUENTIAL = 300
CONCURRENT = 500
IN_FLIGHT = 16
BATCH = 500
SECTORS = (Sector.health, Sector.wash, Sector.food_security, Sector.shelter_nfi)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(stack: LocalStack) -> dict[str, str]:
    assert stack.kafka_bootstrap_servers and stack.database_url
    settings = Settings(offer_response_seconds=600)
    rng = random.Random(7)
    counties = [a.pcode for a in gazetteer().at_level(2)]
    states = [a.pcode for a in gazetteer().at_level(1)]
    ngos = [
        ngo_state(name=f"Bench {i}", sector=SECTORS[i % len(SECTORS)], pcodes=[rng.choice(states)])
        for i in range(20)
    ]
    await publish_registry_events(stack.kafka_bootstrap_servers, ngos)

    def body() -> dict[str, object]:
        where = point_in(rng.choice(counties), rng, spread=0.3)
        return aid_request_body(sector=rng.choice(SECTORS), location=where)

    results: dict[str, str] = {}
    async with serve_in_process(create_app(settings)) as client:
        for ngo in ngos:
            await wait_for_replica(stack.database_url, ngo.ngo_id, 1)
        unit = unique_unit()
        auth = bearer(settings, "field_unit", unit_id=unit)

        latencies: list[float] = []
        for i in range(SEQUENTIAL):
            started = time.perf_counter()
            response = await client.post(
                "/aid-requests", json=body(), headers={**auth, "Idempotency-Key": f"seq-{i}"}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
        results["single_p50_ms"] = f"{statistics.median(latencies):.1f}"
        results["single_p95_ms"] = f"{_percentile(latencies, 0.95):.1f}"
        results["single_p99_ms"] = f"{_percentile(latencies, 0.99):.1f}"

        limit = asyncio.Semaphore(IN_FLIGHT)

        async def one(i: int) -> httpx.Response:
            async with limit:
                return await client.post(
                    "/aid-requests", json=body(), headers={**auth, "Idempotency-Key": f"par-{i}"}
                )

        started = time.perf_counter()
        answers = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        elapsed = time.perf_counter() - started
        assert all(a.status_code == 201 for a in answers)
        results[f"concurrent_{IN_FLIGHT}_requests_per_s"] = f"{CONCURRENT / elapsed:.1f}"

        items = [
            {
                "kind": "aid_request",
                **body(),
                "client_id": f"b-{i}",
                "observed_at": "2026-11-28T06:00:00Z",
            }
            for i in range(BATCH)
        ]
        started = time.perf_counter()
        batch = await client.post("/reports/batch", json={"items": items}, headers=auth)
        elapsed = time.perf_counter() - started
        assert batch.status_code == 200 and batch.json()["created"] == BATCH, batch.text[:500]
        results["batch_500_seconds"] = f"{elapsed:.2f}"
        results["batch_items_per_s"] = f"{BATCH / elapsed:.1f}"
    return results
