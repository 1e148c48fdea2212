"""Deconfliction: notifications against live operations and recent security incidents, and
the re-checks a changed operation or a new incident triggers. What the NGO is told never
names the operation or the incident's type or details."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.tests.helpers import (
    NOW,
    as_ngo,
    create_live_operation,
    create_operation,
    fresh_county,
    incident_reported,
    incident_state,
    iso,
    move,
    movement_body,
    ngo_state,
    outbox_envelopes,
    point_of,
    registry_says,
    site_body,
    staff,
)
from shared.events.schemas.humanitarian_requests import IncidentUpdated
from shared.gazetteer import gazetteer

pytestmark = pytest.mark.integration

FLAGGED = "concord.joint_planning.notification.conflict_flagged.v1"
CLEARED = "concord.joint_planning.notification.conflict_cleared.v1"
START = NOW + timedelta(days=2)


def window(hours_from: float, hours_to: float) -> dict[str, str]:
    return {
        "starts_at": iso(START + timedelta(hours=hours_from)),
        "ends_at": iso(START + timedelta(hours=hours_to)),
    }


async def notify(
    client: httpx.AsyncClient, settings: Settings, ngo_id: uuid.UUID, body: dict[str, Any]
) -> dict[str, Any]:
    created = await client.post("/notifications", json=body, headers=as_ngo(settings, ngo_id))
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def seen_by(
    client: httpx.AsyncClient, headers: dict[str, str], notification: dict[str, Any]
) -> dict[str, Any]:
    response = await client.get(
        f"/notifications/{notification['notification_id']}", headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def open_conflicts(notification: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in notification["conflicts"] if c["cleared_at"] is None]


async def test_a_live_operation_in_the_same_place_and_time_conflicts(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county, ngo_id = fresh_county(), uuid.uuid4()
    operation = await create_live_operation(
        client, settings, areas=[county], **window(2, 8), title="Cordon and search, secret"
    )
    notification = await notify(
        client, settings, ngo_id, movement_body(county, starts_at=START, hours=6)
    )
    (conflict,) = notification["conflicts"]
    name = gazetteer().areas[county].name
    start, end = START + timedelta(hours=2), START + timedelta(hours=6)
    if start.date() == end.date():
        between = f"between {start:%H:%M} and {end:%H:%M} UTC on {start:%Y-%m-%d}"
    else:
        between = f"between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC"
    assert conflict["notice"] == (
        f"A mission activity conflicts with your movement {between} near {name}"
    )
    assert conflict["source"] == "mission_activity"
    assert "source_id" not in conflict
    assert "Cordon" not in str(notification)
    as_staff = await seen_by(client, staff(settings), notification)
    assert as_staff["conflicts"][0]["source_id"] == operation["operation_id"]
    envelope = (await outbox_envelopes(app, notification["notification_id"]))[-1]
    assert envelope["type"] == FLAGGED
    assert envelope["data"]["notice"] == conflict["notice"]


async def test_no_overlap_in_time_or_place_is_no_conflict(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    county, elsewhere = fresh_county(), fresh_county()
    await create_live_operation(client, settings, areas=[county], **window(10, 20))
    await create_live_operation(client, settings, areas=[elsewhere], **window(0, 6))
    later = await notify(
        client, settings, uuid.uuid4(), movement_body(county, starts_at=START, hours=6)
    )
    assert later["conflicts"] == []


async def test_a_draft_conflicts_only_once_it_is_planned_and_stops_when_cancelled(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county = fresh_county()
    operation = await create_operation(client, settings, areas=[county], **window(0, 24))
    notification = await notify(client, settings, uuid.uuid4(), site_body(county, **window(1, 30)))
    assert notification["conflicts"] == []
    operation = (await move(client, settings, operation, "planned")).json()
    flagged = await seen_by(client, staff(settings), notification)
    assert [c["source_id"] for c in open_conflicts(flagged)] == [operation["operation_id"]]
    assert flagged["conflicts"][0]["notice"].startswith(
        "A mission activity conflicts with your site"
    )
    await move(client, settings, operation, "cancelled")
    cleared = await seen_by(client, staff(settings), notification)
    assert open_conflicts(cleared) == []
    types = [e["type"] for e in await outbox_envelopes(app, notification["notification_id"])]
    assert types[-2:] == [FLAGGED, CLEARED]


async def test_an_operation_over_the_state_covers_its_counties(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    county = fresh_county()
    state = gazetteer().admin1(county)
    far = NOW + timedelta(days=400)  # a time no other test uses: the state holds other tests
    await create_live_operation(
        client,
        settings,
        areas=[state],
        starts_at=iso(far),
        ends_at=iso(far + timedelta(days=1)),
    )
    notification = await notify(
        client, settings, uuid.uuid4(), movement_body(county, starts_at=far + timedelta(hours=3))
    )
    assert len(notification["conflicts"]) == 1
    assert notification["conflicts"][0]["near_pcode"] == county


async def test_moving_an_operation_away_clears_and_moving_it_back_flags(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    county, elsewhere = fresh_county(), fresh_county()
    operation = await create_live_operation(client, settings, areas=[county], **window(0, 24))
    notification = await notify(
        client, settings, uuid.uuid4(), movement_body(county, starts_at=START)
    )
    assert len(open_conflicts(notification)) == 1
    path = f"/operations/{operation['operation_id']}"
    moved = await client.patch(
        path, json={"areas": [elsewhere]}, headers={**staff(settings), "If-Match": '"2"'}
    )
    assert moved.status_code == 200, moved.text
    assert open_conflicts(await seen_by(client, staff(settings), notification)) == []
    back = await client.patch(
        path, json={"areas": [county]}, headers={**staff(settings), "If-Match": '"3"'}
    )
    assert back.status_code == 200
    assert len(open_conflicts(await seen_by(client, staff(settings), notification))) == 1


async def test_an_operation_the_ngo_takes_part_in_does_not_conflict(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county = fresh_county()
    ngo = ngo_state(pcodes=[county])
    await registry_says(app, kafka_bootstrap, ngo)
    participant = {"kind": "ngo", "ngo_id": str(ngo.ngo_id), "role": "implementing"}
    lead = {"kind": "mission_component", "component": "civil_affairs", "name": "CA", "role": "lead"}
    await create_live_operation(
        client, settings, areas=[county], participants=[lead, participant], **window(0, 24)
    )
    notification = await notify(
        client, settings, ngo.ngo_id, movement_body(county, starts_at=START)
    )
    assert notification["conflicts"] == []


async def test_an_incident_near_the_route_flags_it_without_its_details(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county, ngo_id = fresh_county(), uuid.uuid4()
    notification = await notify(client, settings, ngo_id, movement_body(county, starts_at=START))
    assert notification["conflicts"] == []
    near = point_of(county, d_lat=0.02, d_lon=0.02)  # ~2 km beside the route
    incident = incident_state(lat=near["lat"], lon=near["lon"])
    await incident_reported(app, kafka_bootstrap, incident)

    seen = await seen_by(client, as_ngo(settings, ngo_id), notification)
    (conflict,) = seen["conflicts"]
    assert conflict["source"] == "security_incident"
    assert conflict["notice"].startswith("A security incident was reported near your movement at")
    assert 1.0 <= conflict["distance_km"] <= 3.0
    assert conflict["reported_at"].startswith(incident.occurred_at.isoformat()[:16])
    for secret in ("sgbv", "Survivor", "restricted", "high", str(incident.incident_id)):
        assert secret not in str(seen)
    envelope = (await outbox_envelopes(app, notification["notification_id"]))[-1]
    assert envelope["type"] == FLAGGED
    assert "sgbv" not in str(envelope) and "Survivor" not in str(envelope)
    as_staff = await seen_by(client, staff(settings), notification)
    assert as_staff["conflicts"][0]["source_id"] == str(incident.incident_id)


async def test_an_incident_reported_earlier_flags_a_new_notification_at_once(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county = fresh_county()
    near = point_of(county, d_lat=0.01)
    await incident_reported(app, kafka_bootstrap, incident_state(lat=near["lat"], lon=near["lon"]))
    notification = await notify(client, settings, uuid.uuid4(), site_body(county, **window(0, 5)))
    assert [c["source"] for c in notification["conflicts"]] == ["security_incident"]
    assert notification["conflicts"][0]["notice"].startswith(
        "A security incident was reported near your site"
    )


async def test_a_far_or_old_incident_does_not_flag(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county = fresh_county()
    notification = await notify(
        client, settings, uuid.uuid4(), movement_body(county, starts_at=START)
    )
    # Beyond the 15 km radius: in a shared test state, which every planning county is at
    # least 55 km from (a point a fixed distance off this county could near another test's).
    far = point_of("SS0101")
    old = point_of(county, d_lon=0.01)
    await incident_reported(
        app,
        kafka_bootstrap,
        incident_state(lat=far["lat"], lon=far["lon"]),
        incident_state(
            lat=old["lat"], lon=old["lon"], occurred_at=datetime.now(UTC) - timedelta(days=10)
        ),
    )
    assert (await seen_by(client, staff(settings), notification))["conflicts"] == []


async def test_an_incident_marked_a_duplicate_clears_its_conflict(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county = fresh_county()
    notification = await notify(
        client, settings, uuid.uuid4(), movement_body(county, starts_at=START)
    )
    near = point_of(county, d_lat=0.02)
    first = incident_state(lat=near["lat"], lon=near["lon"])
    second = incident_state(lat=near["lat"], lon=near["lon"] + 0.001)
    await incident_reported(app, kafka_bootstrap, first, second)
    assert len(open_conflicts(await seen_by(client, staff(settings), notification))) == 2
    duplicate = IncidentUpdated(
        **{**second.model_dump(), "duplicate_of": first.incident_id, "version": 2},
        change="linked as duplicate",
        actor="system",
    )
    await incident_reported(app, kafka_bootstrap, duplicate)
    remaining = open_conflicts(await seen_by(client, staff(settings), notification))
    assert [c["source_id"] for c in remaining] == [str(first.incident_id)]


async def test_cancelling_a_notification_clears_its_conflicts(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county, ngo_id = fresh_county(), uuid.uuid4()
    await create_live_operation(client, settings, areas=[county], **window(0, 24))
    notification = await notify(client, settings, ngo_id, movement_body(county, starts_at=START))
    assert len(notification["conflicts"]) == 1
    cancelled = await client.post(
        f"/notifications/{notification['notification_id']}/cancel", headers=as_ngo(settings, ngo_id)
    )
    assert open_conflicts(cancelled.json()) == []
    types = [e["type"] for e in await outbox_envelopes(app, notification["notification_id"])]
    assert types[-2:] == ["concord.joint_planning.notification.cancelled.v1", CLEARED]


@pytest.mark.parametrize("attempt", range(3))
async def test_a_submission_racing_an_operation_being_planned_is_still_flagged(
    client: httpx.AsyncClient, settings: Settings, attempt: int
) -> None:
    """Each side's check reads only what was committed before it; the place locks make the
    one that commits second see the other, whichever it is."""
    county = fresh_county()
    operation = await create_operation(client, settings, areas=[county], **window(0, 24))
    planned, submitted = await asyncio.gather(
        move(client, settings, operation, "planned"),
        client.post(
            "/notifications",
            json=movement_body(county, starts_at=START),
            headers=as_ngo(settings, uuid.uuid4()),
        ),
    )
    assert planned.status_code == 200 and submitted.status_code == 201, submitted.text
    notification = await seen_by(client, staff(settings), submitted.json())
    assert [c["source_id"] for c in open_conflicts(notification)] == [operation["operation_id"]]
