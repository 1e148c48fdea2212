"""Builders of real catalog events for monitoring's tests, and a way to publish them.

Events are built from the contract models (so a contract change breaks these tests, as it
should) and produced to the real topics as CloudEvents, exactly as a relay would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, service_source
from shared.events.kafka import create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import ngo_registry as reg
from shared.testing import committed_offset_total, committed_to_end
from shared.vocabulary import Sector, Sensitivity, Urgency

T = TypeVar("T")
_sequence = iter(range(1_000_000_000, 2_000_000_000))


def now() -> datetime:
    return datetime.now(UTC)


def envelope(
    data: BaseModel, *, subject: uuid.UUID | str, at: datetime | None = None
) -> CloudEvent:
    entry = CATALOG.for_model(type(data))
    return CloudEvent(
        # From the topic's producer: consumers dead-letter anything else as forged.
        source=service_source(entry.topic.producer or "test"),
        type=entry.name,
        subject=str(subject),
        time=at or now(),
        data=data.model_dump(mode="json"),
        sequence=str(next(_sequence)),
    )


async def publish(bootstrap: str, events: Iterable[CloudEvent]) -> None:
    producer = create_producer(
        bootstrap, client_id="concord-test", acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for event in events:
            entry = CATALOG.by_type(event.type)
            assert entry is not None
            await producer.send_and_wait(
                entry.topic.name,
                value=orjson.dumps(event.model_dump(mode="json", exclude_none=True)),
                key=event.subject.encode(),
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
            )
    finally:
        await producer.stop()


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 45.0, every: float = 0.2
) -> T:
    """Wait until `probe()` returns something truthy (events are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met after {timeout} s (last: {result!r})")
        await asyncio.sleep(every)


async def projected(
    probe: Callable[[], Awaitable[T | None]],
    bootstrap: str,
    *,
    groups: tuple[str, ...] = ("monitoring.read_models", "monitoring.audit"),
    stall: float = 45.0,
    limit: float = 600.0,
) -> T:
    """Wait until `probe()` returns something truthy, as long as monitoring's consumer groups
    are making progress.

    The suite's topics are shared, and a monitoring app started late in a full run first
    works through every event the tests before it produced: a fixed deadline would fail for
    the backlog's size, not for this test's events. The deadline is pushed back while the
    groups' committed offsets still rise; it fails after `stall` seconds without progress,
    or after `limit` in all."""
    started = time.monotonic()
    deadline = started + stall
    seen = -1
    while True:
        result = await probe()
        if result:
            return result
        at = time.monotonic()
        done = sum([await committed_offset_total(bootstrap, group) for group in groups])
        if done > seen:
            seen, deadline = done, at + stall
        if at > deadline or at - started > limit:
            raise TimeoutError(
                f"condition not met: {groups} made no progress for {stall} s"
                f" or {limit} s passed (last: {result!r})"
            )
        await asyncio.sleep(0.2)


async def all_consumed(bootstrap: str, group: str, events: Iterable[CloudEvent]) -> None:
    """Wait until `group` has committed every message of the topics these events went to.

    What a dedup test waits on before it counts: a consumer commits an offset only after the
    message's effect (or its dead letter) is committed, so a duplicate published behind the
    originals has been seen and absorbed by then, where waiting for "at least N" could count
    before the duplicate arrived."""
    topics = sorted({_topic_of(event) for event in events})

    async def caught_up() -> bool | None:
        return await committed_to_end(bootstrap, group, topics) or None

    # As long as the group makes progress: in a full run it may first have a backlog.
    await projected(caught_up, bootstrap, groups=(group,))


def _topic_of(event: CloudEvent) -> str:
    entry = CATALOG.by_type(event.type)
    assert entry is not None, event.type
    return entry.topic.name


def aid_request(
    model: type[hr.AidRequestEvent] = hr.AidRequestSubmitted,
    *,
    request_id: uuid.UUID,
    version: int,
    status: hr.RequestStatus,
    submitted_at: datetime,
    sector: Sector = Sector.wash,
    urgency: Urgency = Urgency.urgent,
    pcode: str = "SS0101",
    admin1: str = "SS01",
    people: int = 100,
    sensitivity: Sensitivity = Sensitivity.internal,
    assigned_ngo_id: uuid.UUID | None = None,
    fulfilment: hr.Fulfilment = hr.Fulfilment.none,
    **times: datetime | None,
) -> hr.AidRequestEvent:
    """An aid-request event with the given state; `times` sets triaged_at, offered_at …"""
    fields: dict[str, Any] = {
        "request_id": request_id,
        "client_id": None,
        "status": status,
        "sector": sector,
        "urgency": urgency,
        "sensitivity": sensitivity,
        "title": f"Need in {pcode}",
        "description": None,
        "items": [{"item": "water", "quantity": 10, "unit": "m3", "delivered_quantity": 0}],
        "affected_population": {"total": people},
        "vulnerability": [],
        "location": {"lat": 4.85, "lon": 31.6, "pcode": pcode, "admin1": admin1},
        "access_constraints": [],
        "security_constraints": [],
        "reporting_unit": "unit-1",
        "contact": None,
        "priority_score": 50.0,
        "priority_overridden": False,
        "priority_reason": None,
        "cluster_id": request_id,
        "duplicate_of": None,
        "current_offer_id": None,
        "offered_ngo_id": None,
        "offer_deadline": None,
        "offer_round": 0,
        "assigned_ngo_id": assigned_ngo_id,
        "fulfilment": fulfilment,
        "escalation_reason": None,
        "cancellation_reason": None,
        "observed_at": submitted_at,
        "submitted_at": submitted_at,
        "triaged_at": None,
        "offered_at": None,
        "accepted_at": None,
        "in_progress_at": None,
        "fulfilled_at": None,
        "closed_at": None,
        "cancelled_at": None,
        "escalated_at": None,
        "updated_at": now(),
        "version": version,
        "actor": "field_unit:unit-1",
    }
    fields.update(times)
    return model(**fields)


def ngo(
    model: type[reg.NgoState] = reg.NgoRegistered,
    *,
    ngo_id: uuid.UUID,
    version: int,
    name: str,
    grants: list[tuple[Sector, list[str]]],
    eligible: bool = True,
) -> reg.NgoState:
    return model(
        ngo_id=ngo_id,
        name=name,
        ngo_type=reg.NgoType.national,
        hq_country="SS",
        sectors=[s for s, _ in grants],
        capacities=[reg.Capacity(resource="staff", quantity=20, unit="persons")],
        operating_areas=[p for _, ps in grants for p in ps],
        vetting_status=reg.VettingStatus.vetted if eligible else reg.VettingStatus.submitted,
        eligibility=[
            reg.EligibilityGrant(
                sector=s,
                pcodes=ps,
                agreement_id=uuid.uuid4(),
                valid_until=date.today() + timedelta(days=90),
            )
            for s, ps in grants
        ]
        if eligible
        else [],
        eligible=eligible,
        version=version,
        updated_at=now(),
    )


def incident(
    *, incident_id: uuid.UUID, version: int, pcode: str, occurred_at: datetime
) -> hr.IncidentReported:
    return hr.IncidentReported(
        incident_id=incident_id,
        client_id=None,
        incident_type=hr.IncidentType.attack_on_civilians,
        severity=hr.Severity.high,
        sensitivity=Sensitivity.internal,
        casualties=hr.Casualties(),
        occurred_at=occurred_at,
        observed_at=occurred_at,
        location=hr.Location(lat=4.85, lon=31.6, pcode=pcode, admin1=pcode[:4]),
        reporting_unit="unit-1",
        description=None,
        cluster_id=incident_id,
        duplicate_of=None,
        reported_at=occurred_at,
        updated_at=occurred_at,
        version=version,
    )
