"""The access audit: every restricted record served in full is logged (who, what, when, why)
in the read's transaction and as an event; coarsened reads and a reporter's own are not."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import fetch, incident_body, unique_unit
from shared.events.schemas.humanitarian_requests import ACCESS_TOPIC
from shared.testing import bearer, read_events

pytestmark = pytest.mark.integration


async def _log_of(database_url: str, entity_id: str) -> list[tuple[str, str, str | None]]:
    rows = await fetch(
        database_url,
        "SELECT subject, route, purpose FROM humanitarian_requests.access_log "
        "WHERE entity_id = :id ORDER BY at, id",
        id=entity_id,
    )
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]


async def test_restricted_reads_in_full_are_logged_and_coarsened_ones_are_not(
    client: httpx.AsyncClient, settings: Settings, database_url: str, kafka_bootstrap: str
) -> None:
    unit = unique_unit()
    plant = f"survivor-{uuid.uuid4().hex}"
    created = await client.post(
        "/incidents",
        json=incident_body(description=plant),
        headers=bearer(settings, "field_unit", unit_id=unit),
    )
    incident_id = created.json()["incident_id"]
    assert await _log_of(database_url, incident_id) == []  # the reporter's own response

    await client.get(
        f"/incidents/{incident_id}", headers=bearer(settings, "field_unit", unit_id=unit)
    )
    coarse = await client.get(f"/incidents/{incident_id}", headers=bearer(settings, "ops_centre"))
    assert coarse.json()["details_withheld"] is True
    assert await _log_of(database_url, incident_id) == []

    officer = bearer(settings, "protection_officer", subject="officer-achol")
    read = await client.get(
        f"/incidents/{incident_id}", params={"purpose": "case referral"}, headers=officer
    )
    assert read.json()["description"] == plant
    assert await _log_of(database_url, incident_id) == [
        ("officer-achol", "GET /incidents/{incident_id}", "case referral")
    ]

    # A list serves restricted records in full only with a purpose, and logs each of them.
    browsing = await client.get("/incidents", params={"limit": 500}, headers=officer)
    mine = next(i for i in browsing.json() if i["incident_id"] == incident_id)
    assert mine["details_withheld"] is True and plant not in browsing.text
    assert len(await _log_of(database_url, incident_id)) == 1
    bulk = await client.get(
        "/incidents", params={"limit": 500, "purpose": "monthly protection review"}, headers=officer
    )
    assert plant in bulk.text
    assert (await _log_of(database_url, incident_id))[-1] == (
        "officer-achol",
        "GET /incidents",
        "monthly protection review",
    )

    events = await read_events(
        kafka_bootstrap,
        [ACCESS_TOPIC.name],
        where=lambda e: e.subject == incident_id,
        until=lambda found: len(found) >= 2,
    )
    assert [e.data["purpose"] for e in events] == ["case referral", "monthly protection review"]
    assert all(e.data["subject"] == "officer-achol" for e in events)
    assert all(e.type == "concord.humanitarian_requests.access.restricted_read.v1" for e in events)


async def test_a_bad_purpose_is_a_problem_and_logs_nothing(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    created = await client.post(
        "/incidents", json=incident_body(), headers=bearer(settings, "field_unit")
    )
    incident_id = created.json()["incident_id"]
    for purpose in ("", "x" * 501):
        response = await client.get(
            f"/incidents/{incident_id}",
            params={"purpose": purpose},
            headers=bearer(settings, "admin"),
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await _log_of(database_url, incident_id) == []
