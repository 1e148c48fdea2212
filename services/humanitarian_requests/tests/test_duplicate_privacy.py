"""A field unit's duplicate links never reveal another unit's restricted incident."""

from __future__ import annotations

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import incident_body, unique_unit
from shared.testing import bearer

pytestmark = pytest.mark.integration


async def test_a_unit_sees_no_link_to_another_units_restricted_incident(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    first_unit, second_unit = unique_unit(), unique_unit()
    as_first = bearer(settings, "field_unit", unit_id=first_unit)
    as_second = bearer(settings, "field_unit", unit_id=second_unit)
    as_ops = bearer(settings, "ops_centre")

    # An SGBV report is restricted whatever the reporter says; a second unit's report of the
    # same type at the same place within the window is clustered with it (or an earlier one).
    first = await client.post("/incidents", json=incident_body(), headers=as_first)
    assert first.status_code == 201, first.text
    assert first.json()["sensitivity"] == "restricted"
    second = await client.post("/incidents", json=incident_body(), headers=as_second)
    assert second.status_code == 201, second.text
    second_id = second.json()["incident_id"]

    staff_view = (await client.get(f"/incidents/{second_id}", headers=as_ops)).json()
    assert staff_view["cluster_id"] != second_id  # the link exists, for mission staff

    for seen in (
        second.json(),
        (await client.get(f"/incidents/{second_id}", headers=as_second)).json(),
        next(
            i
            for i in (await client.get("/incidents", headers=as_second)).json()
            if i["incident_id"] == second_id
        ),
    ):
        assert seen["cluster_id"] == second_id
        assert seen["duplicate_of"] is None
    text = (await client.get("/incidents", headers=as_second)).text
    assert first.json()["incident_id"] not in text
    assert staff_view["cluster_id"] not in text
