"""Helpers for the joint planning tests: tokens, bodies, replica events, outbox checks.

Registry and incident events are produced to the real topics as CloudEvents built from the
catalog's own models, exactly as those services' relays would publish them; this service's
replica consumers pick them up from Kafka.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from services.joint_planning.config import Settings
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, service_source
from shared.events.kafka import create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    Casualties,
    IncidentReported,
    IncidentType,
    Location,
    Severity,
)
from shared.events.schemas.ngo_registry import (
    EligibilityGrant,
    NgoEligibilityChanged,
    NgoRegistered,
    NgoState,
    NgoType,
    VettingStatus,
)
from shared.gazetteer import distance_km, gazetteer
from shared.testing import SHARED_TEST_STATES, bearer
from shared.vocabulary import Sector, Sensitivity

NOW = datetime.now(UTC).replace(microsecond=0)


SHARED_COUNTIES = frozenset({"SS0101", "SS0102", "SS0103", "SS0201"})
"""Counties the default bodies use: tests that need a place of their own never get them."""


def _isolated_counties(apart_km: float = 25.0, clear_km: float = 55.0) -> list[str]:
    """Counties outside the shared test states, at least `clear_km` from any county of
    those states and `apart_km` from any other county.

    Other services' tests scatter incidents over the shared states (up to ~30 km from a
    county's centre); with a 15 km incident radius and 6 km routes, a test working in one of
    these counties meets neither those incidents nor another planning test's."""
    counties = gazetteer().at_level(2)
    shared = [a for a in counties if a.parent in SHARED_TEST_STATES]
    alone = [
        a.pcode
        for a in counties
        if a.parent not in SHARED_TEST_STATES
        and a.pcode not in SHARED_COUNTIES
        and min(distance_km(a.lat, a.lon, b.lat, b.lon) for b in counties if b is not a) >= apart_km
        and min(distance_km(a.lat, a.lon, b.lat, b.lon) for b in shared) >= clear_km
    ]
    random.Random(20261202).shuffle(alone)
    return alone


_FREE_COUNTIES = _isolated_counties()


def fresh_county() -> str:
    """A county no other test of this session works in."""
    if not _FREE_COUNTIES:
        raise LookupError("no isolated county left: the planning tests need more places")
    return _FREE_COUNTIES.pop()


def staff(settings: Settings) -> dict[str, str]:
    return bearer(settings, "ops_centre", subject="planner-amina")


def as_ngo(settings: Settings, ngo_id: uuid.UUID | str) -> dict[str, str]:
    return bearer(settings, "ngo", ngo_id=ngo_id)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def ngo_state(
    *,
    sector: Sector = Sector.wash,
    pcodes: Sequence[str] = ("SS01",),
    eligible: bool = True,
    version: int = 1,
    ngo_id: uuid.UUID | None = None,
    name: str | None = None,
    model: type[NgoState] = NgoRegistered,
) -> NgoState:
    grants = [
        EligibilityGrant(
            sector=sector,
            pcodes=list(pcodes),
            agreement_id=uuid.uuid4(),
            valid_until=date.today() + timedelta(days=90),
        )
    ]
    ngo_id = ngo_id or uuid.uuid4()
    return model(
        ngo_id=ngo_id,
        name=name or f"NGO {ngo_id.hex[:6]}",
        ngo_type=NgoType.national,
        hq_country="SS",
        sectors=[sector],
        capacities=[],
        operating_areas=list(pcodes),
        vetting_status=VettingStatus.vetted if eligible else VettingStatus.suspended,
        eligibility=grants if eligible else [],
        eligible=eligible,
        version=version,
        updated_at=datetime.now(UTC),
    )


def lose_eligibility(state: NgoState, *, version: int) -> NgoEligibilityChanged:
    data = state.model_dump()
    data.update(eligible=False, eligibility=[], version=version, updated_at=datetime.now(UTC))
    return NgoEligibilityChanged.model_validate(data)


def incident_state(
    *,
    lat: float,
    lon: float,
    occurred_at: datetime | None = None,
    incident_type: IncidentType = IncidentType.sgbv,
    sensitivity: Sensitivity = Sensitivity.restricted,
    version: int = 1,
) -> IncidentReported:
    county = gazetteer().nearest(lat, lon)
    moment = occurred_at or datetime.now(UTC) - timedelta(hours=2)
    return IncidentReported(
        incident_id=uuid.uuid4(),
        client_id=None,
        incident_type=incident_type,
        severity=Severity.high,
        sensitivity=sensitivity,
        casualties=Casualties(injured=2),
        occurred_at=moment,
        observed_at=moment,
        location=Location(lat=lat, lon=lon, pcode=county.pcode, admin1=county.parent),
        reporting_unit="unit-test",
        description="Survivor (name withheld) attacked at the checkpoint",
        cluster_id=uuid.uuid4(),
        duplicate_of=None,
        reported_at=moment,
        updated_at=moment,
        version=version,
    )


