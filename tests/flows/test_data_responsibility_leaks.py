"""Leak scan: after a flow with restricted incidents and GBV requests carrying planted names,
descriptions, contacts and exact coordinates, nothing planted appears on any NGO-readable
topic or in any NGO-role API response, nor in what an ops centre without the grant sees. The
positive control runs the same scan over the internal topics and a protection officer's
responses and must find every plant, so the scan can fail.

The same scan reads the service's log lines of the flow (as its handler renders them, the
scrubber of `shared.logscrub` included), with its own positive control.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    incident_body,
    ngo_state,
    point_apart,
    publish_registry_events,
    triaged,
    unique_unit,
    wait_for_replica,
)
from shared.auth import RESTRICTED_GRANT
from shared.events.catalog import Audience
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC, INCIDENT_TOPIC
from shared.gazetteer import gazetteer
from shared.logging import capture_log_lines, get_logger
from shared.testing import bearer, read_events, serve_in_process
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

NGO_TOPICS = sorted(t.name for t in CATALOG.topics() if t.audience is Audience.ngo)
STATE = "SS03"  # one of shared.testing.SHARED_TEST_STATES
COUNTY = "SS0302"


@dataclass(frozen=True)
class Plants:
    """Strings planted in restricted records: none may reach an NGO."""

    name: str
    description: str
    contact: str
    lat: str
    lon: str

    @property
    def strings(self) -> list[str]:
        return [self.name, self.description, self.contact, self.lat, self.lon]


def find_leaks(texts: Iterable[str], plants: Plants) -> list[tuple[str, str]]:
    """Every (plant, text excerpt) where a planted string occurs in one of `texts`."""
    leaks = []
    for text in texts:
        for plant in plants.strings:
            at = text.find(plant)
            if at >= 0:
                leaks.append((plant, text[max(0, at - 80) : at + 80]))
    return leaks


def make_plants() -> Plants:
    marker = uuid.uuid4().hex[:10]
    centre = gazetteer().areas[COUNTY]
    # Exact coordinates with digits nothing else in the flow produces.
    lat = round(centre.lat + 0.0137 + int(marker[:4], 16) / 10**8, 7)
    lon = round(centre.lon - 0.0113 - int(marker[4:8], 16) / 10**8, 7)
    return Plants(
        name=f"Nyandeng-{marker}",
        description=f"desc-{marker}",
        contact=f"+211-{marker}",
        lat=str(lat),
        lon=str(lon),
    )


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(offer_response_seconds=600, offer_sweep_interval_seconds=1.0)


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings)) as running:
        yield running


@pytest.fixture
def log_lines(client: httpx.AsyncClient) -> Iterator[list[str]]:
    """The service's log output during the test, as its handler renders it, at INFO (what a
    deployment writes)."""
    with capture_log_lines("INFO") as lines:
        yield lines


def _text(events: Iterable[CloudEvent]) -> list[str]:
    return [e.model_dump_json() for e in events]


async def test_nothing_planted_in_restricted_records_reaches_ngos(
    client: httpx.AsyncClient,
    settings: Settings,
    kafka_bootstrap: str,
    database_url: str,
    log_lines: list[str],
) -> None:
    plants = make_plants()
    ngo = ngo_state(name="GBV partner", sector=Sector.gbv, pcodes=[STATE], near=COUNTY)
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ngo = bearer(settings, "ngo", ngo_id=ngo.ngo_id)
    exact = {"lat": float(plants.lat), "lon": float(plants.lon), "pcode": COUNTY}
    story = f"{plants.description}: {plants.name}, staying with relatives"

    # A GBV request labelled public by its reporter (raised to restricted), with everything
    # planted; a restricted SGBV incident and a child-protection one flagged by the reporter.
    gbv = await client.post(
        "/aid-requests",
        json=aid_request_body(
            sector=Sector.gbv,
            sensitivity="public",
            title=f"Dignity kits for {plants.name}",
            description=story,
            contact=plants.contact,
            location=exact,
            access_constraints=[f"ask for {plants.name}"],
        ),
        headers=as_unit,
    )
    assert gbv.status_code == 201, gbv.text
    assert gbv.json()["status"] == "submitted"
    assert gbv.json()["sensitivity"] == "restricted"
    gbv_view = await triaged(client, gbv.json()["request_id"], as_unit)
    incidents = [
        await client.post(
            "/incidents",
            json=incident_body(description=story, location=exact, sensitivity="internal"),
            headers=as_unit,
        ),
        await client.post(
            "/incidents",
            json=incident_body(
                incident_type="displacement",
                description=story,
                location=exact,
                involves_child=True,
            ),
            headers=as_unit,
        ),
    ]
    assert all(i.json()["sensitivity"] == "restricted" for i in incidents)
    # A shelter request listed for NGOs, then reclassified restricted by staff: retracted.
    # Its items name the planted person: the listing names them by the item vocabulary.
    shelter = await client.post(
        "/aid-requests",
        json=aid_request_body(
            sector=Sector.shelter_nfi,
            description=story,
            contact=plants.contact,
            items=[{"item": f"tarpaulins for {plants.name}", "quantity": 3, "unit": "pieces"}],
            location={**point_apart(COUNTY, 4)},
        ),
        headers=as_unit,
    )
    assert shelter.status_code == 201, shelter.text
    assert shelter.json()["status"] == "submitted"
    assert shelter.json()["sensitivity"] == "internal"
    shelter_id = shelter.json()["request_id"]
    await triaged(client, shelter_id, as_unit)  # triage lists it for NGOs
    reclassified = await client.post(
        f"/aid-requests/{shelter_id}/classification",
        json={"sensitivity": "restricted", "reason": f"hosts {plants.name}"},
        headers=bearer(settings, "protection_officer"),
    )
    assert reclassified.status_code == 200, reclassified.text

    # Every NGO-role API response we can enumerate.
    gbv_id = gbv.json()["request_id"]
    ngo_responses = [
        await client.get("/aid-requests", headers=as_ngo),
        await client.get(f"/aid-requests/{gbv_id}", headers=as_ngo),
        await client.get(f"/aid-requests/{shelter_id}", headers=as_ngo),
        await client.get("/offers", headers=as_ngo),
    ]
    offer_id = gbv_view["current_offer_id"]
    if offer_id is not None and gbv_view["offered_ngo_id"] == str(ngo.ngo_id):
        ngo_responses.append(await client.get(f"/offers/{offer_id}", headers=as_ngo))
    for incident in incidents:
        ngo_responses.append(
            await client.get(f"/incidents/{incident.json()['incident_id']}", headers=as_ngo)
        )
    assert not find_leaks([r.text for r in ngo_responses], plants)

    # An ops centre without the grant sees the restricted records coarsened.
    as_ops = bearer(settings, "ops_centre")
    urls = [f"/aid-requests/{gbv_id}", f"/aid-requests/{shelter_id}"] + [
        f"/incidents/{i.json()['incident_id']}" for i in incidents
    ]
    ops_responses = [await client.get(url, headers=as_ops) for url in urls]
    assert all(r.status_code == 200 for r in ops_responses)
    assert not find_leaks([r.text for r in ops_responses], plants)

    # Every NGO-readable topic, from the beginning, up to the shelter request's retraction.
    on_ngo_topics = await read_events(
        kafka_bootstrap,
        NGO_TOPICS,
        until=lambda found: any(
            e.subject == shelter_id and e.type.endswith("open_request.retracted.v1") for e in found
        ),
    )
    assert any(e.subject == shelter_id and e.type.endswith("opened.v1") for e in on_ngo_topics)
    assert not find_leaks(_text(on_ngo_topics), plants)

    # Positive control: the same scan over the internal topics and a protection officer's
    # (or a granted ops centre's) responses finds every plant.
    internal = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name, INCIDENT_TOPIC.name],
        where=lambda e: e.subject in {gbv_id, *(i.json()["incident_id"] for i in incidents)},
        until=lambda found: len({e.subject for e in found}) == 3,
    )
    found = {plant for plant, _ in find_leaks(_text(internal), plants)}
    assert found == set(plants.strings)
    for headers in (
        bearer(settings, "protection_officer"),
        bearer(settings, "ops_centre", grants=[RESTRICTED_GRANT]),
    ):
        entitled = [(await client.get(url, headers=headers)).text for url in urls]
        assert {plant for plant, _ in find_leaks(entitled, plants)} == set(plants.strings)

    # Nothing planted reaches the service's log lines either (the scrubber, shared.logscrub),
    # although the flow failed on bad input too; the control proves the scan reads them.
    bad = await client.post(
        "/aid-requests",
        json={**aid_request_body(description=story, contact=plants.contact), "urgency": 7},
        headers=as_unit,
    )
    assert bad.status_code == 422
    assert any("incident.reported" in line for line in log_lines), "the scan saw no flow line"
    assert not find_leaks(log_lines, plants)
    get_logger("leak.control").warning("leak.control", note=plants.name)
    assert [plant for plant, _ in find_leaks(log_lines, plants)] == [plants.name]
