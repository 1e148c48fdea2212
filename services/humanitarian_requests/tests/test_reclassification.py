"""Staff reclassification (raise with a reason, retraction from the NGO topic) and the
need-to-know views of restricted records: protection officer vs operations centre."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    point_apart,
    submit_triaged,
    unique_unit,
)
from shared.auth import RESTRICTED_GRANT
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC, OPEN_REQUEST_TOPIC
from shared.testing import bearer, problem_of, read_events
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

REASON = "Caseworker confirms the households host survivors"


async def _submit(
    client: httpx.AsyncClient, settings: Settings, **overrides: Any
) -> dict[str, Any]:
    """The request submitted, as its reporter reads it once triaged."""
    return await submit_triaged(
        client,
        aid_request_body(pcode="SS0201", **overrides),
        bearer(settings, "field_unit", unit_id=unique_unit()),
    )


@pytest.mark.parametrize(
    ("index", "role"), list(enumerate(["ops_centre", "protection_officer", "admin"], start=1))
)
async def test_reclassifying_a_listed_request_to_restricted_retracts_it(
    client: httpx.AsyncClient,
    settings: Settings,
    kafka_bootstrap: str,
    database_url: str,
    index: int,
    role: str,
) -> None:
    # Points kept apart: a near-duplicate would be linked, and a linked one is never listed.
    request = await _submit(
        client, settings, sector=Sector.shelter_nfi, location=point_apart("SS0303", index)
    )
    request_id = request["request_id"]
    (listed,) = await fetch(
        database_url,
        "SELECT ngo_visible FROM humanitarian_requests.aid_requests WHERE id = :id",
        id=request_id,
    )
    assert listed[0] is True  # triaged and open: on the NGO-readable listing

    response = await client.post(
        f"/aid-requests/{request_id}/classification",
        json={"sensitivity": "restricted", "reason": REASON},
        headers=bearer(settings, role),
    )
    assert response.status_code == 200, response.text
    assert response.json()["sensitivity"] == "restricted"

    on_listing = await read_events(
        kafka_bootstrap,
        [OPEN_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(e.type.endswith("retracted.v1") for e in found),
    )
    retraction = on_listing[-1]
    assert retraction.type == "concord.humanitarian_requests.open_request.retracted.v1"
    assert set(retraction.data) == {"request_id", "reason", "version", "retracted_at"}
    assert retraction.data["reason"] == "reclassified_restricted"
    assert on_listing[0].type.endswith("opened.v1")
    (after,) = await fetch(
        database_url,
        "SELECT ngo_visible, sensitivity FROM humanitarian_requests.aid_requests WHERE id = :id",
        id=request_id,
    )
    assert tuple(after) == (False, "restricted")

    internal = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(e.type.endswith("reclassified.v1") for e in found),
    )
    audit = internal[-1].data
    assert audit["previous_sensitivity"] == "internal" and audit["reason"] == REASON
    assert audit["actor"].startswith(f"{role}:")


async def test_reclassification_refuses_bad_input_wrong_roles_and_unknown_requests(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    gbv = await _submit(client, settings, sector=Sector.gbv)
    url = f"/aid-requests/{gbv['request_id']}/classification"
    ops = bearer(settings, "ops_centre")
    for body in (
        {"sensitivity": "internal"},  # no reason
        {"sensitivity": "secret", "reason": REASON},
        {"sensitivity": "internal", "reason": ""},
        {"sensitivity": "internal", "reason": REASON, "extra": 1},
        {"sensitivity": "internal", "reason": REASON},  # below the derived minimum
        {"sensitivity": "restricted", "reason": REASON},  # unchanged
    ):
        response = await client.post(url, json=body, headers=ops)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (
        "derived minimum"
        in problem_of(
            await client.post(url, json={"sensitivity": "public", "reason": REASON}, headers=ops)
        )["detail"]
    )
    for role in ("field_unit", "ngo"):
        headers = bearer(settings, role, ngo_id=uuid.uuid4() if role == "ngo" else None)
        denied = await client.post(
            url, json={"sensitivity": "restricted", "reason": REASON}, headers=headers
        )
        assert denied.status_code == 403, denied.text
    missing = await client.post(
        f"/aid-requests/{uuid.uuid4()}/classification",
        json={"sensitivity": "restricted", "reason": REASON},
        headers=ops,
    )
    assert missing.status_code == 404
    (row,) = await fetch(
        database_url,
        "SELECT sensitivity, version FROM humanitarian_requests.aid_requests WHERE id = :id",
        id=gbv["request_id"],
    )
    assert tuple(row) == ("restricted", gbv["version"])  # nothing half-written


async def test_an_incident_is_raised_with_its_reason_in_the_history(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    incident = await client.post(
        "/incidents",
        json=incident_body(incident_type="looting_of_aid", description="Warehouse looted"),
        headers=bearer(settings, "field_unit", unit_id=unique_unit()),
    )
    assert incident.json()["sensitivity"] == "internal"
    incident_id = incident.json()["incident_id"]
    officer = bearer(settings, "protection_officer")
    raised = await client.post(
        f"/incidents/{incident_id}/classification",
        json={"sensitivity": "restricted", "reason": REASON},
        headers=officer,
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["sensitivity"] == "restricted"
    history = (await client.get(f"/incidents/{incident_id}/history", headers=officer)).json()
    assert history[-1]["detail"] == {
        "change": "reclassified",
        "reason": REASON,
        "previous": "internal",
    }
    lowered = await client.post(
        f"/incidents/{incident_id}/classification",
        json={"sensitivity": "public", "reason": "mistake"},
        headers=officer,
    )
    assert lowered.status_code == 200  # its derived minimum is public: staff may lower it
    sgbv = await client.post(
        "/incidents", json=incident_body(), headers=bearer(settings, "field_unit")
    )
    refused = await client.post(
        f"/incidents/{sgbv.json()['incident_id']}/classification",
        json={"sensitivity": "internal", "reason": "mistake"},
        headers=officer,
    )
    assert refused.status_code == 422
    unknown = await client.post(
        f"/incidents/{uuid.uuid4()}/classification",
        json={"sensitivity": "restricted", "reason": REASON},
        headers=officer,
    )
    assert unknown.status_code == 404
    wrong_role = await client.post(
        f"/incidents/{incident_id}/classification",
        json={"sensitivity": "restricted", "reason": REASON},
        headers=bearer(settings, "field_unit"),
    )
    assert wrong_role.status_code == 403


async def test_ops_centre_sees_restricted_records_coarsened_unless_granted(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    plant = f"survivor-{uuid.uuid4().hex}"
    exact = {"lat": 4.91234, "lon": 31.61234, "pcode": "SS0101"}
    unit = unique_unit()
    incident = await client.post(
        "/incidents",
        json=incident_body(description=plant, location=exact),
        headers=bearer(settings, "field_unit", unit_id=unit),
    )
    assert incident.status_code == 201, incident.text
    request = await _submit(client, settings, sector=Sector.gbv, description=plant, location=exact)
    urls = [
        f"/incidents/{incident.json()['incident_id']}",
        f"/aid-requests/{request['request_id']}",
    ]
    full_roles = [
        bearer(settings, "protection_officer"),
        bearer(settings, "admin"),
        bearer(settings, "ops_centre", grants=[RESTRICTED_GRANT]),
    ]
    for url in urls:
        for headers in full_roles:
            seen = (await client.get(url, headers=headers)).json()
            assert seen["description"] == plant and seen["location"]["lat"] == exact["lat"]
            assert seen["details_withheld"] is False
        coarse = await client.get(url, headers=bearer(settings, "ops_centre"))
        assert coarse.status_code == 200
        body = coarse.json()
        assert plant not in coarse.text and str(exact["lat"]) not in coarse.text
        assert body["details_withheld"] is True and body["location"]["pcode"] == "SS01"
        assert body["description"] is None
    listing = await client.get("/incidents?limit=500", headers=bearer(settings, "ops_centre"))
    assert plant not in listing.text
    own = await client.get(urls[0], headers=bearer(settings, "field_unit", unit_id=unit))
    assert own.json()["description"] == plant  # the reporter sees what it typed
