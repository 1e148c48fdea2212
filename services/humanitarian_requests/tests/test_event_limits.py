"""Intake refuses what its event could not carry: numbers out of range (422), events over the
broker's limit (413). Before, `1e20` got a 201 and its event wedged the relay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    unique_unit,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

# Every field of a report is bounded now, so no report reaches the broker's 1 MB: the guard
# is proved against a lowered limit (`small_event_limit`); twenty constraints of 2,000
# characters are within the input bounds and over it.
OVERSIZED_CONSTRAINTS = ["x" * 2_000] * 20
SMALL_EVENT_LIMIT = 30_000


@pytest.fixture
def small_event_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(outbox, "max_message_bytes", SMALL_EVENT_LIMIT)
    return SMALL_EVENT_LIMIT


OUT_OF_RANGE: list[tuple[str, dict[str, Any], str]] = [
    ("aid_request", {"items": [{"item": "water", "quantity": 1e20, "unit": "l"}]}, "quantity"),
    ("aid_request", {"affected_population": {"total": 10, "women": 10**20}}, "women"),
    ("aid_request", {"affected_population": {"total": 2 * 10**9}}, "total"),
    ("incident", {"casualties": {"killed": 10**20}}, "killed"),
]


def _body(kind: str, **overrides: Any) -> dict[str, Any]:
    return aid_request_body(**overrides) if kind == "aid_request" else incident_body(**overrides)


async def _rows_of_unit(database_url: str, unit: str) -> int:
    requests = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u",
        u=unit,
    )
    incidents = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.incidents WHERE reporting_unit = :u",
        u=unit,
    )
    return int(requests[0][0]) + int(incidents[0][0])


async def _outbox_rows_titled(database_url: str, title: str) -> int:
    rows = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.outbox WHERE envelope->'data'->>'title' = :t",
        t=title,
    )
    return int(rows[0][0])


async def test_numbers_an_event_cannot_carry_are_422_naming_the_field(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    headers = bearer(settings, "field_unit", unit_id=unit)
    for kind, overrides, field in OUT_OF_RANGE:
        path = "/aid-requests" if kind == "aid_request" else "/incidents"
        response = await client.post(path, json=_body(kind, **overrides), headers=headers)
        assert response.status_code == 422, (overrides, response.text)
        problem = problem_of(response)
        assert any(error["location"][-1] == field for error in problem["errors"]), problem
    assert await _rows_of_unit(database_url, unit) == 0


async def test_an_event_over_the_broker_limit_is_413_and_nothing_is_written(
    client: httpx.AsyncClient, settings: Settings, database_url: str, small_event_limit: int
) -> None:
    unit = unique_unit()
    headers = {**bearer(settings, "field_unit", unit_id=unit), "Idempotency-Key": uuid.uuid4().hex}
    title = f"oversized {uuid.uuid4()}"
    body = aid_request_body(
        client_id=f"big-{uuid.uuid4()}", title=title, access_constraints=OVERSIZED_CONSTRAINTS
    )
    for _ in range(2):  # a retry with the same key is refused again, not replayed
        response = await client.post("/aid-requests", json=body, headers=headers)
        assert response.status_code == 413, response.text[:500]
        problem = problem_of(response)
        assert problem["max_event_bytes"] == small_event_limit
        assert "Idempotent-Replayed" not in response.headers
    assert await _rows_of_unit(database_url, unit) == 0
    assert await _outbox_rows_titled(database_url, title) == 0
    keys = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.idempotency_keys WHERE key = :k",
        k=headers["Idempotency-Key"],
    )
    assert keys[0][0] == 0


async def test_a_batch_rejects_out_of_range_and_oversized_items_one_by_one(
    client: httpx.AsyncClient, settings: Settings, database_url: str, small_event_limit: int
) -> None:
    unit = unique_unit()
    headers = bearer(settings, "field_unit", unit_id=unit)
    observed = datetime.now(UTC).isoformat()
    good = {"kind": "aid_request", **aid_request_body(client_id="good", observed_at=observed)}
    huge_quantity = {
        "kind": "aid_request",
        **aid_request_body(
            client_id="huge-quantity",
            observed_at=observed,
            items=[{"item": "water", "quantity": 1e20, "unit": "l"}],
        ),
    }
    huge_casualties = {
        "kind": "incident",
        **incident_body(client_id="huge-casualties", observed_at=observed),
        "casualties": {"missing": 10**20},
    }
    oversized = {
        "kind": "aid_request",
        **aid_request_body(
            client_id="oversized", observed_at=observed, access_constraints=OVERSIZED_CONSTRAINTS
        ),
    }
    response = await client.post(
        "/reports/batch",
        json={"items": [good, huge_quantity, huge_casualties, oversized]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["created"], out["rejected"]) == (1, 3), out
    results = out["results"]
    assert results[0]["result"] == "created"
    assert results[1]["errors"][0]["location"][-1] == "quantity"
    assert results[2]["errors"][0]["location"][-1] == "missing"
    assert results[3]["result"] == "rejected"
    assert results[3]["errors"][0]["type"] == "event-too-large", results[3]
    assert await _rows_of_unit(database_url, unit) == 1


async def test_openapi_documents_413_and_422_on_intake_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/aid-requests", "/incidents", "/reports/batch"):
        responses = paths[path]["post"]["responses"]
        for status in ("413", "422"):
            assert "application/problem+json" in responses[status]["content"], (path, status)
