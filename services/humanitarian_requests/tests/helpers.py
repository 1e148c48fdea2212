"""Helpers for the requests service's tests: registry events, request bodies, DB checks.

Registry events are produced to the real NGO topic as CloudEvents built from the catalog's
own models, exactly as the registry's outbox relay would publish them; the service's replica
consumer picks them up from Kafka.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import asyncpg_url
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, service_source
from shared.events.kafka import create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import (
    Capacity,
    EligibilityGrant,
    NgoEligibilityChanged,
    NgoRegistered,
    NgoState,
    NgoType,
    OperatingPoint,
    VettingStatus,
)
from shared.gazetteer import gazetteer
from shared.vocabulary import Sector


def ngo_state(
    *,
    ngo_id: uuid.UUID | None = None,
    name: str = "Test NGO",
    sector: Sector,
    pcodes: Sequence[str],
    version: int = 1,
    vetting: VettingStatus = VettingStatus.vetted,
    eligible: bool = True,
    near: str | None = None,
    model: type[NgoState] = NgoRegistered,
) -> NgoState:
    """An NGO granted `sector` in `pcodes`, operating around the centroid of `near`."""
    gaz = gazetteer()
    point = gaz.areas[near or pcodes[0]]
    return model(
        ngo_id=ngo_id or uuid.uuid4(),
        name=name,
        ngo_type=NgoType.national,
        hq_country="SS",
        sectors=[sector],
        capacities=[Capacity(resource="staff", quantity=20, unit="persons")],
        operating_areas=[],
        operating_points=[OperatingPoint(lat=point.lat, lon=point.lon, radius_km=10)],
        vetting_status=vetting,
        vetted_until=date.today() + timedelta(days=365),
        eligibility=[
            EligibilityGrant(
                sector=sector,
                pcodes=list(pcodes),
                agreement_id=uuid.uuid4(),
                valid_until=date.today() + timedelta(days=90),
            )
        ]
        if eligible
        else [],
        eligible=eligible,
        version=version,
        updated_at=datetime.now(UTC),
    )


def eligibility_changed(state: NgoState, *, eligible: bool, version: int) -> NgoEligibilityChanged:
    data = state.model_dump()
    data.update(eligible=eligible, version=version, updated_at=datetime.now(UTC))
    if not eligible:
        data["eligibility"] = []
    return NgoEligibilityChanged.model_validate(data)


async def publish_registry_events(bootstrap: str, events: Sequence[NgoState]) -> list[uuid.UUID]:
    """Produce NGO events as the registry's relay would: CloudEvents keyed by NGO id.
    Returns the CloudEvents ids."""
    return await publish_as_registry(bootstrap, [(str(e.ngo_id), e) for e in events])


async def publish_as_registry(
    bootstrap: str, events: Sequence[tuple[str, BaseModel]]
) -> list[uuid.UUID]:
    """Produce `(subject, data)` events as the registry's relay would (its source, keyed by
    the subject). Returns the CloudEvents ids."""
    ids: list[uuid.UUID] = []
    producer = create_producer(bootstrap, client_id="concord-test", acks="all")
    await producer.start()
    try:
        for subject, data in events:
            entry = CATALOG.for_model(type(data))
            event = CloudEvent(
                source=service_source("ngo_registry"),
                type=entry.name,
                subject=subject,
                data=data.model_dump(mode="json"),
            )
            await producer.send_and_wait(
                entry.topic.name,
                value=event.to_json(),
                key=event.kafka_key,
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
            )
            ids.append(event.id)
    finally:
        await producer.stop()
    return ids


async def fetch(database_url: str, sql: str, **params: Any) -> list[Any]:
    """Run one statement as the administrator, committed, and return its rows."""
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.begin() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def wait_for_replica(database_url: str, ngo_id: uuid.UUID, version: int) -> None:
    """Wait until the replica consumer applied the NGO's `version` (no timed assertion: the
    test fails with TimeoutError if the consumer never gets there)."""
    async with asyncio.timeout(60):
        while True:
            rows = await fetch(
                database_url,
                "SELECT version FROM humanitarian_requests.ngo_replica WHERE ngo_id = :id",
                id=ngo_id,
            )
            if rows and rows[0][0] >= version:
                return
            await asyncio.sleep(0.1)


async def wait_until_processed(database_url: str, event_id: uuid.UUID) -> None:
    """Wait until the service's inbox recorded the event (applied or ignored as stale)."""
    sql = "SELECT 1 FROM humanitarian_requests.processed_events WHERE event_id = :id"
    async with asyncio.timeout(60):
        while True:
            if await fetch(database_url, sql, id=event_id):
                return
            await asyncio.sleep(0.1)


