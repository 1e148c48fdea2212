"""Retention of the internal class (issue 13): an internal request that ended, or an internal
incident, loses its personal data once its last change is older than
`HUMANITARIAN_REQUESTS_RETENTION_INTERNAL_DAYS` (730 by default, longer than restricted's
365) — from every store, as a restricted one does — and the restricted purge is as before.

Real Kafka and Postgres: the records are made through the API, the relay publishes their
events, the test ages them in the database and runs the service's own purge.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.retention.service import purge_expired
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    unique_unit,
)
from services.humanitarian_requests.tests.retention_helpers import (
    PURGED_TYPE,
    age,
    mentions,
    plant,
    point,
    post_with_key,
    row_of,
    wait_until_sent,
)
from shared.db import unit_of_work
from shared.events.schemas.humanitarian_requests import RETENTION_TOPIC
from shared.gazetteer import gazetteer
from shared.testing import bearer, read_events, shared_test_counties
from shared.vocabulary import Sector, Sensitivity

pytestmark = pytest.mark.integration

PAST_INTERNAL = 800  # days: past the internal period (730), so past the restricted one too
PAST_RESTRICTED = 400  # days: past the restricted period (365), within the internal one


def key() -> str:
    return f"key-{uuid.uuid4()}"


async def test_expired_internal_records_are_purged_from_every_store_once(
    client: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    kafka_bootstrap: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert settings.retention_internal_days == 730
    field = bearer(settings, "field_unit", unit_id=unique_unit())
    ops = bearer(settings, "ops_centre", subject="ops-retention")
    county = shared_test_counties()[-2]  # the restricted test's is [-1]
    names = {
        k: plant(k)
        for k in ("old", "younger", "open", "restricted", "old_incident", "young_incident")
    }

    def body(name: str, index: int, **overrides: Any) -> dict[str, Any]:
        return aid_request_body(
            sector=Sector.shelter_nfi,
            location={**point(county, index), "pcode": county},
            title=f"Shelter for {name}'s household",
            description=f"{name} hosts two families",
            contact=f"{name} +211 955 000 111",
            items=[{"item": f"tarpaulins for {name}", "quantity": 4, "unit": "pieces"}],
            access_constraints=[f"ask for {name} at the church"],
            **overrides,
        )

    # The internal request that ended long ago: reprioritised and cancelled with typed reasons.
    old = (await post_with_key(client, "/aid-requests", body(names["old"], 0), field, key())).json()
    assert old["sensitivity"] == "internal"
    old_id = old["request_id"]
    await post_with_key(
        client,
        f"/aid-requests/{old_id}/priority",
        {"priority_score": 80, "reason": f"{names['old']} is pregnant"},
        ops,
        key(),
    )
    # Controls: internal but younger than its period, internal and still open, restricted.
    younger = await post_with_key(client, "/aid-requests", body(names["younger"], 1), field, key())
    still_open = await post_with_key(client, "/aid-requests", body(names["open"], 2), field, key())
    restricted = await post_with_key(
        client,
        "/aid-requests",
        body(names["restricted"], 3, sensitivity="restricted"),
        field,
        key(),
    )
    younger_id, open_id = younger.json()["request_id"], still_open.json()["request_id"]
    restricted_id = restricted.json()["request_id"]
    for request_id, name in (
        (old_id, "old"),
        (younger_id, "younger"),
        (restricted_id, "restricted"),
    ):
        await post_with_key(
            client,
            f"/aid-requests/{request_id}/cancel",
            {"reason": f"{names[name]} moved away"},
            field,
            key(),
        )

    def incident(name: str, index: int) -> dict[str, Any]:
        return incident_body(
            incident_type="explosive_hazard",
            sensitivity="internal",
            location={**point(county, 4 + index), "pcode": county},
            description=f"{name} found a shell by the road",
        )

    old_incident = await post_with_key(
        client, "/incidents", incident(names["old_incident"], 0), field, key()
    )
    young_incident = await post_with_key(
        client, "/incidents", incident(names["young_incident"], 1), field, key()
    )
    old_incident_id = old_incident.json()["incident_id"]
    young_incident_id = young_incident.json()["incident_id"]
    assert old_incident.json()["sensitivity"] == "internal"
    ids = [old_id, younger_id, open_id, restricted_id, old_incident_id, young_incident_id]
    await wait_until_sent(database_url, ids)

    assert await age(database_url, "aid_requests", [old_id, open_id], PAST_INTERNAL) == 2
    assert (
        await age(database_url, "aid_requests", [younger_id, restricted_id], PAST_RESTRICTED) == 2
    )
    assert await age(database_url, "incidents", [old_incident_id], PAST_INTERNAL) == 1
    assert await age(database_url, "incidents", [young_incident_id], PAST_RESTRICTED) == 1
    controls = (
        ("younger", "aid_requests", younger_id),
        ("open", "aid_requests", open_id),
        ("young_incident", "incidents", young_incident_id),
    )
    kept_before = {name: await row_of(database_url, table, i) for name, table, i in controls}
    assert await mentions(database_url, names["old"])  # the test sees the plant

    async with unit_of_work(sessionmaker) as session:
        records = await purge_expired(session, settings)
    by_class = {r.purged_sensitivity: r for r in records}
    assert set(by_class) == {Sensitivity.restricted, Sensitivity.internal}
    internal = by_class[Sensitivity.internal]
    assert internal.retention_days == 730 and internal.requests >= 1 and internal.incidents >= 1
    assert internal.idempotency_responses >= 3 and internal.outbox_rows >= 1
    assert internal.access_entries == 0  # internal reads are not access-logged
    assert by_class[Sensitivity.restricted].requests >= 1

    # Nothing typed about the old request, the old incident or the restricted one is left.
    for name in ("old", "old_incident", "restricted"):
        assert await mentions(database_url, names[name]) == {}, name
    purged = await row_of(database_url, "aid_requests", old_id)
    centre = gazetteer().areas[county]
    assert (purged["lat"], purged["lon"]) == (centre.lat, centre.lon)
    assert purged["description"] is None and purged["contact"] is None
    assert purged["title"] == "shelter_nfi request (details purged)"
    assert purged["access_constraints"] == [] and purged["priority_reason"] is None
    assert purged["cancellation_reason"] is None and purged["purged_at"] is not None
    assert [(i["item"], i["item_code"]) for i in purged["items"]] == [("item 1", "tarpaulin")]
    assert (purged["status"], purged["sensitivity"], purged["priority_score"]) == (
        "cancelled",
        "internal",
        80,
    )
    purged_incident = await row_of(database_url, "incidents", old_incident_id)
    assert purged_incident["description"] is None and purged_incident["purged_at"]
    assert (purged_incident["lat"], purged_incident["lon"]) == (centre.lat, centre.lon)

    # The controls are untouched: younger than the internal period, or still open.
    for name, table, row_id in controls:
        assert await row_of(database_url, table, row_id) == kept_before[name], name
        assert set(await mentions(database_url, names[name])) >= {table, "idempotency_keys"}

    # One event for the class, counts only, on the internal retention topic.
    events = await read_events(
        kafka_bootstrap,
        [RETENTION_TOPIC.name],
        where=lambda e: e.subject == str(internal.purge_id),
        until=lambda found: len(found) >= 1,
    )
    assert events[0].type == PURGED_TYPE
    assert events[0].data == internal.model_dump(mode="json")
    assert events[0].data["purged_sensitivity"] == "internal"
    assert names["old"] not in events[0].to_json().decode()

    # A second purge finds nothing, changes nothing and emits nothing.
    count_events = (
        f"SELECT count(*) FROM humanitarian_requests.outbox WHERE event_type = '{PURGED_TYPE}'"
    )
    before = (await fetch(database_url, count_events))[0][0]
    async with unit_of_work(sessionmaker) as session:
        assert await purge_expired(session, settings) == []
    assert (await fetch(database_url, count_events))[0][0] == before
    assert await row_of(database_url, "aid_requests", old_id) == purged
