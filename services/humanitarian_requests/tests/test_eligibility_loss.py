"""An NGO that loses eligibility while it holds a pending offer must not keep (or accept) it."""

from __future__ import annotations

import httpx
import pytest

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
from shared.testing import bearer, problem_of
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

SECTOR = Sector.rule_of_law  # no other test grants this sector: the ranking is ours alone
COUNTY = "SS0404"


async def test_losing_eligibility_withdraws_the_pending_offer_and_moves_on(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    first = ngo_state(name="Loses its agreement", sector=SECTOR, pcodes=[COUNTY])
    await publish_registry_events(kafka_bootstrap, [first])
    await wait_for_replica(database_url, first.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    created = await submit_triaged(client, aid_request_body(sector=SECTOR, pcode=COUNTY), as_unit)
    assert created["offered_ngo_id"] == str(first.ngo_id)
    offer_id, request_id = created["current_offer_id"], created["request_id"]

    second = ngo_state(name="Still eligible", sector=SECTOR, pcodes=[COUNTY])
    await publish_registry_events(kafka_bootstrap, [second])
    await wait_for_replica(database_url, second.ngo_id, 1)
    await publish_registry_events(
        kafka_bootstrap, [eligibility_changed(first, eligible=False, version=2)]
    )
    await wait_for_replica(database_url, first.ngo_id, 2)

    accepted = await client.post(
        f"/offers/{offer_id}/accept", headers=bearer(settings, "ngo", ngo_id=first.ngo_id)
    )
    assert accepted.status_code == 409, accepted.text
    assert problem_of(accepted)["status"] == 409
    assert problem_of(accepted)["type"].endswith("/offer-already-answered")
    assert problem_of(accepted)["offer_status"] == "withdrawn"

    ops = bearer(settings, "ops_centre")
    offer = (await client.get(f"/offers/{offer_id}", headers=ops)).json()
    assert offer["status"] == "withdrawn"
    request = (await client.get(f"/aid-requests/{request_id}", headers=ops)).json()
    assert request["status"] == "offered"
    assert request["offered_ngo_id"] == str(second.ngo_id)
    history = (await client.get(f"/aid-requests/{request_id}/history", headers=ops)).json()
    types = [h["event_type"].split(".")[-2] for h in history]
    assert types[-2:] == ["withdrawn", "offered"] or types[-3:-1] == ["withdrawn", "offered"]

    # The last eligible NGO loses its agreement too: nobody is left, so the request is
    # escalated, and no longer names an offer or an NGO it is offered to.
    second_offer = request["current_offer_id"]
    revoked = eligibility_changed(second, eligible=False, version=2)
    await publish_registry_events(kafka_bootstrap, [revoked])
    await wait_for_replica(database_url, second.ngo_id, 2)
    request = (await client.get(f"/aid-requests/{request_id}", headers=ops)).json()
    assert request["status"] == "escalated"
    assert (request["current_offer_id"], request["offered_ngo_id"]) == (None, None)
    assert request["offer_deadline"] is None
    offer = (await client.get(f"/offers/{second_offer}", headers=ops)).json()
    assert offer["status"] == "withdrawn"
