"""Containment of a data incident restricts what was exposed (issue 13: "contain it … retract
events"): the registry's `data_incident.contained.v1` names the records; each aid request and
incident of this service among them becomes restricted, a listed request is retracted from
the NGO-readable topic, and a repeated containment changes nothing.

Real Kafka and Postgres: the containment arrives as the registry's event on the real
data-incident topic and the service's own consumer group applies it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    incident_body,
    point_apart,
    publish_as_registry,
    unique_unit,
    wait_until_processed,
)
from shared.events.schemas.humanitarian_requests import (
    AID_REQUEST_TOPIC,
    INCIDENT_TOPIC,
    OPEN_REQUEST_TOPIC,
)
from shared.events.schemas.ngo_registry import (
    DataIncidentContained,
    DataIncidentSeverity,
    DataIncidentStatus,
    ExposedRecord,
)
from shared.testing import bearer, read_events
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

OFFICER = "protection_officer:po-containment"


def contained(records: list[ExposedRecord], *, incident_id: uuid.UUID, version: int) -> Any:
    now = datetime.now(UTC)
    return DataIncidentContained(
        incident_id=incident_id,
        status=DataIncidentStatus.contained,
        summary="A partner's export reached a mailing list",
        occurred_at=now,
        discovered_at=now,
        records=records,
        recipients=[],
        severity=DataIncidentSeverity.high,
        revoked_ngo_ids=[],
        notifications=[],
        lessons=None,
        reported_by=OFFICER,
        actor=OFFICER,
        created_at=now,
        updated_at=now,
        closed_at=None,
        version=version,
    )


async def _row(database_url: str, table: str, row_id: str) -> dict[str, Any]:
    (row,) = await fetch(
        database_url,
        f"SELECT to_jsonb(t) FROM humanitarian_requests.{table} t WHERE id = :id",
        id=row_id,
    )
    value: dict[str, Any] = row[0]
    return value


async def _outbox_count(database_url: str, subject: str) -> int:
    (row,) = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.outbox WHERE message_key = :key",
        key=subject,
    )
    return int(row[0])


async def test_containment_restricts_the_exposed_records_and_retracts_the_listing(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    unit = bearer(settings, "field_unit", unit_id=unique_unit())
    # Points kept apart from other tests': a near-duplicate would be linked, never listed.
    submitted = await client.post(
        "/aid-requests",
        json=aid_request_body(
            pcode="SS0303", sector=Sector.shelter_nfi, location=point_apart("SS0303", 11)
        ),
        headers=unit,
    )
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request_id"]
    reported = await client.post(
        "/incidents",
        json=incident_body(
            incident_type="explosive_hazard",
            sensitivity="internal",
            description="Unexploded shell beside the market road",
        ),
        headers=unit,
    )
    assert reported.status_code == 201, reported.text
    incident_id = reported.json()["incident_id"]
    listed = await _row(database_url, "aid_requests", request_id)
    assert (listed["ngo_visible"], listed["sensitivity"]) == (True, "internal")
    assert (await _row(database_url, "incidents", incident_id))["sensitivity"] == "internal"

    data_incident = uuid.uuid4()
    records = [
        ExposedRecord(kind="aid_request", id=request_id),
        ExposedRecord(kind="incident", id=incident_id),
        ExposedRecord(kind="aid_request", id=str(uuid.uuid4())),  # not held here
        ExposedRecord(kind="ngo", id=str(uuid.uuid4())),  # not this service's kind
        ExposedRecord(kind="aid_request", id="export-2026-12-04.csv"),  # names nothing here
    ]
    (event_id,) = await publish_as_registry(
        kafka_bootstrap,
        [(str(data_incident), contained(records, incident_id=data_incident, version=3))],
    )
    await wait_until_processed(database_url, event_id)

    after = await _row(database_url, "aid_requests", request_id)
    assert (after["ngo_visible"], after["sensitivity"]) == (False, "restricted")
    assert after["version"] == listed["version"] + 1
    assert (await _row(database_url, "incidents", incident_id))["sensitivity"] == "restricted"
    on_listing = await read_events(
        kafka_bootstrap,
        [OPEN_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(e.type.endswith("retracted.v1") for e in found),
    )
    assert on_listing[-1].data["reason"] == "reclassified_restricted"
    audit = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(e.type.endswith("reclassified.v1") for e in found),
    )
    assert audit[-1].data["actor"] == "system"
    assert audit[-1].data["previous_sensitivity"] == "internal"
    assert str(data_incident) in audit[-1].data["reason"] and OFFICER in audit[-1].data["reason"]
    incident_events = await read_events(
        kafka_bootstrap,
        [INCIDENT_TOPIC.name],
        where=lambda e: e.subject == incident_id,
        until=lambda found: any(e.data.get("change") == "reclassified" for e in found),
    )
    assert incident_events[-1].data["sensitivity"] == "restricted"

    # Contained again (the workflow allows it): already restricted, nothing changes.
    emitted = (
        await _outbox_count(database_url, request_id),
        await _outbox_count(database_url, incident_id),
    )
    (again,) = await publish_as_registry(
        kafka_bootstrap,
        [(str(data_incident), contained(records, incident_id=data_incident, version=4))],
    )
    await wait_until_processed(database_url, again)
    assert (await _row(database_url, "aid_requests", request_id))["version"] == after["version"]
    assert (
        await _outbox_count(database_url, request_id),
        await _outbox_count(database_url, incident_id),
    ) == emitted
