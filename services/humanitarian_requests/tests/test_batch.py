"""Store-and-forward: a batch of 500 with 20 malformed items, re-uploaded after a lost answer."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    point_in,
    unique_unit,
)
from shared.testing import bearer, problem_of, shared_test_counties

pytestmark = pytest.mark.integration

MALFORMED: list[dict[str, Any]] = [
    {"sector": "astrology"},
    {"location": {"lat": 123.0, "lon": 31.0}},
    {"location": {"lat": 4.8, "lon": 31.6, "pcode": "NOPE"}},
    {"urgency": None},
    {"client_id": None},
]


def _batch(rng: random.Random) -> tuple[list[dict[str, Any]], set[int]]:
    counties = shared_test_counties()
    observed = datetime.now(UTC) - timedelta(hours=6)
    items: list[dict[str, Any]] = []
    bad = set(rng.sample(range(500), 20))
    for i in range(500):
        where = point_in(rng.choice(counties), rng, spread=0.1)
        when = (observed + timedelta(minutes=i)).isoformat()
        if i % 5 == 0:
            item = {
                "kind": "incident",
                **incident_body(incident_type="access_denial", location=where),
            }
        else:
            item = {"kind": "aid_request", **aid_request_body(location=where)}
        item.update(client_id=f"queued-{i}", observed_at=when)
        if i in bad:
            if item["kind"] == "incident":
                item["severity"] = "apocalyptic"
            else:
                item.update(MALFORMED[i % len(MALFORMED)])
        items.append(item)
    return items, bad


async def test_batch_of_500_with_20_malformed(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    headers = bearer(settings, "field_unit", unit_id=unit)
    items, bad = _batch(random.Random(4))

    response = await client.post("/reports/batch", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicate"], body["rejected"]) == (480, 0, 20)
    rejected = {r["index"] for r in body["results"] if r["result"] == "rejected"}
    assert rejected == bad
    assert all(r["errors"] for r in body["results"] if r["result"] == "rejected")

    stored = await fetch(
        database_url,
        "SELECT (SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u)"
        " + (SELECT count(*) FROM humanitarian_requests.incidents WHERE reporting_unit = :u)",
        u=unit,
    )
    assert stored[0][0] == 480
    observed = await fetch(
        database_url,
        "SELECT observed_at FROM humanitarian_requests.aid_requests"
        " WHERE reporting_unit = :u AND client_id = 'queued-1'",
        u=unit,
    )
    assert observed[0][0] == datetime.fromisoformat(items[1]["observed_at"])

    # The unit never got the answer and uploads the same queue again: nothing new.
    again = (await client.post("/reports/batch", json={"items": items}, headers=headers)).json()
    assert (again["created"], again["duplicate"], again["rejected"]) == (0, 480, 20)


async def test_batch_limits_and_shape(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = bearer(settings, "field_unit", unit_id=unique_unit())
    too_many = {"items": [{"kind": "incident"}] * (settings.batch_max_items + 1)}
    response = await client.post("/reports/batch", json=too_many, headers=headers)
    assert response.status_code == 413
    assert problem_of(response)["max_items"] == settings.batch_max_items

    odd = await client.post(
        "/reports/batch",
        json={"items": [42, {"kind": "parcel", "client_id": "x"}]},
        headers=headers,
    )
    assert odd.status_code == 200
    assert [r["result"] for r in odd.json()["results"]] == ["rejected", "rejected"]

    not_a_batch = await client.post("/reports/batch", json={"things": []}, headers=headers)
    assert not_a_batch.status_code == 422
    problem_of(not_a_batch)
