"""Bad input on the paths no other test covers: problem+json, the right status, nothing written."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    submit_triaged,
    unique_unit,
)
from shared.testing import bearer, problem_of
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def test_links_and_keys_refuse_bad_input(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit)
    ops = bearer(settings, "ops_centre")

    too_long = await client.post(
        "/aid-requests", json=aid_request_body(), headers={**as_unit, "Idempotency-Key": "k" * 201}
    )
    assert too_long.status_code == 400, too_long.text
    assert problem_of(too_long)["status"] == 400
    sql = "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u"
    assert (await fetch(database_url, sql, u=unit))[0][0] == 0

    incident = (await client.post("/incidents", json=incident_body(), headers=as_unit)).json()
    path = f"/incidents/{incident['incident_id']}/link"
    for body in (
        {"duplicate_of": incident["incident_id"], "reason": "self"},
        {"duplicate_of": str(uuid.uuid4()), "reason": "unknown"},
        {"duplicate_of": None},
    ):
        refused = await client.post(path, json=body, headers=ops)
        assert refused.status_code == 422, (body, refused.text)
        assert problem_of(refused)["status"] == 422

    # In a county no test NGO serves, so the request is not offered (a link needs it before
    # an offer) whatever NGOs earlier tests left in the replica.
    request = await submit_triaged(client, aid_request_body(pcode="SS0903"), as_unit)
    assert request["status"] in ("triaged", "escalated"), request
    unknown = await client.post(
        f"/aid-requests/{request['request_id']}/link",
        json={"duplicate_of": str(uuid.uuid4()), "reason": "unknown"},
        headers=ops,
    )
    assert unknown.status_code == 422
    assert problem_of(unknown)["status"] == 422
    decline = await client.post(
        f"/offers/{uuid.uuid4()}/decline", json={"reason": "x", "why": "extra"}, headers=ops
    )
    assert decline.status_code == 422
    assert problem_of(decline)["status"] == 422


async def test_linking_to_a_cancelled_cluster_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A request linked into a cancelled cluster would never be offered: lost. 409."""
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    ops = bearer(settings, "ops_centre")
    here = {"lat": 6.2345, "lon": 31.5678, "pcode": None}
    there = {"lat": 6.9345, "lon": 31.0678, "pcode": None}  # far beyond the duplicate radius
    dead = await submit_triaged(
        client, aid_request_body(sector=Sector.early_recovery, location=here), as_unit
    )
    live = await submit_triaged(
        client, aid_request_body(sector=Sector.early_recovery, location=there), as_unit
    )
    assert live["duplicate_of"] is None
    cancelled = await client.post(
        f"/aid-requests/{dead['request_id']}/cancel", json={"reason": "gone"}, headers=ops
    )
    assert cancelled.status_code == 200
    link = await client.post(
        f"/aid-requests/{live['request_id']}/link",
        json={"duplicate_of": dead["request_id"], "reason": "same need"},
        headers=ops,
    )
    assert link.status_code == 409, link.text
    assert problem_of(link)["status"] == 409
    after = (await client.get(f"/aid-requests/{live['request_id']}", headers=ops)).json()
    assert after["duplicate_of"] is None and after["version"] == live["version"]
