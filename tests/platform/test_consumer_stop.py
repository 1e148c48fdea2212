"""A consumer asked to stop (SIGTERM's first step) finishes the batch in hand: its transaction
commits and its offsets are committed, so nothing it applied is redelivered after a clean
stop. Before, a shutdown cancelled the consumer mid-transaction."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.kafka import create_consumer
from tests.platform.conftest import Rig
from tests.platform.harness import WidgetChanged

pytestmark = pytest.mark.integration


async def _committed(rig: Rig) -> int:
    consumer = create_consumer(bootstrap_servers=rig.bootstrap, group_id=rig.group)
    await consumer.start()
    try:
        total = 0
        for partition in range(3):  # the rig's topics have three
            total += (
                await consumer.committed(TopicPartition(rig.harness.topic.name, partition)) or 0
            )
        return total
    finally:
        await consumer.stop()


async def test_a_stop_request_lets_the_batch_in_hand_commit_with_its_offsets(rig: Rig) -> None:
    for seq in range(1, 4):
        await rig.change("w-stop", seq)  # one widget: one partition, in order
    relay = rig.relay()
    while await relay.publish_batch():
        pass
    await relay.close()
    entered, release = asyncio.Event(), asyncio.Event()
    router = EventRouter(rig.harness.catalog)

    @router.on(WidgetChanged)
    async def held(session: AsyncSession, event: CloudEvent, data: WidgetChanged) -> None:
        entered.set()
        await release.wait()  # the stop request arrives while this transaction is open
        await session.execute(
            rig.harness.effects.insert().values(
                event_id=str(event.id), widget_id=data.widget_id, seq=data.seq
            )
        )

    consumer = rig.consumer(router=router)
    running = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(60):
            await entered.wait()
        consumer.request_stop()
        release.set()
        async with asyncio.timeout(60):
            await running  # returns by itself: not cancelled
    finally:
        running.cancel()
    applied = await rig.effects()
    assert applied, "the batch in hand was not applied"
    assert [seq for _, _, seq in applied] == list(range(1, len(applied) + 1))
    assert await _committed(rig) == len(applied)
