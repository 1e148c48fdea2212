"""The event backbone, in-process, against the real Kafka and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict

import orjson
import pytest

from shared.db import create_engine
from shared.events.catalog import dead_letter_topic
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.kafka import create_consumer
from shared.events.outbox import RestrictedDataOnOpenTopic
from shared.events.schemas.backbone import backbone_topic, refused_event_type
from shared.testing import committed_to_end, end_offset_total, read_events
from tests.platform.conftest import Rig, wait_for
from tests.platform.harness import WidgetChanged

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running(*loops):
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_rolled_back_change_never_publishes_its_event(rig: Rig) -> None:
    async with rig.sessionmaker() as session, session.begin():
        doomed = await rig.harness.change_widget(session, "w-doomed", 1)
        await session.rollback()
    control = await rig.change("w-control", 1)

    relay = rig.relay()
    while await relay.publish_batch():
        pass

    seen = await read_events(
        rig.bootstrap,
        [rig.harness.topic.name],
        until=lambda got: any(str(e.id) == control for e in got),
    )
    assert str(doomed.id) not in {str(e.id) for e in seen}
    assert await rig.unpublished() == 0
    async with rig.engine.connect() as conn:
        widgets = (await conn.execute(rig.harness.widgets.select())).all()
    assert [w.widget_id for w in widgets] == ["w-control"]


async def test_event_envelope_is_cloudevents_with_sequence_and_key(rig: Rig) -> None:
    event_id = await rig.change("w-env", 7)
    await rig.relay().publish_batch()
    [event] = await read_events(
        rig.bootstrap,
        [rig.harness.topic.name],
        until=lambda got: len(got) == 1,
        where=lambda e: str(e.id) == event_id,
    )
    assert event.specversion == "1.0"
    assert event.type == "concord.platform_test.widget.changed.v1"
    assert event.subject == "w-env"
    assert event.source == f"/concord/{rig.harness.schema}"
    assert event.sequence is not None and int(event.sequence) > 0
    assert WidgetChanged.model_validate(event.data).seq == 7


async def test_restricted_data_is_refused_on_an_ngo_topic(rig: Rig) -> None:
    """Refused, the caller's change rolls back; the refusal itself is recorded in a
    transaction of its own, naming the event and never its data, for the registry to open a
    data incident from (`services/ngo_registry/tests/test_data_incidents.py`)."""

    async def change_that_leaks() -> None:
        async with rig.sessionmaker() as session, session.begin():
            await rig.harness.change_widget(session, "w-rolled-back", 1)
            await rig.harness.outbox.add(
                session,
                WidgetChanged(widget_id="w-secret", seq=1, sensitivity="restricted"),
                subject="w-secret",
            )

    with pytest.raises(RestrictedDataOnOpenTopic):
        await change_that_leaks()
    table = rig.harness.outbox.table
    async with rig.engine.connect() as conn:
        rows = (await conn.execute(table.select().where(table.c.published_at.is_(None)))).all()
    # Neither the refused event nor the rolled-back change; the refusal, once.
    assert not [r for r in rows if r.message_key in ("w-secret", "w-rolled-back")]
    [row] = [r for r in rows if r.envelope["data"].get("subject") == "w-secret"]
    assert row.event_type == refused_event_type(rig.harness.schema)
    assert row.topic == backbone_topic(rig.harness.schema).name
    refusal = row.envelope["data"]
    assert refusal["event_type"] == "concord.platform_test.widget.changed.v1"
    assert refusal["topic"] == rig.harness.topic.name and refusal["subject"] == "w-secret"
    # What it names, and nothing of the refused event's data.
    assert set(refusal) == {"service", "refusal_id", "event_type", "topic", "subject", "refused_at"}
    assert "sensitivity" not in orjson.dumps(row.envelope).decode()
    async with rig.engine.begin() as conn:
        await conn.execute(table.delete().where(table.c.id == row.id))


async def test_relay_is_woken_by_notify_not_by_its_poll(rig: Rig) -> None:
    relay = rig.relay(poll_interval=30.0)  # a poll would take 30 s; NOTIFY must be faster
    async with running(relay.run()):
        await asyncio.sleep(0.5)  # the relay is idle, waiting on its listener
        await rig.change("w-notify", 1)
        await wait_for(lambda: _none_unpublished(rig), timeout=10, what="publication")


async def _none_unpublished(rig: Rig) -> bool:
    return await rig.unpublished() == 0


async def test_per_key_order_is_preserved_from_outbox_to_consumer(rig: Rig) -> None:
    keys = [f"w-order-{i}" for i in range(4)]
    for seq in range(1, 41):
        for key in keys:
            await rig.change(key, seq)
    async with running(rig.relay().run(), rig.consumer().run()):
        await wait_for(lambda: _effect_count_is(rig, 160), what="160 effects")
    by_key: dict[str, list[int]] = defaultdict(list)
    for _, widget_id, seq in await rig.effects():
        by_key[widget_id].append(seq)
    assert set(by_key) == set(keys)
    for key in keys:
        assert by_key[key] == list(range(1, 41)), key


async def _all_consumed(rig: Rig) -> bool:
    return await committed_to_end(rig.bootstrap, rig.group, [rig.harness.topic.name])


async def _effect_count_is(rig: Rig, count: int) -> bool:
    return len(await rig.effects()) >= count


async def test_two_relays_never_publish_the_same_row_twice(rig: Rig) -> None:
    # Two instances as two replicas would run them: separate engines, separate connections.
    other_engine = create_engine(
        rig.database_url, schema=rig.harness.schema, application_name="second-relay"
    )
    relays = [rig.relay(), rig.relay(engine=other_engine)]
    expected: set[str] = set()
    async with running(*(r.run() for r in relays)):
        for seq in range(300):
            expected.add(await rig.change(f"w-race-{seq % 7}", seq))
        await wait_for(lambda: _none_unpublished(rig), what="all published")
    await other_engine.dispose()
    # Both relays are stopped; whatever they handed the producer is sent once it is flushed.
    # From then on the topic's end offsets count every message it will ever hold from them,
    # a stray duplicate included: read exactly that many, no sooner.
    await rig.producer.flush()
    total = await end_offset_total(rig.bootstrap, rig.harness.topic.name)
    seen = await read_events(
        rig.bootstrap, [rig.harness.topic.name], until=lambda got: len(got) >= total
    )
    ids = [str(e.id) for e in seen]
    assert total == len(ids) == len(set(ids)) == 300
    assert set(ids) == expected


async def test_redelivered_event_is_applied_once(rig: Rig) -> None:
    event_id = await rig.change("w-dup", 1)
    relay = rig.relay()
    await relay.publish_batch()
    # Publish the very same event again, as a relay that crashed before marking would.
    [event] = await read_events(
        rig.bootstrap, [rig.harness.topic.name], until=lambda got: len(got) == 1
    )
    await (await rig.producer.send(rig.harness.topic.name, event.to_json(), key=b"w-dup"))
    async with running(rig.consumer().run()):
        # Committed to the end: the duplicate behind the original has been consumed too.
        await wait_for(lambda: _all_consumed(rig), what="both copies consumed")
    assert [e[0] for e in await rig.effects()] == [event_id]


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    rig: Rig,
) -> None:
    topic = rig.harness.topic.name
    key = b"w-poison"  # one key: one partition, so the good events queue behind the bad ones
    good = [
        CloudEvent(
            source=f"/concord/{rig.harness.schema}",
            type="concord.platform_test.widget.changed.v1",
            subject="w-poison",
            data={"widget_id": "w-poison", "seq": seq},
        )
        for seq in (1, 2)
    ]
    not_json = b"{this is not json"
    wrong_data = CloudEvent(
        source=f"/concord/{rig.harness.schema}",
        type="concord.platform_test.widget.changed.v1",
        subject="w-poison",
        data={"widget_id": "w-poison", "seq": "not-a-number"},
    ).to_json()
    for value in (good[0].to_json(), not_json, wrong_data, good[1].to_json()):
        await (await rig.producer.send(topic, value, key=key))

    async with running(rig.consumer().run()):
        await wait_for(lambda: _effect_count_is(rig, 2), what="both good events")
    assert [e[2] for e in await rig.effects()] == [1, 2]

    dlq = dead_letter_topic(rig.group).name
    raw = await _read_raw(rig, dlq, count=2)
    assert [value for value, _ in raw] == [not_json, wrong_data]
    first_headers = raw[0][1]
    assert first_headers["dlq.original_topic"] == topic
    assert first_headers["dlq.consumer_group"] == rig.group
    assert "not a CloudEvent" in first_headers["dlq.error"]
    assert "seq" in raw[1][1]["dlq.error"]
    assert int(raw[1][1]["dlq.original_offset"]) == int(first_headers["dlq.original_offset"]) + 1


async def test_handler_that_keeps_failing_is_retried_then_dead_lettered(rig: Rig) -> None:
    attempts: list[str] = []

    async def failing(session, event, data) -> None:
        attempts.append(str(event.id))
        raise RuntimeError("downstream table is locked")

    router = EventRouter(rig.harness.catalog)
    router.on(WidgetChanged)(failing)
    event_id = await rig.change("w-fail", 1)
    await rig.relay().publish_batch()
    consumer = rig.consumer(max_attempts=3, router=router)
    async with running(consumer.run()):
        raw = await _read_raw(rig, dead_letter_topic(rig.group).name, count=1)
    assert attempts == [event_id] * 3
    assert "failed 3 times" in raw[0][1]["dlq.error"]
    assert orjson.loads(raw[0][0])["id"] == event_id
    # Nothing of the failed attempts stayed behind: no effect and no inbox row.
    assert await rig.effects() == []


async def _read_raw(rig: Rig, topic: str, *, count: int) -> list[tuple[bytes, dict[str, str]]]:
    consumer = create_consumer(
        topic,
        bootstrap_servers=rig.bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[bytes, dict[str, str]]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=300)
                for messages in batches.values():
                    for m in messages:
                        headers = {k: v.decode() for k, v in m.headers}
                        found.append((m.value, headers))
    finally:
        await consumer.stop()
    return found


async def test_transient_failure_mid_batch_keeps_order_and_applies_everything_once(
    rig: Rig,
) -> None:
    failed_once: set[int] = set()
    apply = rig.harness.router.route("concord.platform_test.widget.changed.v1").handler

    async def flaky(session, event, data) -> None:
        if data.seq in (4, 7) and data.seq not in failed_once:
            failed_once.add(data.seq)
            raise RuntimeError("deadlock detected")  # a failure that a retry cures
        await apply(session, event, data)

    router = EventRouter(rig.harness.catalog)
    router.on(WidgetChanged)(flaky)
    for seq in range(1, 11):
        await rig.change("w-flaky", seq)
    await rig.relay().publish_batch()
    async with running(rig.consumer(router=router).run()):
        await wait_for(lambda: _effect_count_is(rig, 10), what="10 effects")
        # Nothing left to redeliver: a retry of 4 or 7 applied twice would show by now.
        await wait_for(lambda: _all_consumed(rig), what="every message consumed")
    assert failed_once == {4, 7}
    assert [seq for _, _, seq in await rig.effects()] == list(range(1, 11))
