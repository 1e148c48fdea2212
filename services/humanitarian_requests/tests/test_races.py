"""Races: concurrent answers to one offer, concurrent duplicates of one client id."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    ngo_state,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def test_concurrent_accept_and_decline_get_one_outcome(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    ngo = ngo_state(name="Racer", sector=Sector.ddr, pcodes=["SS0701"])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ngo = bearer(settings, "ngo", ngo_id=ngo.ngo_id)
    request = await submit_triaged(
        client, aid_request_body(sector=Sector.ddr, pcode="SS0701"), as_unit
    )
    assert request["status"] == "offered", request
    offer = request["current_offer_id"]
    answers = await asyncio.gather(
        client.post(f"/offers/{offer}/accept", headers=as_ngo),
        client.post(f"/offers/{offer}/decline", json={"reason": "no"}, headers=as_ngo),
        client.post(f"/offers/{offer}/accept", headers=as_ngo),
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    statuses = await fetch(
        database_url,
        "SELECT status FROM humanitarian_requests.offers WHERE request_id = :r",
        r=request["request_id"],
    )
    assert len(statuses) == 1 and statuses[0][0] in ("accepted", "declined")


async def test_concurrent_submissions_of_one_client_id_create_one_request(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit)
    body = aid_request_body(pcode="SS0702", client_id="same-report")
    answers = await asyncio.gather(
        *(client.post("/aid-requests", json=body, headers=as_unit) for _ in range(8))
    )
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["request_id"] for a in answers}) == 1
    stored = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u",
        u=unit,
    )
    assert stored[0][0] == 1


async def test_incident_duplicates_link_and_ops_unlink(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ops = bearer(settings, "ops_centre")
    spot = {"lat": 7.7821, "lon": 33.0234}  # Jonglei: a shared test state
    body = {
        "incident_type": "explosive_hazard",
        "severity": "high",
        "occurred_at": "2026-11-28T08:00:00Z",
        "location": spot,
        "description": "UXO by the road",
    }
    first = (await client.post("/incidents", json=body, headers=as_unit)).json()
    assert first["sensitivity"] == "internal"
    second = (
        await client.post(
            "/incidents", json={**body, "location": {**spot, "lon": 33.0334}}, headers=as_unit
        )
    ).json()
    assert second["duplicate_of"] == first["incident_id"]
    unlinked = await client.post(
        f"/incidents/{second['incident_id']}/link",
        json={"duplicate_of": None, "reason": "two devices"},
        headers=as_ops,
    )
    assert unlinked.status_code == 200 and unlinked.json()["duplicate_of"] is None
    not_ops = await client.post(
        f"/incidents/{second['incident_id']}/link",
        json={"duplicate_of": None, "reason": "x"},
        headers=as_unit,
    )
    assert not_ops.status_code == 403
    history = (
        await client.get(f"/incidents/{second['incident_id']}/history", headers=as_unit)
    ).json()
    assert [h["event_type"].split(".")[-2] for h in history] == ["reported", "updated", "updated"]
