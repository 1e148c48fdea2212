"""A retry storm: 200 requests sent 3 times each, concurrently, some after the client dropped
the connection mid-flight. Exactly 200 requests exist and exactly 200 `submitted` events."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    point_in,
    unique_unit,
)
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC
from shared.gazetteer import gazetteer
from shared.testing import bearer, read_events, serve_in_process

pytestmark = pytest.mark.integration

REQUESTS = 200
ATTEMPTS = 3
SUBMITTED = "concord.humanitarian_requests.aid_request.submitted.v1"


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(offer_response_seconds=600, offer_sweep_interval_seconds=1.0)


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings)) as running:
        yield running


async def _dropped(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str], delay: float
) -> None:
    """Send, then drop the call after `delay` seconds: before, during or after the commit."""
    call = asyncio.ensure_future(client.post("/aid-requests", json=body, headers=headers))
    await asyncio.sleep(delay)
    call.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await call


async def test_retry_storm_creates_each_request_once(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    rng = random.Random(200)
    unit = unique_unit()
    auth = bearer(settings, "field_unit", unit_id=unit)
    counties = [a.pcode for a in gazetteer().at_level(2)]
    bodies = [
        aid_request_body(
            location=point_in(rng.choice(counties), rng, spread=0.3), title=f"storm {i}"
        )
        for i in range(REQUESTS)
    ]
    limit = asyncio.Semaphore(8)  # requests whose 3 attempts are in flight together
    answers: list[httpx.Response] = []

    async def storm(i: int) -> None:
        headers = {**auth, "Idempotency-Key": f"storm-{unit}-{i}"}
        async with limit:
            if i % 4 == 0:
                # The first attempt's connection drops mid-flight; the unit retries twice.
                await _dropped(client, bodies[i], headers, rng.uniform(0, 0.05))
                attempts = [
                    client.post("/aid-requests", json=bodies[i], headers=headers)
                    for _ in range(ATTEMPTS - 1)
                ]
            else:
                attempts = [
                    client.post("/aid-requests", json=bodies[i], headers=headers)
                    for _ in range(ATTEMPTS)
                ]
            answers.extend(await asyncio.gather(*attempts))

    await asyncio.gather(*(storm(i) for i in range(REQUESTS)))

    assert all(a.status_code == 201 for a in answers), {a.status_code for a in answers}
    ids_by_title: dict[str, set[str]] = {}
    for answer in answers:
        ids_by_title.setdefault(answer.json()["title"], set()).add(answer.json()["request_id"])
    assert len(ids_by_title) == REQUESTS
    assert all(len(ids) == 1 for ids in ids_by_title.values())  # every retry got the first answer

    stored = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u",
        u=unit,
    )
    assert stored[0][0] == REQUESTS
    in_outbox = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.outbox WHERE event_type = :t"
        " AND envelope->'data'->>'reporting_unit' = :u",
        t=SUBMITTED,
        u=unit,
    )
    assert in_outbox[0][0] == REQUESTS

    events = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name],
        where=lambda e: e.type == SUBMITTED and e.data["reporting_unit"] == unit,
        until=lambda found: len({e.id for e in found}) >= REQUESTS,
        timeout=120,
    )
    assert len({e.id for e in events}) == REQUESTS
    assert len({e.subject for e in events}) == REQUESTS
