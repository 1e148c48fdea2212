"""Abuse resistance at the requests service's edge: per-principal rate limits on intake (a
tiny limit, its own app), and unknown fields or NUL refused at every level of a body."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import incident_body, unique_unit
from shared.testing import bearer, problem_of, serve_in_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def limited(stack: LocalStack) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:
    """The service with an intake limit of 2 reports, refilled at 1 a minute."""
    settings = Settings(rate_limit_intake_burst=2, rate_limit_intake_per_minute=1.0)
    app = create_app(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    async with serve_in_process(app) as client:
        yield settings, client


async def test_intake_over_the_limit_is_429_with_retry_after_and_writes_nothing(
    limited: tuple[Settings, httpx.AsyncClient],
) -> None:
    settings, client = limited
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit, subject=f"limited-{unit}")
    for n in range(2):
        created = await client.post(
            "/incidents", json=incident_body(client_id=f"{unit}-{n}"), headers=as_unit
        )
        assert created.status_code == 201, created.text

    refused = await client.post(
        "/incidents", json=incident_body(client_id=f"{unit}-over"), headers=as_unit
    )
    assert refused.status_code == 429, refused.text
    body = problem_of(refused)
    assert body["type"].endswith("/too-many-requests") and body["limit"] == "intake"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # The same bucket guards every intake route of the principal: the batch is refused too.
    batch = await client.post("/reports/batch", json={"items": []}, headers=as_unit)
    assert batch.status_code == 429, batch.text

    # Nothing of the refused report was stored; reading is not limited.
    listed = await client.get("/incidents", headers=as_unit)
    assert listed.status_code == 200, listed.text
    assert sorted(i["client_id"] for i in listed.json()) == [f"{unit}-0", f"{unit}-1"]

    # Another principal has a bucket of its own.
    other = unique_unit()
    as_other = bearer(settings, "field_unit", unit_id=other, subject=f"limited-{other}")
    admitted = await client.post(
        "/incidents", json=incident_body(client_id=f"{other}-0"), headers=as_other
    )
    assert admitted.status_code == 201, admitted.text


async def test_unknown_fields_and_nul_are_422_at_every_level(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit, subject=f"strict-{uuid.uuid4()}")
    body = incident_body(client_id=f"{unit}-nested")
    bad_bodies = {
        "top-level field": {**body, "shadow": True},
        "nested location field": {**body, "location": {**body["location"], "shadow": 1}},
        "nested casualties field": {**body, "casualties": {"injured": 1, "shadow": 1}},
        "NUL in description": {**body, "description": "before\x00after"},
    }
    for name, bad in bad_bodies.items():
        refused = await client.post("/incidents", json=bad, headers=as_unit)
        assert refused.status_code == 422, (name, refused.text)
        problem_of(refused)
    listed = await client.get("/incidents", headers=as_unit)
    assert listed.json() == []


async def test_a_batch_item_with_an_integer_past_64_bits_is_rejected_alone_not_a_500(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Found by schemathesis: the idempotency hash of such a batch raised (a 500)."""
    unit = unique_unit()
    headers = {
        **bearer(settings, "field_unit", unit_id=unit),
        "Idempotency-Key": uuid.uuid4().hex,
    }
    response = await client.post(
        "/reports/batch", json={"items": [{"kind": "incident", "n": 2**70}]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 1
