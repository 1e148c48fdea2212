"""Restricted data never reaches NGOs: scan every NGO-readable topic and every NGO API answer.

A restricted GBV request (and an SGBV incident) carry marker strings in their description and
contact, and exact coordinates. The internal topic must carry them (so the scan can fail);
the NGO topics and the NGO's API responses must not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    incident_body,
    ngo_state,
    publish_registry_events,
    submit_triaged,
    triaged,
    unique_unit,
    wait_for_replica,
)
from shared.events.catalog import Audience
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC, OFFER_TOPIC
from shared.testing import bearer, read_events, serve_in_process
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

NGO_TOPICS = sorted(t.name for t in CATALOG.topics() if t.audience is Audience.ngo)
STATE = "SS06"
COUNTY = "SS0601"


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(offer_response_seconds=600, offer_sweep_interval_seconds=1.0)


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings)) as running:
        yield running


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_restricted_data_never_reaches_ngos(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    ngo = ngo_state(name="GBV partner", sector=Sector.gbv, pcodes=[STATE])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    marker = uuid.uuid4().hex
    secrets = [f"survivor-{marker}", f"contact-{marker}", "7.21234", "31.98765"]
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ngo = bearer(settings, "ngo", ngo_id=ngo.ngo_id)

    request = await submit_triaged(
        client,
        aid_request_body(
            sector=Sector.gbv,
            sensitivity="restricted",
            description=f"Case of survivor-{marker}, staying with relatives",
            contact=f"contact-{marker}",
            location={"lat": 7.21234, "lon": 31.98765, "pcode": COUNTY},
        ),
        as_unit,
    )
    assert request["status"] == "offered", request
    assert request["offered_ngo_id"] == str(ngo.ngo_id)
    # A GBV request the reporter labelled public is raised to restricted (the derived
    # minimum), and the response says so; a public water request is listed for NGOs.
    lowered = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=Sector.gbv, pcode="SS0602", sensitivity="public"),
        headers=as_unit,
    )
    assert lowered.status_code == 201
    assert lowered.json()["status"] == "submitted"
    assert lowered.json()["sensitivity"] == "restricted"
    assert lowered.json()["sensitivity_raised_from"] == "public"
    public = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=Sector.wash, pcode="SS0602", sensitivity="public"),
        headers=as_unit,
    )
    assert public.status_code == 201
    assert public.json()["status"] == "submitted"
    assert public.json()["sensitivity"] == "public"
    # Both are triaged (and the public one listed for NGOs) before the topics are scanned.
    await triaged(client, lowered.json()["request_id"], as_unit)
    await triaged(client, public.json()["request_id"], as_unit)
    incident = await client.post(
        "/incidents",
        json=incident_body(
            description=f"survivor-{marker}",
            location={"lat": 7.21234, "lon": 31.98765, "pcode": COUNTY},
        ),
        headers=as_unit,
    )
    assert incident.json()["sensitivity"] == "restricted"

    # Everything an NGO can ask the API, including answering and delivering.
    seen: list[httpx.Response] = [
        await client.get("/aid-requests", headers=as_ngo),
        await client.get(f"/aid-requests/{request['request_id']}", headers=as_ngo),
        await client.get("/offers", headers=as_ngo),
        await client.get(f"/offers/{request['current_offer_id']}", headers=as_ngo),
        await client.post(f"/offers/{request['current_offer_id']}/accept", headers=as_ngo),
        await client.post(f"/aid-requests/{request['request_id']}/start", headers=as_ngo),
        await client.post(
            f"/aid-requests/{request['request_id']}/deliveries",
            json={"items": [{"item": "water", "delivered_quantity": 10}], "final": True},
            headers=as_ngo,
        ),
        await client.get(f"/aid-requests/{request['request_id']}", headers=as_ngo),
    ]
    assert all(r.status_code == 200 for r in seen), [(r.status_code, r.text) for r in seen]
    assert (await client.get("/incidents", headers=as_ngo)).status_code == 403
    assert (
        await client.get(f"/aid-requests/{request['request_id']}/history", headers=as_ngo)
    ).status_code == 403  # the history is staff's and the reporter's: no NGO role may read it
    for response in seen:
        for secret in secrets:
            assert secret not in response.text, (secret, response.request.url, response.text)
        assert not _keys(response.json()) & {
            "lat",
            "lon",
            "description",
            "contact",
            "reporting_unit",
        }
    assert seen[1].json()["details_withheld"] is True and seen[1].json()["pcode"] == STATE

    # The internal topic has the details (the scan below could fail) ...
    internal = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request["request_id"],
        until=lambda found: any(e.type.endswith("fulfilled.v1") for e in found),
    )
    assert f"survivor-{marker}" in json.dumps(internal[0].data)

    # The offer is on the internal offer topic (addressed to one NGO, no NGO reads it); once
    # its acceptance is on Kafka, the relay has published everything written before it ...
    await read_events(
        kafka_bootstrap,
        [OFFER_TOPIC.name],
        where=lambda e: e.data.get("request_id") == request["request_id"],
        until=lambda found: any(e.type.endswith("offer.accepted.v1") for e in found),
    )
    assert OFFER_TOPIC.name not in NGO_TOPICS
    # ... and no NGO-readable topic has any of the restricted details.
    on_ngo_topics = await read_events(
        kafka_bootstrap,
        NGO_TOPICS,
        until=lambda found: any(
            e.data.get("request_id") == public.json()["request_id"] for e in found
        ),
    )
    for event in on_ngo_topics:
        raw = event.model_dump_json()
        assert event.data.get("sensitivity") != "restricted", event.type
        for secret in secrets:
            assert secret not in raw, (secret, event.type)
        # A restricted request is on no NGO topic at all (not listed, and its offer internal).
        assert event.data.get("request_id") not in (
            request["request_id"],
            lowered.json()["request_id"],
        ), event.type
