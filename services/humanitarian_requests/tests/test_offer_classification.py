"""Offers carry a classification: their request's, at creation and after a reclassification
(the row, the staff view and the offer events), and what an NGO reads of an offer it holds
for a restricted request is the need-to-know summary, never the request's details."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from alembic import command

from deploy.services import SERVICES
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
from shared.events.schemas.humanitarian_requests import OFFER_TOPIC
from shared.migrations import alembic_config
from shared.testing import bearer, read_events
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

# No other test grants these counties: every offer below goes to the NGO made here.
INTERNAL_COUNTY, RESTRICTED_COUNTY, MIGRATED_COUNTY = "SS0901", "SS0902", "SS0903"
PLANTED = "Planted-Offer-Detail Nyandeng"


async def _offered(
    client: httpx.AsyncClient,
    settings: Settings,
    kafka_bootstrap: str,
    database_url: str,
    *,
    sector: Sector,
    county: str,
) -> tuple[uuid.UUID, dict[str, Any]]:
    ngo = ngo_state(name=f"Classified {county}", sector=sector, pcodes=[county])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    request = await submit_triaged(
        client,
        aid_request_body(
            sector=sector,
            pcode=county,
            description=f"{PLANTED} at the school",
            contact=f"{PLANTED} +211 900 000 111",
            items=[{"item": f"kits for {PLANTED}", "quantity": 5, "unit": "kits"}],
        ),
        bearer(settings, "field_unit", unit_id=unique_unit()),
    )
    assert request["status"] == "offered", request
    assert request["offered_ngo_id"] == str(ngo.ngo_id)
    return ngo.ngo_id, request


async def _offer_events(
    kafka_bootstrap: str, offer_id: str, *, until_type: str
) -> list[dict[str, Any]]:
    found = await read_events(
        kafka_bootstrap,
        [OFFER_TOPIC.name],
        where=lambda e: e.subject == offer_id,
        until=lambda events: any(e.type.endswith(until_type) for e in events),
    )
    return [dict(e.data) | {"_type": e.type} for e in found]


async def _stored_class(database_url: str, offer_id: str) -> str:
    (row,) = await fetch(
        database_url,
        "SELECT sensitivity FROM humanitarian_requests.offers WHERE id = :id",
        id=offer_id,
    )
    return str(row[0])


async def test_an_offer_has_its_requests_class_and_follows_a_reclassification(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    ngo_id, request = await _offered(
        client,
        settings,
        kafka_bootstrap,
        database_url,
        sector=Sector.human_rights,
        county=INTERNAL_COUNTY,
    )
    assert request["sensitivity"] == "internal"
    offer_id = request["current_offer_id"]
    as_ops = bearer(settings, "ops_centre")
    as_ngo = bearer(settings, "ngo", ngo_id=ngo_id)

    staff = await client.get(f"/offers/{offer_id}", headers=as_ops)
    assert staff.status_code == 200, staff.text
    assert staff.json()["sensitivity"] == "internal"
    assert "ranking" in staff.json()  # the staff view
    (made,) = await _offer_events(kafka_bootstrap, offer_id, until_type="made.v1")
    assert made["sensitivity"] == "internal"
    assert await _stored_class(database_url, offer_id) == "internal"

    reclassified = await client.post(
        f"/aid-requests/{request['request_id']}/classification",
        json={"sensitivity": "restricted", "reason": "Caseworker: the families host survivors"},
        headers=bearer(settings, "protection_officer"),
    )
    assert reclassified.status_code == 200, reclassified.text
    # In the reclassification's transaction: stored, served and published at once (the
    # offer's own event, which its NGO's webhook also receives), as the coarse summary.
    assert await _stored_class(database_url, offer_id) == "restricted"
    *_, moved = await _offer_events(kafka_bootstrap, offer_id, until_type="reclassified.v1")
    assert moved["_type"] == "concord.humanitarian_requests.offer.reclassified.v1"
    assert (moved["sensitivity"], moved["previous_sensitivity"]) == ("restricted", "internal")
    assert moved["version"] == made["version"] + 1 and moved["status"] == "pending"
    assert moved["request"]["details_withheld"] is True and PLANTED not in str(moved)
    listed = await client.get(
        "/offers", params={"request_id": request["request_id"]}, headers=as_ops
    )
    assert listed.status_code == 200, listed.text
    assert [o["sensitivity"] for o in listed.json()] == ["restricted"]

    # The NGO still reads the offer made to it, now as the restricted summary only.
    held = await client.get(f"/offers/{offer_id}", headers=as_ngo)
    assert held.status_code == 200, held.text
    view = held.json()
    assert view["sensitivity"] == "restricted"
    assert view["request"]["details_withheld"] is True
    assert view["request"]["pcode"] == "SS09"  # the state, not the county
    assert "ranking" not in view
    assert PLANTED not in held.text

    declined = await client.post(f"/offers/{offer_id}/decline", json={}, headers=as_ngo)
    assert declined.status_code == 200, declined.text
    events = await _offer_events(kafka_bootstrap, offer_id, until_type="declined.v1")
    assert [e["sensitivity"] for e in events] == ["internal", "restricted", "restricted"]
    assert events[-1]["request"]["details_withheld"] is True
    assert all(PLANTED not in str(e) for e in events)


async def test_an_offer_of_a_restricted_request_is_restricted_from_the_start(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    ngo_id, request = await _offered(
        client, settings, kafka_bootstrap, database_url, sector=Sector.gbv, county=RESTRICTED_COUNTY
    )
    # The reporter said internal; the GBV sector raises it, and the offer follows.
    assert request["sensitivity"] == "restricted"
    offer_id = request["current_offer_id"]
    assert await _stored_class(database_url, offer_id) == "restricted"
    (made,) = await _offer_events(kafka_bootstrap, offer_id, until_type="made.v1")
    assert made["sensitivity"] == "restricted"
    assert made["request"]["details_withheld"] is True
    assert PLANTED not in str(made)

    own = await client.get("/offers", headers=bearer(settings, "ngo", ngo_id=ngo_id))
    assert own.status_code == 200, own.text
    (offer,) = own.json()
    assert offer["offer_id"] == offer_id and offer["sensitivity"] == "restricted"
    assert offer["request"]["details_withheld"] is True
    assert PLANTED not in own.text
    # Another NGO reads nothing of it.
    other = await client.get(
        f"/offers/{offer_id}", headers=bearer(settings, "ngo", ngo_id=uuid.uuid4())
    )
    assert other.status_code == 404


async def test_migration_0008_gives_each_stored_offer_its_requests_class(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    """Offers made before the column existed get their request's class from the backfill."""
    _, request = await _offered(
        client, settings, kafka_bootstrap, database_url, sector=Sector.gbv, county=MIGRATED_COUNTY
    )
    offer_id = request["current_offer_id"]
    (spec,) = [s for s in SERVICES if s.name == "humanitarian_requests"]
    config = alembic_config(settings, spec.migrations_dir)
    await asyncio.to_thread(command.downgrade, config, "0007")
    try:
        columns = await fetch(
            database_url,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'humanitarian_requests' AND table_name = 'offers'",
        )
        assert "sensitivity" not in {c[0] for c in columns}
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")
    assert await _stored_class(database_url, offer_id) == "restricted"
    mismatched = await fetch(
        database_url,
        "SELECT o.id FROM humanitarian_requests.offers AS o "
        "JOIN humanitarian_requests.aid_requests AS r ON r.id = o.request_id "
        "WHERE o.sensitivity IS DISTINCT FROM r.sensitivity",
    )
    assert mismatched == []
