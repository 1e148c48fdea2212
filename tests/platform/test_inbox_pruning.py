"""Pruning processed-event rows: only those no delivery can need any more go. A row stays while
it is younger than the retention, while its offset is at or above the group's committed offset
(a crash or rebalance redelivers from there), and while Kafka still holds its message (an
offset reset would replay it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import RecordsToDelete
from sqlalchemy import select, update

from shared.events.inbox import InboxConsumer
from shared.events.kafka import create_admin, create_consumer
from shared.events.pruning import prune_processed_events
from shared.retry import jittered
from shared.testing import committed_to_end
from tests.platform.conftest import Rig, wait_for

pytestmark = pytest.mark.integration

RETENTION = timedelta(days=7)


@contextlib.asynccontextmanager
async def running_consumer(consumer: InboxConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        consumer.request_stop()
        try:
            async with asyncio.timeout(30):
                await task
        finally:
            task.cancel()


async def _offsets_kept(rig: Rig) -> list[int]:
    table = rig.harness.inbox.table
    async with rig.engine.connect() as conn:
        rows = await conn.scalars(
            select(table.c.offset).where(table.c.consumer_group == rig.group).order_by("offset")
        )
        return list(rows)


async def _prune(rig: Rig) -> int:
    return await prune_processed_events(
        rig.engine,
        rig.harness.inbox,
        group_id=rig.group,
        bootstrap_servers=rig.bootstrap,
        retention=RETENTION,
        batch_size=2,  # several delete rounds per partition
    )


async def _delete_records_before(rig: Rig, partition: TopicPartition, offset: int) -> None:
    admin = create_admin(bootstrap_servers=rig.bootstrap)
    await admin.start()
    try:
        await admin.delete_records({partition: RecordsToDelete(before_offset=offset)})
    finally:
        await admin.close()


async def _rewind_committed(rig: Rig, partition: TopicPartition, offset: int) -> None:
    """As after a crash between the transactions and the offset commit."""
    consumer = create_consumer(
        bootstrap_servers=rig.bootstrap, group_id=rig.group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.commit({partition: offset})
    finally:
        await consumer.stop()


async def test_only_rows_no_delivery_can_need_are_pruned(rig: Rig) -> None:
    for seq in range(6):
        await rig.change("w-prune", seq)  # one widget: one partition, offsets 0 to 5
    relay = rig.relay()
    while await relay.publish_batch():
        pass
    await relay.close()
    consumer = rig.consumer()
    topics = [rig.harness.topic.name]
    async with running_consumer(consumer):
        await wait_for(
            lambda: committed_to_end(rig.bootstrap, rig.group, topics), what="all consumed"
        )
    table = rig.harness.inbox.table
    async with rig.engine.connect() as conn:
        partition_number = await conn.scalar(select(table.c.partition).limit(1))
    partition = TopicPartition(rig.harness.topic.name, int(partition_number))
    assert await _offsets_kept(rig) == [0, 1, 2, 3, 4, 5]

    await _rewind_committed(rig, partition, 4)  # offsets 4 and 5: applied, not committed
    async with rig.engine.begin() as conn:  # all old but offset 1
        await conn.execute(
            update(table)
            .where(table.c.consumer_group == rig.group, table.c.offset != 1)
            .values(processed_at=table.c.processed_at - RETENTION - timedelta(hours=1))
        )

    assert await _prune(rig) == 0  # Kafka still holds every message: a reset could replay it
    await _delete_records_before(rig, partition, 3)
    assert await _prune(rig) == 2  # offsets 0 and 2 (offset 1 is recent)
    assert await _offsets_kept(rig) == [1, 3, 4, 5]
    await _delete_records_before(rig, partition, 6)
    assert await _prune(rig) == 1  # offset 3; 4 and 5 are at or above the committed offset
    assert await _offsets_kept(rig) == [1, 4, 5]


def test_the_pruning_interval_is_jittered_within_its_spread() -> None:
    delays = [jittered(3600) for _ in range(200)]
    assert all(2880 <= delay <= 4320 for delay in delays)
    assert len(set(delays)) > 1  # replicas started together do not stay in step