def point_in(pcode: str, rng: random.Random | None = None, spread: float = 0.0) -> dict[str, Any]:
    """The county's centroid, or a point up to `spread` degrees from it drawn from `rng`.

    There is no unseeded default: two random points of one county can land within the
    duplicate radius of each other, and a request linked as a duplicate is not offered, so an
    unseeded point could change a test's outcome from one run to the next. A test that
    scatters points passes a `random.Random(seed)`; one that needs two requests of a sector
    kept apart uses `point_apart`.
    """
    if spread and rng is None:
        raise ValueError("a spread point needs a seeded random.Random")
    area = gazetteer().areas[pcode]
    if rng is None:
        return {"lat": area.lat, "lon": area.lon, "pcode": pcode}
    return {
        "lat": round(area.lat + rng.uniform(-spread, spread), 5),
        "lon": round(area.lon + rng.uniform(-spread, spread), 5),
        "pcode": pcode,
    }


def point_apart(pcode: str, index: int) -> dict[str, Any]:
    """The `index`-th of points in the county 0.1° (about 11 km, twice the default duplicate
    radius of 5 km) apart from each other: requests there are never linked as duplicates."""
    area = gazetteer().areas[pcode]
    return {"lat": round(area.lat + 0.1 * index, 5), "lon": area.lon, "pcode": pcode}


def aid_request_body(
    *,
    sector: Sector = Sector.wash,
    pcode: str = "SS0101",
    client_id: str | None = None,
    location: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": client_id,
        "sector": sector.value,
        "urgency": "urgent",
        "title": "Water trucking for displaced families",
        "description": "Borehole broken; families at the school compound",
        "items": [{"item": "water", "quantity": 100, "unit": "m3"}],
        "affected_population": {"total": 1200, "women": 400, "girls": 300},
        "vulnerability": ["displaced", "children_under_five"],
        "location": location or point_in(pcode),
        "access_constraints": ["road flooded after rain"],
        "security_constraints": [],
        "contact": "Capt. A. Example +211 900 000 000",
        "sensitivity": "internal",
    }
    body.update(overrides)
    return body


def incident_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_type": "sgbv",
        "severity": "high",
        "casualties": {"injured": 1},
        "occurred_at": datetime.now(UTC).isoformat(),
        "location": point_in("SS0101"),
        "description": "Survivor (name withheld) assaulted near water point",
    }
    body.update(overrides)
    return body


def unique_unit() -> str:
    return f"unit-{uuid.uuid4().hex[:8]}"


async def triaged(
    client: Any, request_id: str | uuid.UUID, headers: dict[str, str]
) -> dict[str, Any]:
    """The request as `headers` read it once the triage worker has triaged it.

    Intake stores a request `submitted`; triage (priority, duplicate link, first offer) follows
    in the service's triage worker, in one transaction per request. So once the status is no
    longer `submitted`, triage's whole outcome is committed. No timed assertion: a request
    never triaged fails the test with TimeoutError."""
    async with asyncio.timeout(60):
        while True:
            answer = await client.get(f"/aid-requests/{request_id}", headers=headers)
            assert answer.status_code == 200, answer.text
            view: dict[str, Any] = answer.json()
            if view["status"] != "submitted":
                return view
            await asyncio.sleep(0.02)


async def submit_triaged(
    client: Any, body: dict[str, Any], headers: dict[str, str], **post: Any
) -> dict[str, Any]:
    """POST the aid request (201 `submitted`), then wait until it is triaged (`triaged`):
    the request as its submitter reads it after triage."""
    created = await client.post("/aid-requests", json=body, headers=headers, **post)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "submitted", created.text
    return await triaged(client, created.json()["request_id"], headers)
