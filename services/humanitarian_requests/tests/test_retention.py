"""Retention (issue 13): a restricted request or incident past its period, and ended, loses
what could identify people in every store of the service — the record, its history, its
access log, its stored idempotent responses and its outbox leftovers — and keeps its figures;
the purge is one event, and a second purge changes nothing.

Real Kafka and Postgres: the records are made through the API, the relay publishes their
events, the test ages them in the database (a year cannot pass in a test) and runs the
service's own purge.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest
from services.humanitarian_requests.retention.service import (
    ENDED_STATUSES,
    anonymise_request,
    cutoff_of,
    purge_expired,
)
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    triaged,
    unique_unit,
)
from services.humanitarian_requests.tests.retention_helpers import (
    PURGED_TYPE,
    mentions,
    plant,
    point,
    post_with_key,
    row_of,
    wait_until_sent,
)
from shared.db import unit_of_work
from shared.events.schemas.humanitarian_requests import (
    RETENTION_TOPIC,
    RequestsRetentionPurged,
    RequestStatus,
)
from shared.gazetteer import gazetteer
from shared.testing import bearer, problem_of, read_events, shared_test_counties
from shared.vocabulary import Sector, Sensitivity

AGE = "interval '400 days'"


@pytest.mark.integration
async def test_expired_restricted_records_are_purged_from_every_store_once(
    client: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    kafka_bootstrap: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    unit = unique_unit()
    field = bearer(settings, "field_unit", unit_id=unit)
    officer = bearer(settings, "protection_officer", subject="officer-retention")
    county = shared_test_counties()[-1]
    names = {key: plant(key) for key in ("expired", "recent", "internal", "open", "incident")}
    names["internal_incident"] = plant("internal_incident")
    keys = {key: f"key-{uuid.uuid4()}" for key in names}

    # Expired: reported internal, reclassified restricted (the intake's stored response shows
    # it in full), read with a purpose, cancelled with a reason — and then a year passes.
    name = names["expired"]
    expired_body = aid_request_body(
        pcode=county,
        location={**point(county, 0), "pcode": county},
        title=f"Dignity kits for {name}",
        description=f"{name} and her children sleep at the clinic",
        contact=f"{name} +211 912 345 678",
        items=[{"item": f"dignity kits for {name}", "quantity": 40, "unit": "kits"}],
        access_constraints=[f"ask for {name} at the gate"],
    )
    created = await post_with_key(client, "/aid-requests", expired_body, field, keys["expired"])
    assert created.json()["status"] == "submitted"
    expired_id = created.json()["request_id"]
    # Triaged before it is reclassified and cancelled: the story of a request worked on.
    expired = await triaged(client, expired_id, field)
    await post_with_key(
        client,
        f"/aid-requests/{expired_id}/classification",
        {"sensitivity": "restricted", "reason": f"{name} is named in the follow-up"},
        officer,
        f"reclassify-{uuid.uuid4()}",
    )
    read = await client.get(
        f"/aid-requests/{expired_id}", params={"purpose": f"referral of {name}"}, headers=officer
    )
    assert read.status_code == 200 and read.json()["description"]
    await post_with_key(
        client,
        f"/aid-requests/{expired_id}/cancel",
        {"reason": f"{name} moved to the camp"},
        field,
        f"cancel-{uuid.uuid4()}",
    )

    def restricted_body(key: str, index: int, sector: Sector) -> dict[str, Any]:
        return aid_request_body(
            pcode=county,
            location={**point(county, index), "pcode": county},
            sector=sector,
            description=f"{names[key]} needs a safe shelter",
            contact=f"{names[key]} via the women's centre",
            sensitivity="restricted",
        )

    # Controls: a recent restricted one, an old internal one, an old restricted one still open.
    recent = await post_with_key(
        client, "/aid-requests", restricted_body("recent", 1, Sector.gbv), field, keys["recent"]
    )
    internal_body = aid_request_body(
        pcode=county,
        location={**point(county, 2), "pcode": county},
        sector=Sector.food_security,
        description=f"{names['internal']} runs the distribution",
    )
    internal = await post_with_key(client, "/aid-requests", internal_body, field, keys["internal"])
    still_open = await post_with_key(
        client, "/aid-requests", restricted_body("open", 3, Sector.protection), field, keys["open"]
    )
    recent_id, internal_id = recent.json()["request_id"], internal.json()["request_id"]
    open_id = still_open.json()["request_id"]
    # Each triaged before it is cancelled or aged: nothing changes them behind the test's back.
    for request_id in (recent_id, internal_id, open_id):
        await triaged(client, request_id, field)
    for request_id in (recent_id, internal_id):
        await post_with_key(
            client,
            f"/aid-requests/{request_id}/cancel",
            {"reason": "no longer needed"},
            field,
            f"cancel-{uuid.uuid4()}",
        )
    incident = await post_with_key(
        client,
        "/incidents",
        incident_body(
            location={**point(county, 4), "pcode": county},
            description=f"{names['incident']} was assaulted near the water point",
        ),
        field,
        keys["incident"],
    )
    internal_incident = await post_with_key(
        client,
        "/incidents",
        incident_body(
            incident_type="explosive_hazard",
            sensitivity="internal",
            location={**point(county, 5), "pcode": county},
            description=f"{names['internal_incident']} found an unexploded shell",
        ),
        field,
        keys["internal_incident"],
    )
    incident_id = incident.json()["incident_id"]
    internal_incident_id = internal_incident.json()["incident_id"]
    assert incident.json()["sensitivity"] == "restricted"
    assert internal_incident.json()["sensitivity"] == "internal"
    ids = [expired_id, recent_id, internal_id, open_id, incident_id, internal_incident_id]
    await wait_until_sent(database_url, ids)

    # A year passes for all but the recent one; one event of the expired request and one of
    # the internal control were parked by the relay meanwhile.
    aged = [expired_id, internal_id, open_id]
    requests_aged = await fetch(
        database_url,
        f"UPDATE humanitarian_requests.aid_requests SET updated_at = updated_at - {AGE}, "
        f"submitted_at = submitted_at - {AGE}, observed_at = observed_at - {AGE}, "
        f"triaged_at = triaged_at - {AGE}, cancelled_at = cancelled_at - {AGE} "
        "WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING id",
        ids=aged,
    )
    incidents_aged = await fetch(
        database_url,
        f"UPDATE humanitarian_requests.incidents SET updated_at = updated_at - {AGE}, "
        f"reported_at = reported_at - {AGE}, occurred_at = occurred_at - {AGE}, "
        f"observed_at = observed_at - {AGE} WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING id",
        ids=[incident_id, internal_incident_id],
    )
    assert (len(requests_aged), len(incidents_aged)) == (3, 2)
    await fetch(
        database_url,
        f"UPDATE humanitarian_requests.outbox SET created_at = created_at - {AGE}, "
        f"published_at = published_at - {AGE} WHERE message_key = ANY(:ids) RETURNING id",
        ids=[*aged, incident_id, internal_incident_id],
    )
    for request_id in (expired_id, internal_id):
        parked_now = await fetch(
            database_url,
            "UPDATE humanitarian_requests.outbox SET published_at = NULL, failed_at = now(), "
            "failure = 'parked by the test' WHERE id = (SELECT min(id) FROM "
            "humanitarian_requests.outbox WHERE message_key = :id) RETURNING id",
            id=request_id,
        )
        assert len(parked_now) == 1
    kept_before = {
        key: await row_of(database_url, table, row_id)
        for key, table, row_id in (
            ("recent", "aid_requests", recent_id),
            ("internal", "aid_requests", internal_id),
            ("open", "aid_requests", open_id),
            ("internal_incident", "incidents", internal_incident_id),
        )
    }
    assert kept_before["open"]["status"] not in {s.value for s in ENDED_STATUSES}
    assert await mentions(database_url, names["expired"])  # the test sees the plant

    async with unit_of_work(sessionmaker) as session:
        records = await purge_expired(session, settings)
    # The internal control is younger than the internal period: only restricted is purged.
    [record] = records
    assert isinstance(record, RequestsRetentionPurged)
    assert record.purged_sensitivity is Sensitivity.restricted and record.retention_days == 365
    assert record.requests >= 1 and record.incidents >= 1
    assert record.history_entries >= 1 and record.access_entries >= 1
    assert record.idempotency_responses >= 4 and record.outbox_rows >= 2

    # Nothing typed about the expired request or the incident is left in any store.
    assert await mentions(database_url, names["expired"]) == {}
    assert await mentions(database_url, names["incident"]) == {}
    purged = await row_of(database_url, "aid_requests", expired_id)
    centre = gazetteer().areas[county]
    assert (purged["lat"], purged["lon"]) == (centre.lat, centre.lon)
    assert purged["description"] is None and purged["contact"] is None
    assert purged["title"] == "wash request (details purged)"
    assert purged["access_constraints"] == [] and purged["cancellation_reason"] is None
    assert purged["items"] == [  # the text goes, its vocabulary code stays
        {
            "item": "item 1",
            "item_code": "dignity_kit",
            "quantity": 40,
            "unit": "kits",
            "delivered_quantity": 0.0,
        }
    ]
    # ... and its figures stay.
    assert (purged["pcode"], purged["sector"], purged["status"]) == (county, "wash", "cancelled")
    assert purged["affected_total"] == expired_body["affected_population"]["total"]
    assert purged["cancelled_at"] is not None and purged["purged_at"] is not None
    assert purged["version"] == expired["version"] + 2  # the purge is no transition
    purged_incident = await row_of(database_url, "incidents", incident_id)
    assert purged_incident["description"] is None and purged_incident["purged_at"]
    assert (purged_incident["lat"], purged_incident["lon"]) == (centre.lat, centre.lon)
    assert purged_incident["casualties"] == {"injured": 1, "killed": 0, "missing": 0}

    # The controls are untouched.
    for key, table, row_id in (
        ("recent", "aid_requests", recent_id),
        ("internal", "aid_requests", internal_id),
        ("open", "aid_requests", open_id),
        ("internal_incident", "incidents", internal_incident_id),
    ):
        assert await row_of(database_url, table, row_id) == kept_before[key], key
        assert kept_before[key]["purged_at"] is None
        assert set(await mentions(database_url, names[key])) >= {table, "idempotency_keys"}
    parked = await fetch(
        database_url,
        "SELECT message_key FROM humanitarian_requests.outbox WHERE failed_at IS NOT NULL "
        "AND message_key = ANY(:ids)",
        ids=[expired_id, internal_id],
    )
    assert [row[0] for row in parked] == [internal_id]

    # A retry of a purged key is told so, and creates nothing; a kept one still replays.
    gone = await client.post(
        "/aid-requests", json=expired_body, headers={**field, "Idempotency-Key": keys["expired"]}
    )
    assert gone.status_code == 410, gone.text
    assert problem_of(gone)["type"].endswith("/idempotent-response-purged")
    replayed = await client.post(
        "/aid-requests", json=internal_body, headers={**field, "Idempotency-Key": keys["internal"]}
    )
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["request_id"] == internal_id
    mine = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :unit",
        unit=unit,
    )
    assert mine[0][0] == 4
    shown = await client.get(
        f"/aid-requests/{expired_id}", params={"purpose": "audit"}, headers=officer
    )
    assert shown.status_code == 200 and shown.json()["description"] is None

    # The purge is one event on the internal retention topic: counts, never the data.
    events = await read_events(
        kafka_bootstrap,
        [RETENTION_TOPIC.name],
        where=lambda e: e.subject == str(record.purge_id),
        until=lambda found: len(found) >= 1,
    )
    assert events[0].type == PURGED_TYPE
    assert events[0].data == record.model_dump(mode="json")
    assert names["expired"] not in events[0].to_json().decode()

    # A second purge finds nothing, changes nothing and emits nothing.
    count_events = (
        f"SELECT count(*) FROM humanitarian_requests.outbox WHERE event_type = '{PURGED_TYPE}'"
    )
    before = (await fetch(database_url, count_events))[0][0]
    async with unit_of_work(sessionmaker) as session:
        assert await purge_expired(session, settings) == []
    assert (await fetch(database_url, count_events))[0][0] == before
    assert await row_of(database_url, "aid_requests", expired_id) == purged


def test_retention_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert defaults.retention_restricted_days == 365
    assert defaults.retention_internal_days == 730
    assert defaults.retention_sweep_interval_seconds == 3600
    with pytest.raises(ValidationError):
        Settings(retention_restricted_days=0)
    with pytest.raises(ValidationError):
        Settings(retention_internal_days=0)
    for variable, value in (
        ("HUMANITARIAN_REQUESTS_RETENTION_RESTRICTED_DAYS", "0"),
        ("HUMANITARIAN_REQUESTS_RETENTION_RESTRICTED_DAYS", "a year"),
        ("HUMANITARIAN_REQUESTS_RETENTION_INTERNAL_DAYS", "-1"),
        ("HUMANITARIAN_REQUESTS_RETENTION_SWEEP_INTERVAL", "0"),
    ):
        with monkeypatch.context() as env:
            env.setenv(variable, value)
            # The service does not start, and says which variable is wrong.
            with pytest.raises(ValidationError, match=variable):
                create_app()
    monkeypatch.setenv("HUMANITARIAN_REQUESTS_RETENTION_RESTRICTED_DAYS", "30")
    monkeypatch.setenv("HUMANITARIAN_REQUESTS_RETENTION_INTERNAL_DAYS", "90")
    assert (Settings().retention_restricted_days, Settings().retention_internal_days) == (30, 90)


def test_the_cutoff_and_which_requests_may_be_purged() -> None:
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    settings = Settings(retention_restricted_days=30, retention_internal_days=90)
    assert cutoff_of(now, settings) == now - timedelta(days=30)
    assert cutoff_of(now, settings, Sensitivity.restricted) == now - timedelta(days=30)
    assert cutoff_of(now, settings, Sensitivity.internal) == now - timedelta(days=90)
    # Every status a request can still be worked in keeps it.
    assert set(RequestStatus) - ENDED_STATUSES == {
        RequestStatus.submitted,
        RequestStatus.triaged,
        RequestStatus.offered,
        RequestStatus.accepted,
        RequestStatus.in_progress,
        RequestStatus.escalated,
    }


def test_a_purged_row_from_before_the_stored_floor_keeps_its_floor() -> None:
    """A row from before migration 0004 has no stored minimum; it is derived from the text
    before the text goes, so the record cannot later be reclassified below it."""
    row = AidRequest(
        sector=Sector.food_security,
        sensitivity="restricted",
        sensitivity_floor=None,
        title="Food for a survivor's household",
        description=None,
        items=[],
        vulnerability=[],
        pcode="SS0101",
        lat=6.2,
        lon=31.6,
    )
    anonymise_request(row, now=datetime.now(UTC))
    assert row.sensitivity_floor == "restricted"
    assert row.title == "food_security request (details purged)"
    centre = gazetteer().areas["SS0101"]
    assert (row.lat, row.lon) == (centre.lat, centre.lon)
