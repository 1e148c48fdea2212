"""Pruning the inbox: processed-event rows are deleted only once no delivery can need them.

A `processed_events` row is what makes a redelivered event a no-op, so deleting one too early
turns the next redelivery into a second effect. A message can come back in three ways: after
a crash or a rebalance (from the group's committed offset), after the group's offsets were
reset or expired (from the start of what the topic still holds: a service down for longer
than `offsets.retention.minutes` restarts from `earliest`), and as a relay's duplicate
(published again, under the same event id, after a crash between Kafka's acknowledgement and
the row's mark).

So a row goes only when all three are ruled out: its offset is below the group's committed
offset for its partition (normal redelivery starts there), below the partition's log start
offset (Kafka no longer holds the message at all, so no reset can replay it), and it is older
than the retention (a relay's duplicate follows its original within minutes, or within the
producing service's downtime; the retention, 7 days by default, covers both). When Kafka
cannot say where a partition stands, nothing of that partition is pruned.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events.inbox import Inbox
from shared.events.kafka import KafkaSecurity, create_consumer
from shared.logging import get_logger

log = get_logger(__name__)

KAFKA_TIMEOUT_SECONDS = 30.0


async def prune_processed_events(
    engine: AsyncEngine,
    inbox: Inbox,
    *,
    group_id: str,
    bootstrap_servers: str,
    retention: timedelta,
    security: KafkaSecurity | None = None,
    batch_size: int = 5_000,
) -> int:
    """Delete the group's rows that no delivery can need any more; how many were deleted."""
    table = inbox.table
    cutoff = datetime.now(UTC) - retention
    async with engine.connect() as conn:
        pairs = (
            await conn.execute(
                select(table.c.topic, table.c.partition)
                .where(table.c.consumer_group == group_id, table.c.processed_at < cutoff)
                .distinct()
            )
        ).all()
    if not pairs:
        return 0
    safe_below = await _safe_offsets(
        bootstrap_servers, group_id, [TopicPartition(t, p) for t, p in pairs], security
    )
    deleted = 0
    for partition, below in safe_below.items():
        while True:
            doomed = (
                select(table.c.consumer_group, table.c.event_id)
                .where(
                    table.c.consumer_group == group_id,
                    table.c.topic == partition.topic,
                    table.c.partition == partition.partition,
                    table.c.offset < below,
                    table.c.processed_at < cutoff,
                )
                .limit(batch_size)
            )
            async with engine.begin() as conn:
                result = await conn.execute(
                    delete(table).where(
                        tuple_(table.c.consumer_group, table.c.event_id).in_(doomed)
                    )
                )
            count = int(getattr(result, "rowcount", 0) or 0)
            deleted += count
            if count < batch_size:
                break
    if deleted:
        log.info("inbox.pruned", group=group_id, deleted=deleted)
    return deleted


async def _safe_offsets(
    bootstrap_servers: str,
    group_id: str,
    partitions: list[TopicPartition],
    security: KafkaSecurity | None = None,
) -> dict[TopicPartition, int]:
    """For each partition Kafka can answer for: the offset below which no message can come
    back to this group (the lower of its committed offset and the log start offset)."""
    # No subscription: this consumer never joins the group, so it triggers no rebalance; it
    # only reads the group's committed offsets.
    consumer = create_consumer(
        bootstrap_servers=bootstrap_servers,
        security=security,
        group_id=group_id,
        enable_auto_commit=False,
    )
    safe: dict[TopicPartition, int] = {}
    try:
        async with asyncio.timeout(KAFKA_TIMEOUT_SECONDS):
            await consumer.start()
            starts = await consumer.beginning_offsets(partitions)
            for partition in partitions:
                committed = await consumer.committed(partition)
                start = starts.get(partition)
                if committed is not None and start is not None:
                    safe[partition] = min(committed, start)
    except (TimeoutError, KafkaError, OSError) as exc:
        log.warning("inbox.prune_skipped", group=group_id, error=repr(exc))
        return {}
    finally:
        try:
            async with asyncio.timeout(5):
                await consumer.stop()
        except TimeoutError:
            log.warning("inbox.prune_consumer_close_timed_out", group=group_id)
    return safe
