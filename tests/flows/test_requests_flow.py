"""Registry events → replica → request → offer → decline → second offer → accept → fulfil,
with every event observed on the real Kafka topics, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    eligibility_changed,
    ngo_state,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.events.envelope import CloudEvent
from shared.events.schemas.humanitarian_requests import (
    AID_REQUEST_TOPIC,
    OFFER_TOPIC,
    OPEN_REQUEST_TOPIC,
)
from shared.testing import bearer, read_events, serve_in_process
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

COUNTY = "SS0401"
PREFIX = "concord.humanitarian_requests."


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(offer_response_seconds=600, offer_sweep_interval_seconds=1.0)


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings)) as running:
        yield running


def _short(event: CloudEvent) -> str:
    return event.type.removeprefix(PREFIX).removesuffix(".v1")


async def test_request_flows_from_registry_events_to_fulfilment(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    # The registry announces two NGOs (the first not yet eligible), then makes it eligible.
    first = ngo_state(name="First", sector=Sector.logistics, pcodes=[COUNTY], eligible=False)
    second = ngo_state(name="Second", sector=Sector.logistics, pcodes=[COUNTY], near="SS0501")
    now_eligible = eligibility_changed(
        ngo_state(ngo_id=first.ngo_id, name="First", sector=Sector.logistics, pcodes=[COUNTY]),
        eligible=True,
        version=2,
    )
    await publish_registry_events(kafka_bootstrap, [first, second, now_eligible])
    await wait_for_replica(database_url, first.ngo_id, 2)
    await wait_for_replica(database_url, second.ngo_id, 1)

    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_first = bearer(settings, "ngo", ngo_id=first.ngo_id)
    as_second = bearer(settings, "ngo", ngo_id=second.ngo_id)
    request = await submit_triaged(
        client, aid_request_body(sector=Sector.logistics, pcode=COUNTY, client_id="flow-1"), as_unit
    )
    request_id = request["request_id"]
    assert request["status"] == "offered", request
    assert request["offered_ngo_id"] == str(first.ngo_id)

    declined = await client.post(
        f"/offers/{request['current_offer_id']}/decline", json={"reason": "busy"}, headers=as_first
    )
    assert declined.status_code == 200
    state = (await client.get(f"/aid-requests/{request_id}", headers=as_unit)).json()
    assert state["offered_ngo_id"] == str(second.ngo_id)
    accepted = await client.post(f"/offers/{state['current_offer_id']}/accept", headers=as_second)
    assert accepted.status_code == 200
    assert (await client.post(f"/aid-requests/{request_id}/start", headers=as_second)).is_success
    delivered = await client.post(
        f"/aid-requests/{request_id}/deliveries",
        json={"items": [{"item": "water", "delivered_quantity": 100}]},
        headers=as_second,
    )
    assert delivered.status_code == 200

    request_events = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(_short(e).endswith("fulfilled") for e in found),
    )
    assert [_short(e) for e in request_events] == [
        "aid_request.submitted",
        "aid_request.triaged",
        "aid_request.offered",
        "aid_request.offer_declined",
        "aid_request.offered",
        "aid_request.accepted",
        "aid_request.in_progress",
        "aid_request.fulfilled",
    ]
    assert [e.data["version"] for e in request_events] == list(range(1, 9))
    assert request_events[2].data["offered_ngo_id"] == str(first.ngo_id)
    assert request_events[4].data["offered_ngo_id"] == str(second.ngo_id)
    assert request_events[-1].data["assigned_ngo_id"] == str(second.ngo_id)
    assert request_events[-1].data["fulfilment"] == "full"
    assert request_events[-1].data["accepted_at"] and request_events[-1].data["fulfilled_at"]

    offer_events = await read_events(
        kafka_bootstrap,
        [OFFER_TOPIC.name],
        where=lambda e: e.data.get("request_id") == request_id,
        until=lambda found: any(_short(e) == "offer.accepted" for e in found),
    )
    by_offer: dict[str, list[str]] = {}
    for event in offer_events:
        by_offer.setdefault(event.data["ngo_id"], []).append(_short(event))
    assert by_offer == {
        str(first.ngo_id): ["offer.made", "offer.declined"],
        str(second.ngo_id): ["offer.made", "offer.accepted"],
    }

    listing = await read_events(
        kafka_bootstrap,
        [OPEN_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(_short(e) == "open_request.closed" for e in found),
    )
    kinds = [_short(e) for e in listing]
    assert kinds[0] == "open_request.opened" and kinds[-1] == "open_request.closed"
    assert all("lat" not in e.data and "description" not in e.data for e in listing)
