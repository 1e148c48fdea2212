"""Backbone promises under faults that are not the message's fault, on the real stack."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import create_engine, create_sessionmaker, plain_dsn
from shared.events.catalog import dead_letter_topic
from shared.events.envelope import CloudEvent, service_source
from shared.events.kafka import create_producer
from shared.events.outbox import EventNotRepresentable, EventTooLarge
from shared.metrics import CONSUMER_TRANSIENT_RETRIES
from shared.testing import committed_to_end, end_offset_total, read_events
from tests.platform.conftest import Rig, wait_for
from tests.platform.harness import WidgetChanged
from tests.platform.tcp_proxy import TcpProxy

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


@contextlib.asynccontextmanager
async def database_through_proxy(rig: Rig):
    """(proxy, sessionmaker) for the rig's schema, reached through a TCP proxy."""
    url = make_url(rig.database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine(proxied, schema=rig.harness.schema, application_name="proxied")
    try:
        yield proxy, create_sessionmaker(engine)
    finally:
        await proxy.close()
        await engine.dispose()


def _transient_retries(group: str) -> float:
    return CONSUMER_TRANSIENT_RETRIES.labels(group)._value.get()


async def test_database_outage_is_waited_out_never_dead_lettered(rig: Rig) -> None:
    """The issue's 15-second Postgres stop: before the fix every event in flight went to the
    DLQ after five quick attempts and its effect was lost."""
    keys = [f"w-outage-{i}" for i in range(3)]
    for seq in range(1, 6):
        for key in keys:
            await rig.change(key, seq)
    await rig.relay().publish_batch()
    topics = [rig.harness.topic.name]

    async with database_through_proxy(rig) as (proxy, sessionmaker):
        await proxy.cut()
        consumer = rig.consumer(max_attempts=3, retry_backoff=0.01)
        consumer.sessionmaker = sessionmaker
        consumer.backoff = type(consumer.backoff)(base=0.01, cap=0.2)
        before = _transient_retries(rig.group)
        async with running(consumer.run()):
            # Far more failures than max_attempts, each of them a refused connection.
            await wait_for(
                lambda: _async(_transient_retries(rig.group) - before >= 10),
                what="the consumer retrying through the outage",
            )
            assert await rig.effects() == []
            await proxy.restore()
            await wait_for(
                lambda: committed_to_end(rig.bootstrap, rig.group, topics),
                what="offsets committed to the end",
            )
    effects = await rig.effects()
    assert sorted((widget, seq) for _, widget, seq in effects) == sorted(
        (key, seq) for key in keys for seq in range(1, 6)
    )
    for key in keys:
        assert [seq for _, widget, seq in effects if widget == key] == [1, 2, 3, 4, 5]
    assert await end_offset_total(rig.bootstrap, dead_letter_topic(rig.group).name) == 0


async def _async(value: bool) -> bool:
    return value


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(rig: Rig) -> None:
    """A restart closes every pooled connection. Without a ping on checkout (three round trips
    each time) the pool must still never hand one out: the first statement after the database
    is back succeeds, on a fresh connection."""
    async with database_through_proxy(rig) as (proxy, sessionmaker):
        async with sessionmaker() as session:
            first = await session.scalar(select(func.pg_backend_pid()))
        await proxy.cut()  # both sides of every proxied connection closed, as by a restart
        await proxy.restore()
        await wait_for(lambda: _backend_gone(rig, first), what="the cut backend to exit")
        async with sessionmaker() as session:
            second = await session.scalar(select(func.pg_backend_pid()))
    assert first is not None and second is not None
    assert second != first


async def _backend_gone(rig: Rig, pid: int) -> bool:
    connection = await asyncpg.connect(plain_dsn(rig.database_url))
    try:
        return not await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
        )
    finally:
        await connection.close()


async def _add_unchecked(
    rig: Rig, session: AsyncSession, data: WidgetChanged, *, subject: str
) -> None:
    """An outbox row as `Outbox.add` writes it, without its checks."""
    outbox = rig.harness.outbox
    entry = outbox.catalog.for_model(WidgetChanged)
    event = CloudEvent(
        source=service_source(outbox.service),
        type=entry.name,
        subject=subject,
        data=data.model_dump(mode="json"),
    )
    await session.execute(
        insert(outbox.table).values(
            event_id=event.id,
            event_type=event.type,
            topic=entry.topic.name,
            message_key=subject,
            envelope=event.model_dump(mode="json", exclude_none=True),
        )
    )


