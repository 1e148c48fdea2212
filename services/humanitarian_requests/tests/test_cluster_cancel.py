"""Cancelling the first report of a cluster must not strand the reports waiting in it."""

from __future__ import annotations

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import aid_request_body, unique_unit
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def test_cancelling_a_cluster_root_sends_its_waiting_duplicates_on(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    spot = {"lat": 7.6543, "lon": 28.1234, "pcode": None}
    root_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    root = (
        await client.post(
            "/aid-requests",
            json=aid_request_body(sector=Sector.mine_action, location=spot),
            headers=root_unit,
        )
    ).json()
    waiting = []
    for north in (0.005, 0.01):  # about 0.5 and 1 km away, reported by other units
        other = bearer(settings, "field_unit", unit_id=unique_unit())
        body = aid_request_body(sector=Sector.mine_action, location={**spot, "lat": 7.6543 + north})
        waiting.append((await client.post("/aid-requests", json=body, headers=other)).json())
    assert all(w["duplicate_of"] == root["request_id"] for w in waiting)
    assert all(w["status"] == "triaged" for w in waiting)

    cancelled = await client.post(
        f"/aid-requests/{root['request_id']}/cancel",
        json={"reason": "reported twice by mistake"},
        headers=root_unit,
    )
    assert cancelled.status_code == 200, cancelled.text

    ops = bearer(settings, "ops_centre")
    first, second = [
        (await client.get(f"/aid-requests/{w['request_id']}", headers=ops)).json() for w in waiting
    ]
    # The earliest waiting report takes over the cluster and goes to matching (escalated here:
    # no NGO holds mine-action grants); the others wait in its cluster instead.
    assert first["duplicate_of"] is None and first["cluster_id"] == first["request_id"]
    assert first["status"] in {"offered", "escalated"}
    assert second["duplicate_of"] == first["request_id"] == second["cluster_id"]
    assert second["status"] == "triaged"
