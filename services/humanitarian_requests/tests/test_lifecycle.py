"""An aid request from intake to closure against the real stack, over HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    ngo_state,
    publish_registry_events,
    triaged,
    unique_unit,
    wait_for_replica,
)
from shared.testing import bearer, problem_of
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

COUNTY = "SS0102"  # Kajo-Keji: no other test grants emergency telecoms here


async def _two_ngos(kafka_bootstrap: str, database_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    near = ngo_state(name="Near", sector=Sector.emergency_telecoms, pcodes=[COUNTY])
    far = ngo_state(name="Far", sector=Sector.emergency_telecoms, pcodes=[COUNTY], near="SS0301")
    await publish_registry_events(kafka_bootstrap, [near, far])
    await wait_for_replica(database_url, near.ngo_id, 1)
    await wait_for_replica(database_url, far.ngo_id, 1)
    return near.ngo_id, far.ngo_id


async def test_request_goes_through_the_whole_lifecycle(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    near, far = await _two_ngos(kafka_bootstrap, database_url)
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit)
    as_near = bearer(settings, "ngo", ngo_id=near)
    as_far = bearer(settings, "ngo", ngo_id=far)
    as_ops = bearer(settings, "ops_centre")

    created = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=Sector.emergency_telecoms, pcode=COUNTY, client_id="lc-1"),
        headers=as_unit,
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "submitted"
    request_id = created.json()["request_id"]
    request = await triaged(client, request_id, as_unit)
    assert request["status"] == "offered"
    assert request["offered_ngo_id"] == str(near)
    assert request["priority_score"] > 0
    assert request["triaged_at"] and request["offered_at"]

    offers = (await client.get("/offers", headers=as_near)).json()
    first = next(o for o in offers if o["request_id"] == request_id)
    assert first["rank"] == 1 and first["explanation"]
    assert "description" not in first["request"] and "contact" not in first["request"]

    foreign = await client.post(f"/offers/{first['offer_id']}/accept", headers=as_far)
    # Another NGO's offer is a 404, exactly like one that does not exist: never a 409.
    assert foreign.status_code == 404
    assert problem_of(foreign)["detail"] == f"No offer {first['offer_id']}"
    assert problem_of(foreign)["type"].endswith("/offer-not-found")
    assert (await client.get(f"/offers/{first['offer_id']}", headers=as_far)).status_code == 404

    declined = await client.post(
        f"/offers/{first['offer_id']}/decline", json={"reason": "no trucks"}, headers=as_near
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"

    late = await client.post(f"/offers/{first['offer_id']}/accept", headers=as_near)
    assert late.status_code == 409
    assert problem_of(late)["type"].endswith("/offer-already-answered")

    current = (await client.get(f"/aid-requests/{request_id}", headers=as_unit)).json()
    assert current["status"] == "offered" and current["offered_ngo_id"] == str(far)
    second = current["current_offer_id"]
    accepted = await client.post(f"/offers/{second}/accept", headers=as_far)
    assert accepted.status_code == 200, accepted.text

    started = await client.post(f"/aid-requests/{request_id}/start", headers=as_far)
    assert started.status_code == 200, started.text
    assert started.json()["assigned_to_you"] is True
    not_theirs = await client.post(f"/aid-requests/{request_id}/start", headers=as_near)
    assert not_theirs.status_code == 404
    assert problem_of(not_theirs)["type"].endswith("/aid-request-not-found")
    # The NGO that declined saw the request while its offer stood; now that it is another
    # NGO's assignment, it is a 404 to it, not visible for good.
    gone = await client.get(f"/aid-requests/{request_id}", headers=as_near)
    assert gone.status_code == 404, gone.text

    partial = await client.post(
        f"/aid-requests/{request_id}/deliveries",
        json={"items": [{"item": "water", "delivered_quantity": 40}]},
        headers=as_far,
    )
    assert partial.status_code == 200, partial.text
    state = (await client.get(f"/aid-requests/{request_id}", headers=as_ops)).json()
    assert state["status"] == "in_progress" and state["fulfilment"] == "partial"
    assert state["items"][0]["delivered_quantity"] == 40

    unknown_item = await client.post(
        f"/aid-requests/{request_id}/deliveries",
        json={"items": [{"item": "rice", "delivered_quantity": 1}]},
        headers=as_far,
    )
    assert unknown_item.status_code == 422
    # The names the NGO reads (the vocabulary's labels), never the reporter's text.
    assert problem_of(unknown_item)["allowed"] == ["Drinking water"]
    assert problem_of(unknown_item)["type"].endswith("/unknown-delivery-items")

    full = await client.post(
        f"/aid-requests/{request_id}/deliveries",
        json={"items": [{"item": "water", "delivered_quantity": 60}]},
        headers=as_far,
    )
    assert full.status_code == 200
    closed = await client.post(f"/aid-requests/{request_id}/close", headers=as_ops)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["fulfilment"] == "full"

    for path, body in [("cancel", {"reason": "too late"}), ("close", None)]:
        terminal = await client.post(
            f"/aid-requests/{request_id}/{path}", json=body, headers=as_ops
        )
        assert terminal.status_code == 409, (path, terminal.text)
        assert problem_of(terminal)["status"] == 409
        assert problem_of(terminal)["type"].endswith("/aid-request-transition-not-allowed")

    history = (await client.get(f"/aid-requests/{request_id}/history", headers=as_unit)).json()
    types = [h["event_type"].split(".")[-2] for h in history]
    assert types == [
        "submitted",
        "triaged",
        "offered",
        "made",
        "offer_declined",
        "declined",
        "offered",
        "made",
        "accepted",
        "accepted",
        "in_progress",
        "partially_fulfilled",
        "fulfilled",
        "closed",
    ]
    assert [
        h["version"]
        for h in history
        if h["event_type"].startswith("concord.humanitarian_requests.aid_request")
    ] == list(range(1, 11))
