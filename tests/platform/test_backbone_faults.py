"""Backbone promises under faults that are not the message's fault, on the real stack."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy.engine import make_url

from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import dead_letter_topic
from shared.metrics import CONSUMER_TRANSIENT_RETRIES
from shared.testing import committed_to_end, end_offset_total
from tests.platform.conftest import Rig, wait_for
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