async def publish(
    bootstrap: str, service: str, subject_of: str, events: Sequence[BaseModel]
) -> list[uuid.UUID]:
    """Produce events as `service`'s relay would: CloudEvents keyed by the aggregate id."""
    ids: list[uuid.UUID] = []
    producer = create_producer(bootstrap, client_id="concord-test", acks="all")
    await producer.start()
    try:
        for data in events:
            entry = CATALOG.for_model(type(data))
            event = CloudEvent(
                source=service_source(service),
                type=entry.name,
                subject=str(getattr(data, subject_of)),
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


async def wait_until_processed(app: FastAPI, event_ids: Sequence[uuid.UUID]) -> None:
    """Wait until this service's inbox recorded every event (no sleeps standing in for it:
    a consumer that never gets there fails the test with TimeoutError)."""
    async with asyncio.timeout(60):
        while True:
            async with app.state.runtime.sessionmaker() as session:
                done = await session.scalar(
                    text("SELECT count(*) FROM processed_events WHERE event_id = ANY(:ids)"),
                    {"ids": list(event_ids)},
                )
            if done == len(set(event_ids)):
                return
            await asyncio.sleep(0.05)


async def registry_says(app: FastAPI, bootstrap: str, *states: NgoState) -> None:
    ids = await publish(bootstrap, "ngo_registry", "ngo_id", states)
    await wait_until_processed(app, ids)


async def incident_reported(app: FastAPI, bootstrap: str, *incidents: BaseModel) -> None:
    ids = await publish(bootstrap, "humanitarian_requests", "incident_id", incidents)
    await wait_until_processed(app, ids)


def operation_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Cholera response, Juba",
        "objectives": ["chlorinate water points", "set up oral rehydration points"],
        "sectors": ["wash"],
        "areas": ["SS0101"],
        "starts_at": iso(NOW + timedelta(days=1)),
        "ends_at": iso(NOW + timedelta(days=10)),
        "participants": [
            {
                "kind": "mission_component",
                "component": "civil_affairs",
                "name": "Civil Affairs Juba",
                "role": "lead",
                "responsibilities": ["coordination"],
            }
        ],
    }
    body.update(overrides)
    return body


async def create_operation(
    client: httpx.AsyncClient, settings: Settings, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/operations", json=operation_body(**overrides), headers=staff(settings)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def move(
    client: httpx.AsyncClient, settings: Settings, operation: dict[str, Any], status: str
) -> httpx.Response:
    return await client.post(
        f"/operations/{operation['operation_id']}/status",
        json={"status": status},
        headers={**staff(settings), "If-Match": f'"{operation["version"]}"'},
    )


async def create_live_operation(
    client: httpx.AsyncClient, settings: Settings, **overrides: Any
) -> dict[str, Any]:
    operation = await create_operation(client, settings, **overrides)
    planned = await move(client, settings, operation, "planned")
    assert planned.status_code == 200, planned.text
    body: dict[str, Any] = planned.json()
    return body


def point_of(pcode: str, *, d_lat: float = 0.0, d_lon: float = 0.0) -> dict[str, float]:
    area = gazetteer().areas[pcode]
    return {"lat": round(area.lat + d_lat, 5), "lon": round(area.lon + d_lon, 5)}


def movement_body(
    county: str = "SS0101",
    waypoints: list[dict[str, float]] | None = None,
    *,
    starts_at: datetime | None = None,
    hours: float = 6,
    **overrides: Any,
) -> dict[str, Any]:
    start = starts_at or NOW + timedelta(days=2)
    body: dict[str, Any] = {
        "kind": "movement",
        "waypoints": waypoints or [point_of(county), point_of(county, d_lat=0.05)],
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=hours)),
        "vehicles": [{"vehicle_type": "land cruiser", "count": 2, "markings": "NGO logo"}],
        "contact": {"name": "Field coordinator", "phone": "+211 900 000 001"},
    }
    body.update(overrides)
    return body


def site_body(pcode: str = "SS0101", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "static_site",
        "function": "cholera treatment unit",
        "location": point_of(pcode),
        "occupancy": 40,
        "starts_at": iso(NOW + timedelta(days=2)),
        "ends_at": iso(NOW + timedelta(days=20)),
        "contact": {"name": "Site manager"},
    }
    body.update(overrides)
    return body


async def outbox_types(app: FastAPI, subject: str | uuid.UUID) -> list[str]:
    """The event types this service wrote for one subject, in outbox order."""
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT event_type FROM outbox WHERE message_key = :key ORDER BY id"),
            {"key": str(subject)},
        )
        return [row.event_type for row in rows]


async def outbox_envelopes(app: FastAPI, subject: str | uuid.UUID) -> list[dict[str, Any]]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT envelope FROM outbox WHERE message_key = :key ORDER BY id"),
            {"key": str(subject)},
        )
        return [row.envelope for row in rows]
