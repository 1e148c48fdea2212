"""Humanitarian notifications: submitting sites and movements, the mission's side
(acknowledgement, escorts), changes, cancellation, bad input and who sees what."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.tests.helpers import (
    NOW,
    as_ngo,
    fresh_county,
    iso,
    movement_body,
    outbox_envelopes,
    point_of,
    site_body,
    staff,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

PREFIX = "concord.joint_planning.notification."


async def submit(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/notifications", json=body, headers=headers)


async def test_an_ngo_notifies_a_movement_and_the_event_keeps_its_contact_out(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    ngo_id, county = uuid.uuid4(), fresh_county()
    created = await submit(client, as_ngo(settings, ngo_id), movement_body(county))
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["ETag"] == '"1"'
    assert body["ngo_id"] == str(ngo_id)
    assert body["status"] == "submitted"
    assert body["pcodes"] == [county]
    assert body["conflicts"] == []
    assert body["contact"]["phone"] == "+211 900 000 001"
    (envelope,) = await outbox_envelopes(app, body["notification_id"])
    assert envelope["type"] == PREFIX + "submitted.v1"
    assert envelope["data"]["vehicles"][0]["count"] == 2
    assert "contact" not in envelope["data"]
    assert "+211" not in str(envelope)


async def test_a_static_site_is_notified(client: httpx.AsyncClient, settings: Settings) -> None:
    county = fresh_county()
    created = await submit(client, as_ngo(settings, uuid.uuid4()), site_body(county))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "static_site"
    assert body["location"] == point_of(county)
    assert body["pcodes"] == [county]
    assert body["waypoints"] == []


def _waypoints(count: int) -> list[dict[str, float]]:
    return [point_of("SS0101", d_lat=0.001 * i) for i in range(count)]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"ends_at": iso(NOW)}, "ends_at must be after starts_at"),
        ({"waypoints": _waypoints(51)}, "at most 50"),
        ({"waypoints": [{"lat": 95, "lon": 31}, point_of("SS0101")]}, "less than or equal to 90"),
        ({"waypoints": [{"lat": 48.8, "lon": 2.3}, point_of("SS0101")]}, "outside the mission"),
        ({"waypoints": [point_of("SS0101")]}, "at least 2 waypoints"),
        ({"location": point_of("SS0101")}, "not a location"),
        ({"starts_at": "2027-01-01T08:00:00"}, "timezone"),
        ({"ends_at": iso(NOW + timedelta(days=90))}, "at most 31 days"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
        ({"vehicles": [{"vehicle_type": "truck", "count": 0}]}, "greater than or equal to 1"),
        ({"escort_requested": True}, "escort_reason"),
        ({"contact": {"name": "A\x00B"}}, "NUL"),
    ],
)
async def test_bad_input_is_a_422_with_the_reason(
    client: httpx.AsyncClient, settings: Settings, change: dict[str, Any], needle: str
) -> None:
    body = {**movement_body(starts_at=NOW + timedelta(days=2)), **change}
    refused = await submit(client, as_ngo(settings, uuid.uuid4()), body)
    assert refused.status_code == 422, refused.text
    assert needle in problem_of(refused)["detail"]


async def test_a_static_site_needs_its_location(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = site_body()
    del body["location"]
    refused = await submit(client, as_ngo(settings, uuid.uuid4()), body)
    assert refused.status_code == 422
    assert "location and function" in problem_of(refused)["detail"]


async def test_who_notifies_for_whom(client: httpx.AsyncClient, settings: Settings) -> None:
    ngo_id = uuid.uuid4()
    for_other = await submit(
        client, as_ngo(settings, ngo_id), movement_body(fresh_county(), ngo_id=str(uuid.uuid4()))
    )
    assert for_other.status_code == 422
    staff_unnamed = await submit(client, staff(settings), movement_body(fresh_county()))
    assert staff_unnamed.status_code == 422
    staff_named = await submit(
        client, staff(settings), movement_body(fresh_county(), ngo_id=str(ngo_id))
    )
    assert staff_named.status_code == 201
    assert staff_named.json()["ngo_id"] == str(ngo_id)
    field_unit = await submit(client, bearer(settings, "field_unit"), movement_body(fresh_county()))
    assert field_unit.status_code == 403


async def test_an_ngo_sees_only_its_own_notifications(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    own = (await submit(client, as_ngo(settings, mine), movement_body(fresh_county()))).json()
    other = (await submit(client, as_ngo(settings, theirs), movement_body(fresh_county()))).json()
    hidden = await client.get(
        f"/notifications/{other['notification_id']}", headers=as_ngo(settings, mine)
    )
    assert hidden.status_code == 404
    listed = (await client.get("/notifications", headers=as_ngo(settings, mine))).json()
    assert [n["notification_id"] for n in listed["items"]] == [own["notification_id"]]
    for action in ("cancel",):
        refused = await client.post(
            f"/notifications/{other['notification_id']}/{action}", headers=as_ngo(settings, mine)
        )
        assert refused.status_code == 404
    as_staff = await client.get(
        f"/notifications/{other['notification_id']}", headers=staff(settings)
    )
    assert as_staff.status_code == 200


async def test_the_mission_acknowledges_once(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    ngo_id = uuid.uuid4()
    created = (await submit(client, as_ngo(settings, ngo_id), movement_body(fresh_county()))).json()
    path = f"/notifications/{created['notification_id']}/acknowledge"
    by_ngo = await client.post(path, headers=as_ngo(settings, ngo_id))
    assert by_ngo.status_code == 403
    acknowledged = await client.post(path, headers=staff(settings))
    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "ops_centre:planner-amina"
    again = await client.post(path, headers=staff(settings))
    assert again.status_code == 409
    types = [e["type"] for e in await outbox_envelopes(app, created["notification_id"])]
    assert types == [PREFIX + "submitted.v1", PREFIX + "acknowledged.v1"]


async def test_an_escort_request_gets_a_decision_with_its_reason(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    body = movement_body(
        fresh_county(), escort_requested=True, escort_reason="armed groups reported on the road"
    )
    created = (await submit(client, as_ngo(settings, uuid.uuid4()), body)).json()
    assert created["escort_status"] == "requested"
    path = f"/notifications/{created['notification_id']}/escort"
    decided = await client.post(
        path,
        json={"approved": False, "reason": "no escort capacity that day"},
        headers=staff(settings),
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["escort_status"] == "declined"
    assert decided.json()["escort_reason"] == "no escort capacity that day"
    again = await client.post(
        path, json={"approved": True, "reason": "changed mind"}, headers=staff(settings)
    )
    assert again.status_code == 409
    envelope = (await outbox_envelopes(app, created["notification_id"]))[-1]
    assert envelope["type"] == PREFIX + "escort_decided.v1"


async def test_a_change_needs_if_match_and_a_cancelled_one_cannot_change(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo_id, county = uuid.uuid4(), fresh_county()
    headers = as_ngo(settings, ngo_id)
    created = (await submit(client, headers, movement_body(county))).json()
    path = f"/notifications/{created['notification_id']}"
    later = {
        "starts_at": iso(NOW + timedelta(days=3)),
        "ends_at": iso(NOW + timedelta(days=3, hours=5)),
    }
    assert (await client.patch(path, json=later, headers=headers)).status_code == 428
    changed = await client.patch(path, json=later, headers={**headers, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["starts_at"].startswith(later["starts_at"][:16])
    stale = await client.patch(path, json=later, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    backwards = await client.patch(
        path, json={"ends_at": iso(NOW)}, headers={**headers, "If-Match": '"2"'}
    )
    assert backwards.status_code == 422
    cancelled = await client.post(f"{path}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    refused = await client.patch(path, json=later, headers={**headers, "If-Match": '"3"'})
    assert refused.status_code == 409
