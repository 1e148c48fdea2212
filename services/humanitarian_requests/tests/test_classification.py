"""The derived minimum sensitivity at intake: a reporter may raise it, never lower it."""

from __future__ import annotations

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    unique_unit,
)
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def _stored(database_url: str, table: str, entity_id: str) -> tuple[str, str | None]:
    (row,) = await fetch(
        database_url,
        f"SELECT sensitivity, sensitivity_floor FROM humanitarian_requests.{table} WHERE id = :id",
        id=entity_id,
    )
    return str(row[0]), row[1]


@pytest.mark.parametrize("sector", [Sector.gbv, Sector.child_protection, Sector.protection])
async def test_a_lower_class_is_raised_to_the_derived_minimum_and_the_response_says_so(
    client: httpx.AsyncClient, settings: Settings, database_url: str, sector: Sector
) -> None:
    headers = bearer(settings, "field_unit", unit_id=unique_unit())
    response = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=sector, pcode="SS0201", sensitivity="public"),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sensitivity"] == "restricted"
    assert body["sensitivity_raised_from"] == "public"
    assert body["sensitivity_floor"] == "restricted"
    assert body["sensitivity_reasons"] == [f"sector:{sector}"]
    assert await _stored(database_url, "aid_requests", body["request_id"]) == (
        "restricted",
        "restricted",
    )


async def test_reporter_flags_and_text_markers_restrict_any_sector(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = bearer(settings, "field_unit", unit_id=unique_unit())
    flagged = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=Sector.health, pcode="SS0201", involves_child=True),
        headers=headers,
    )
    assert flagged.json()["sensitivity"] == "restricted"
    assert flagged.json()["sensitivity_reasons"] == ["involves_child"]
    assert flagged.json()["sensitivity_raised_from"] == "internal"
    marked = await client.post(
        "/aid-requests",
        json=aid_request_body(
            sector=Sector.food_security,
            pcode="SS0201",
            description="Rations for an unaccompanied boy",
            sensitivity=None,
        ),
        headers=headers,
    )
    assert marked.json()["sensitivity"] == "restricted"
    assert marked.json()["sensitivity_raised_from"] is None  # nothing asked: nothing lowered


async def test_a_higher_class_is_kept_and_the_default_is_internal(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = bearer(settings, "field_unit", unit_id=unique_unit())
    raised = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=Sector.wash, pcode="SS0201", sensitivity="restricted"),
        headers=headers,
    )
    assert raised.json()["sensitivity"] == "restricted"
    assert raised.json()["sensitivity_floor"] == "public"
    assert raised.json()["sensitivity_raised_from"] is None
    default = await client.post(
        "/aid-requests",
        json=aid_request_body(sector=Sector.wash, pcode="SS0201", sensitivity=None),
        headers=headers,
    )
    assert default.json()["sensitivity"] == "internal"


async def test_incidents_follow_the_same_rule(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    headers = bearer(settings, "field_unit", unit_id=unique_unit())
    protection = await client.post(
        "/incidents", json=incident_body(sensitivity="internal"), headers=headers
    )
    assert protection.status_code == 201, protection.text
    assert protection.json()["sensitivity"] == "restricted"
    assert protection.json()["sensitivity_raised_from"] == "internal"
    child = await client.post(
        "/incidents",
        json=incident_body(
            incident_type="looting_of_aid",
            description="Warehouse looted",
            involves_child=True,
            sensitivity="public",
        ),
        headers=headers,
    )
    assert child.json()["sensitivity"] == "restricted"
    assert child.json()["sensitivity_reasons"] == ["involves_child"]
    plain = await client.post(
        "/incidents",
        json=incident_body(
            incident_type="looting_of_aid", description="Warehouse looted", sensitivity="public"
        ),
        headers=headers,
    )
    assert plain.json()["sensitivity"] == "public"
    assert await _stored(database_url, "incidents", plain.json()["incident_id"]) == (
        "public",
        "public",
    )


async def test_a_bad_sensitivity_or_flag_is_a_problem(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = bearer(settings, "field_unit", unit_id=unique_unit())
    for body in (
        aid_request_body(sensitivity="secret"),
        aid_request_body(names_survivor="perhaps"),
    ):
        response = await client.post("/aid-requests", json=body, headers=headers)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
