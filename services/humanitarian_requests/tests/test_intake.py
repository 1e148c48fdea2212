"""Intake: Idempotency-Key, client ids, validation, size limits, authentication, views."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    submit_triaged,
    unique_unit,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration


async def _count(database_url: str, unit: str) -> int:
    rows = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u",
        u=unit,
    )
    return int(rows[0][0])


async def test_idempotency_key_replays_the_first_response(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    headers = {**bearer(settings, "field_unit", unit_id=unit), "Idempotency-Key": "k-1"}
    body = aid_request_body(pcode="SS0201")
    first = await client.post("/aid-requests", json=body, headers=headers)
    again = await client.post("/aid-requests", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(database_url, unit) == 1

    changed = await client.post(
        "/aid-requests", json={**body, "title": "something else"}, headers=headers
    )
    assert changed.status_code == 422
    assert problem_of(changed)["type"].endswith("idempotency-key-reused")
    assert await _count(database_url, unit) == 1


async def test_client_id_is_idempotent_without_a_key(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    headers = bearer(settings, "field_unit", unit_id=unit)
    body = aid_request_body(pcode="SS0201", client_id="phone-7/42")
    first = await client.post("/aid-requests", json=body, headers=headers)
    second = await client.post("/aid-requests", json=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["request_id"] == first.json()["request_id"]
    assert await _count(database_url, unit) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"lat": 95.0, "lon": 31.0}}, "lat"),
        ({"location": {"lat": 4.0, "lon": 181.0}}, "lon"),
        ({"sector": "astrology"}, "sector"),
        ({"urgency": "whenever"}, "urgency"),
        ({"affected_population": {"total": -1}}, "total"),
        ({"items": [{"item": "water", "quantity": 0, "unit": "m3"}]}, "quantity"),
        ({"unexpected": True}, "unexpected"),
        ({"title": ""}, "title"),
    ],
)
async def test_invalid_payloads_are_422_with_what_is_allowed(
    client: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    change: dict[str, object],
    field: str,
) -> None:
    unit = unique_unit()
    response = await client.post(
        "/aid-requests",
        json={**aid_request_body(), **change},
        headers=bearer(settings, "field_unit", unit_id=unit),
    )
    assert response.status_code == 422
    problem = problem_of(response)
    assert any(field in error["location"] for error in problem["errors"]), problem
    if field == "sector":
        allowed = next(e for e in problem["errors"] if "sector" in e["location"])["allowed"]
        assert "wash" in allowed and "health" in allowed
    assert await _count(database_url, unit) == 0


async def test_unknown_pcode_and_points_outside_the_mission_are_422(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    headers = bearer(settings, "field_unit", unit_id=unit)
    unknown = await client.post(
        "/aid-requests",
        json=aid_request_body(location={"lat": 4.85, "lon": 31.6, "pcode": "XX9999"}),
        headers=headers,
    )
    assert unknown.status_code == 422
    assert "SS0101" in problem_of(unknown)["allowed"]
    outside = await client.post(
        "/aid-requests", json=aid_request_body(location={"lat": 48.8, "lon": 2.35}), headers=headers
    )
    assert outside.status_code == 422
    assert problem_of(outside)["allowed_bounds"]["min_lat"] < 4
    bad_incident = await client.post(
        "/incidents", json=incident_body(incident_type="alien_landing"), headers=headers
    )
    assert bad_incident.status_code == 422
    assert "sgbv" in problem_of(bad_incident)["errors"][0]["allowed"]
    assert await _count(database_url, unit) == 0


async def test_oversized_body_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    body = aid_request_body(description="x" * (settings.max_body_bytes + 10))
    response = await client.post("/aid-requests", json=body, headers=bearer(settings, "field_unit"))
    assert response.status_code == 413
    problem_of(response)


async def test_authentication_and_roles(client: httpx.AsyncClient, settings: Settings) -> None:
    assert (await client.post("/aid-requests", json=aid_request_body())).status_code == 401
    as_ngo = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    forbidden = await client.post("/aid-requests", json=aid_request_body(), headers=as_ngo)
    assert forbidden.status_code == 403
    problem_of(forbidden)
    assert (await client.get("/incidents", headers=as_ngo)).status_code == 403
    unit_offer = await client.get("/offers", headers=bearer(settings, "field_unit"))
    assert unit_offer.status_code == 403


async def test_a_unit_sees_only_its_own_reports(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    mine, theirs = unique_unit(), unique_unit()
    as_mine = bearer(settings, "field_unit", unit_id=mine)
    as_theirs = bearer(settings, "field_unit", unit_id=theirs)
    request = (await client.post("/aid-requests", json=aid_request_body(), headers=as_mine)).json()
    incident = (await client.post("/incidents", json=incident_body(), headers=as_mine)).json()

    assert (
        await client.get(f"/aid-requests/{request['request_id']}", headers=as_mine)
    ).status_code == 200
    for path in (
        f"/aid-requests/{request['request_id']}",
        f"/aid-requests/{request['request_id']}/history",
        f"/incidents/{incident['incident_id']}",
    ):
        hidden = await client.get(path, headers=as_theirs)
        assert hidden.status_code == 404, path
        problem_of(hidden)
    cancel = await client.post(
        f"/aid-requests/{request['request_id']}/cancel", json={"reason": "x"}, headers=as_theirs
    )
    assert cancel.status_code == 404
    listed = (await client.get("/aid-requests", headers=as_theirs)).json()["items"]
    assert all(r["reporting_unit"] == theirs for r in listed)
    assert (await client.get("/incidents", headers=as_theirs)).json() == []

    ops = await client.get(
        f"/incidents/{incident['incident_id']}", headers=bearer(settings, "ops_centre")
    )
    assert ops.status_code == 200
    assert ops.json()["sensitivity"] == "restricted"  # SGBV is a protection incident


async def test_unknown_ids_are_404(client: httpx.AsyncClient, settings: Settings) -> None:
    as_ops = bearer(settings, "ops_centre")
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/aid-requests/{missing}"),
        ("POST", f"/aid-requests/{missing}/close"),
        ("GET", f"/offers/{missing}"),
        ("POST", f"/offers/{missing}/accept"),
        ("GET", f"/incidents/{missing}"),
    ]:
        response = await client.request(method, path, headers=as_ops)
        assert response.status_code == 404, (path, response.text)
        problem_of(response)


async def test_cancel_and_transitions_from_the_wrong_state(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit)
    as_ops = bearer(settings, "ops_centre")
    request = await submit_triaged(client, aid_request_body(pcode="SS0202"), as_unit)
    request_id = request["request_id"]
    not_fulfilled = await client.post(f"/aid-requests/{request_id}/close", headers=as_ops)
    assert not_fulfilled.status_code == 409
    assert problem_of(not_fulfilled)["current_status"] == request["status"]
    cancelled = await client.post(
        f"/aid-requests/{request_id}/cancel", json={"reason": "need met locally"}, headers=as_unit
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(
        f"/aid-requests/{request_id}/cancel", json={"reason": "again"}, headers=as_unit
    )
    assert again.status_code == 409
    override = await client.post(
        f"/aid-requests/{request_id}/priority",
        json={"priority_score": 99, "reason": "x"},
        headers=as_ops,
    )
    assert override.status_code == 409
    not_ops = await client.post(
        f"/aid-requests/{request_id}/priority",
        json={"priority_score": 99, "reason": "x"},
        headers=as_unit,
    )
    assert not_ops.status_code == 403
