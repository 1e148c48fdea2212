"""Kill the relay and the consumer at their most dangerous moments; lose nothing, repeat nothing.

The relay and the consumer run as real processes (tests/platform/worker.py) and die by
`os._exit` at a named crash point — no cleanup, no flush, as if the power went.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from shared.events.kafka import create_consumer
from shared.faults import CRASH_ENV, CRASH_EXIT_CODE
from shared.testing import committed_to_end, end_offset_total, read_events
from tests.platform.conftest import Rig, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

ROOT = Path(__file__).resolve().parents[2]


async def start_worker(rig: Rig, mode: str, *, crash_at: str | None = None):
    args = [mode, rig.harness.schema, rig.harness.topic.name]
    if mode == "consume":
        args.append(rig.group)
    env = {
        **os.environ,
        "DATABASE_URL": rig.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": rig.bootstrap,
        "WORKER_SECONDS": "60",
    }
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.platform.worker", *args, cwd=ROOT, env=env
    )


async def stop(process) -> None:
    if process.returncode is None:
        process.terminate()
    await asyncio.wait_for(process.wait(), timeout=30)


async def test_relay_killed_after_kafka_ack_republishes_and_effects_apply_once(rig: Rig) -> None:
    event_ids = [await rig.change(f"w-{i % 5}", i) for i in range(50)]

    relay = await start_worker(rig, "relay", crash_at="relay.after_publish")
    assert await asyncio.wait_for(relay.wait(), timeout=60) == CRASH_EXIT_CODE

    # Kafka has the whole batch, but the rows were never marked: the crash came in between.
    # The relay process is dead: the topic holds all it will ever get from it.
    assert await end_offset_total(rig.bootstrap, rig.harness.topic.name) == 50
    published = await read_events(
        rig.bootstrap, [rig.harness.topic.name], until=lambda got: len(got) >= 50
    )
    assert sorted(str(e.id) for e in published) == sorted(event_ids)
    assert await rig.unpublished() == 50

    relay = await start_worker(rig, "relay")
    await wait_for(lambda: _unpublished_is(rig, 0), what="rows marked published")
    await stop(relay)
    # Every event is on the topic twice now, and no more than twice (end offsets count all).
    assert await end_offset_total(rig.bootstrap, rig.harness.topic.name) == 100
    twice = await read_events(
        rig.bootstrap, [rig.harness.topic.name], until=lambda got: len(got) >= 100
    )
    assert sorted(str(e.id) for e in twice) == sorted(event_ids * 2)

    consumer = await start_worker(rig, "consume")
    await wait_for(lambda: _effects_at_least(rig, 50), what="50 effects")
    # Committed to the end: the duplicates have been consumed too, and must change nothing.
    await wait_for(lambda: _all_consumed(rig), what="every copy consumed")
    await stop(consumer)
    applied = [event_id for event_id, _, _ in await rig.effects()]
    assert sorted(applied) == sorted(event_ids)


async def test_consumer_killed_before_offset_commit_applies_nothing_twice(rig: Rig) -> None:
    event_ids = [await rig.change(f"w-{i % 3}", i) for i in range(120)]
    relay = await start_worker(rig, "relay")
    await wait_for(lambda: _unpublished_is(rig, 0), what="all published")
    await stop(relay)

    consumer = await start_worker(rig, "consume", crash_at="consumer.before_offset_commit")
    assert await asyncio.wait_for(consumer.wait(), timeout=60) == CRASH_EXIT_CODE
    applied_before_crash = await rig.effects()
    assert applied_before_crash, "the first batch's transactions committed before the crash"
    assert await _committed_offsets(rig) == 0, "no offset was committed before the crash"

    consumer = await start_worker(rig, "consume")
    await wait_for(lambda: _effects_at_least(rig, 120), what="120 effects")
    # The redelivered first batch is behind us only once offsets reach the end.
    await wait_for(lambda: _all_consumed(rig), what="every message consumed")
    await stop(consumer)
    applied = [event_id for event_id, _, _ in await rig.effects()]
    assert len(applied) == 120
    assert sorted(applied) == sorted(event_ids)


async def _all_consumed(rig: Rig) -> bool:
    return await committed_to_end(rig.bootstrap, rig.group, [rig.harness.topic.name])


async def _unpublished_is(rig: Rig, count: int) -> bool:
    return await rig.unpublished() == count


async def _effects_at_least(rig: Rig, count: int) -> bool:
    return len(await rig.effects()) >= count


async def _committed_offsets(rig: Rig) -> int:
    consumer = create_consumer(bootstrap_servers=rig.bootstrap, group_id=rig.group)
    await consumer.start()
    try:
        total = 0
        for partition in range(3):
            offset = await consumer.committed(TopicPartition(rig.harness.topic.name, partition))
            total += offset or 0
        return total
    finally:
        await consumer.stop()