async def test_rows_kafka_can_never_take_are_parked_and_the_rows_behind_go_on(rig: Rig) -> None:
    """The issue's `1e20`: an integer past 64 bits survives JSONB but not orjson, and before
    the fix the relay retried it forever while nothing behind it was published.

    `Outbox.add` now refuses both kinds of row up front (asserted here too), so they are
    written straight into the table, as rows from before that check, or from any path that
    bypasses it, would be: the relay must still park them."""
    table = rig.harness.outbox.table
    huge_number = WidgetChanged(widget_id="w-huge-number", seq=10**20)
    big = "w" * 1_200_000  # over the size limit
    oversized = WidgetChanged(widget_id=big, seq=1)
    async with rig.sessionmaker() as session, session.begin():
        with pytest.raises(EventNotRepresentable):
            await rig.harness.outbox.add(session, huge_number, subject="w-huge-number")
        with pytest.raises(EventTooLarge):
            await rig.harness.outbox.add(session, oversized, subject=big)
    async with rig.sessionmaker() as session, session.begin():
        await _add_unchecked(rig, session, huge_number, subject="w-huge-number")
    async with rig.sessionmaker() as session, session.begin():
        await _add_unchecked(rig, session, oversized, subject=big)
    async with rig.sessionmaker() as session, session.begin():
        await rig.harness.change_widget(session, "w-unknown-topic", 1)
        # The same event, addressed to a topic the cluster does not have.
        await session.execute(
            update(table)
            .where(table.c.message_key == "w-unknown-topic")
            .values(topic=f"{rig.harness.topic.name}.missing")
        )
    behind = await rig.change("w-behind", 1)

    producer = create_producer(rig.bootstrap, client_id="parking-test")
    producer.client._request_timeout_ms = 3000  # the missing topic's metadata wait, shortened
    await producer.start()
    try:
        relay = rig.relay()
        relay.producer = producer
        assert await relay.publish_batch() == 4
        # Then the three alerts the parking wrote; parked rows are not picked up again.
        assert await relay.publish_batch() == 3
        assert await relay.publish_batch() == 0
    finally:
        await producer.stop()

    async with rig.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(table.c.message_key, table.c.published_at, table.c.failure)
                .where(table.c.event_type != rig.harness.parked_type.name)
                .order_by(table.c.id)
            )
        ).all()
    failures = {row.message_key[:20]: row.failure for row in rows if row.failure}
    assert "Integer exceeds 64-bit range" in failures["w-huge-number"]
    assert "byte limit" in failures["w" * 20]
    assert "does not exist" in failures["w-unknown-topic"]
    assert [row.message_key for row in rows if row.published_at is not None] == ["w-behind"]
    [event] = await read_events(
        rig.bootstrap,
        [rig.harness.topic.name],
        until=lambda got: len(got) == 1,
        where=lambda e: str(e.id) == behind,
    )
    assert event.subject == "w-behind"

    # Each parking raised an alert on the service's backbone topic, naming the row and its
    # error, never its data.
    parked_ids = {
        str(row.event_id): row.failure
        for row in (await _rows(rig, select(table.c.event_id, table.c.failure, table.c.event_type)))
        if row.failure and row.event_type != rig.harness.parked_type.name
    }
    alerts = await read_events(
        rig.bootstrap,
        [rig.harness.parked_type.topic.name],
        until=lambda got: len(got) == 3,
    )
    assert {e.type for e in alerts} == {rig.harness.parked_type.name}
    assert {e.data["event_id"]: e.data["failure"] for e in alerts} == parked_ids
    assert all("w" * 100 not in orjson.dumps(e.data).decode() for e in alerts)


async def _rows(rig: Rig, query: Any) -> list[Any]:
    async with rig.engine.connect() as conn:
        return list((await conn.execute(query)).all())
