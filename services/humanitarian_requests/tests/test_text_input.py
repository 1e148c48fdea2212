"""Text Postgres cannot store (the NUL character) is bad input: 422, never a 500, and in a
batch it rejects only its own item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    incident_body,
    unique_unit,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration


async def test_nul_character_in_a_report_is_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    aid = await client.post(
        "/aid-requests", json=aid_request_body(title="Water\u0000trucking"), headers=as_unit
    )
    assert aid.status_code == 422, aid.text
    assert problem_of(aid)["status"] == 422
    incident = await client.post(
        "/incidents", json=incident_body(description="seen at\u0000dawn"), headers=as_unit
    )
    assert incident.status_code == 422, incident.text
    assert problem_of(incident)["status"] == 422


async def test_nul_character_rejects_only_its_batch_item(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    when = datetime.now(UTC).isoformat()
    good = {"kind": "aid_request", "observed_at": when, **aid_request_body(client_id="ok-1")}
    bad = {
        "kind": "aid_request",
        "observed_at": when,
        **aid_request_body(client_id="bad\u00002", contact="radio\u0000 net 3"),
    }
    resp = await client.post(
        "/reports/batch",
        json={"items": [good, bad]},
        headers={**as_unit, "Idempotency-Key": "nul-batch"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["results"][1]["result"] == "rejected"
    again = await client.post(
        "/reports/batch",
        json={"items": [good, bad]},
        headers={**as_unit, "Idempotency-Key": "nul-batch"},
    )
    assert again.json() == body


@pytest.mark.parametrize(
    "overrides",
    [
        {"affected_population": {"total": 3_000_000_000}},
        {"items": [{"item": "water", "quantity": "Infinity", "unit": "m3"}]},
    ],
    ids=["population-beyond-int32", "infinite-quantity"],
)
async def test_numbers_postgres_cannot_store_are_422(
    client: httpx.AsyncClient, settings: Settings, overrides: dict[str, Any]
) -> None:
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    resp = await client.post("/aid-requests", json=aid_request_body(**overrides), headers=as_unit)
    assert resp.status_code == 422, resp.text
    assert problem_of(resp)["status"] == 422
