"""The consumer's batch fast path runs the real replica handler with the effects it has one
event at a time: two versions of one NGO in one batch (losing its agreement, then getting it
back) withdraw its pending offer and move the request on exactly as they do one by one.

Why this needs a real handler: the replica handler mixes Core upserts with ORM objects
(requests and offers loaded with `populate_existing`, changed in memory). In one shared
session across a batch, the second event's reload would throw away the first event's
unflushed changes, or its queries would miss them; each event must see its own state.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import text

from services.humanitarian_requests.app import REPLICA_GROUP
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import inbox
from services.humanitarian_requests.matching.handlers import replica_router_for
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    eligibility_changed,
    ngo_state,
    point_in,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import Retention, Topic
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, service_source
from shared.events.inbox import InboxConsumer
from shared.events.kafka import create_consumer, create_producer, ensure_topics
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import NgoState
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

SECTOR = Sector.peacebuilding  # no other test grants it: each ranking below is ours alone
# One county per story and way of consuming it, so that no story's NGOs rank in another's.
COUNTIES = {
    ("moves_on", "one_at_a_time"): "SS0208",
    ("moves_on", "batch"): "SS0207",
    ("escalates", "one_at_a_time"): "SS0206",
    ("escalates", "batch"): "SS0205",
}


@pytest.fixture
async def service_sessions(settings: Settings) -> AsyncIterator[Any]:
    engine = create_engine(
        settings.service_database_url, schema=settings.db_schema, application_name="test"
    )
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _through_kafka(
    bootstrap: str, states: list[NgoState]
) -> list[ConsumerRecord[bytes, bytes]]:
    """The states as the consumer receives them: CloudEvents produced to a topic of this test
    (the service's own replica consumer must not apply them) and read back from the broker."""
    # Under the registry's prefix: consumers accept these events only from their topic's producer.
    topic = Topic(
        f"concord.ngo_registry.replica_batch_{uuid.uuid4().hex[:10]}",
        "this test only",
        retention=Retention.state,
    )
    await ensure_topics(bootstrap, [topic], partitions=1, replication_factor=1)
    producer = create_producer(bootstrap, client_id="replica-batch-test")
    await producer.start()
    try:
        for state in states:
            event = CloudEvent(
                source=service_source("ngo_registry"),
                type=CATALOG.for_model(type(state)).name,
                subject=str(state.ngo_id),
                data=state.model_dump(mode="json"),
            )
            await producer.send_and_wait(
                topic.name,
                value=event.to_json(),
                key=event.kafka_key,
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
            )
    finally:
        await producer.stop()
    consumer = create_consumer(
        topic.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(30):
            while len(records) < len(states):
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def _final_state(sessionmaker: Any, request_id: str, names: dict[str, str]) -> dict[str, Any]:
    """What the two events left behind, with NGO ids replaced by their role in the story."""
    async with sessionmaker() as session:
        request = (
            await session.execute(
                text("SELECT status, offered_ngo_id, version FROM aid_requests WHERE id = :id"),
                {"id": request_id},
            )
        ).one()
        offers = (
            await session.execute(
                text(
                    "SELECT ngo_id, status, round, version FROM offers WHERE request_id = :id "
                    "ORDER BY round"
                ),
                {"id": request_id},
            )
        ).all()
        history = (
            await session.scalars(
                text("SELECT event_type FROM history WHERE entity_id = :id ORDER BY id"),
                {"id": request_id},
            )
        ).all()
        events = (
            await session.scalars(
                text(
                    "SELECT event_type FROM outbox "
                    "WHERE envelope->'data'->>'request_id' = :id ORDER BY id"
                ),
                {"id": request_id},
            )
        ).all()
        replica = (
            await session.execute(
                text("SELECT version, eligible FROM ngo_replica WHERE ngo_id = :id"),
                {"id": next(ngo for ngo, name in names.items() if name == "first")},
            )
        ).one()
    return {
        "request": (request.status, names.get(str(request.offered_ngo_id)), request.version),
        "offers": [(names[str(o.ngo_id)], o.status, o.round, o.version) for o in offers],
        "history": list(history),
        "events": list(events),
        "first_ngo_replica": tuple(replica),
    }


async def _story(
    story: str,
    how: str,
    *,
    client: httpx.AsyncClient,
    settings: Settings,
    bootstrap: str,
    database_url: str,
    sessionmaker: Any,
) -> dict[str, Any]:
    county = COUNTIES[story, how]
    first = ngo_state(name=f"First {story} {how}", sector=SECTOR, pcodes=[county])
    await publish_registry_events(bootstrap, [first])
    await wait_for_replica(database_url, first.ngo_id, 1)
    request = await submit_triaged(
        client,
        aid_request_body(sector=SECTOR, location=point_in(county)),
        bearer(settings, "field_unit", unit_id=unique_unit()),
    )
    assert request["offered_ngo_id"] == str(first.ngo_id)
    names = {str(first.ngo_id): "first"}
    if story == "moves_on":
        second = ngo_state(name=f"Second {story} {how}", sector=SECTOR, pcodes=[county])
        await publish_registry_events(bootstrap, [second])
        await wait_for_replica(database_url, second.ngo_id, 1)
        names[str(second.ngo_id)] = "second"

    # Two versions of the first NGO: it loses its agreement, then gets it back.
    records = await _through_kafka(
        bootstrap,
        [
            eligibility_changed(first, eligible=False, version=2),
            eligibility_changed(first, eligible=True, version=3),
        ],
    )
    producer = create_producer(bootstrap, client_id="replica-batch-test")
    await producer.start()
    try:
        consumer = InboxConsumer(
            group_id=f"{REPLICA_GROUP}.test-{uuid.uuid4().hex[:8]}",
            router=replica_router_for(settings),
            inbox=inbox,
            sessionmaker=sessionmaker,
            bootstrap_servers=bootstrap,
            producer=producer,
        )
        if how == "batch":

            async def no_fallback(*args: object, **kwargs: object) -> str:
                raise AssertionError("the batch left its fast path: nothing compared")

            consumer.process = no_fallback  # type: ignore[method-assign]
            await consumer.process_batch(records)
        else:
            for record in records:
                assert await consumer.process(record) == "applied"
    finally:
        await producer.stop()
    return await _final_state(sessionmaker, request["request_id"], names)


@pytest.mark.parametrize("story", ["moves_on", "escalates"])
async def test_two_versions_of_one_ngo_in_one_batch_have_their_one_at_a_time_effects(
    story: str,
    client: httpx.AsyncClient,
    settings: Settings,
    kafka_bootstrap: str,
    database_url: str,
    service_sessions: Any,
) -> None:
    """The first NGO holds the request's offer; it loses its agreement (its offer is
    withdrawn: the request moves on to a second NGO, or is escalated when there is none),
    then gets the agreement back, which changes nothing more."""
    arguments = {
        "client": client,
        "settings": settings,
        "bootstrap": kafka_bootstrap,
        "database_url": database_url,
        "sessionmaker": service_sessions,
    }
    one_at_a_time = await _story(story, "one_at_a_time", **arguments)
    if story == "moves_on":
        assert one_at_a_time["request"][:2] == ("offered", "second")
        assert [o[:2] for o in one_at_a_time["offers"]] == [
            ("first", "withdrawn"),
            ("second", "pending"),
        ]
    else:
        assert one_at_a_time["request"][:2] == ("escalated", None)
        assert [o[:2] for o in one_at_a_time["offers"]] == [("first", "withdrawn")]
    assert one_at_a_time["first_ngo_replica"] == (3, True)

    batch = await _story(story, "batch", **arguments)
    assert batch == one_at_a_time
