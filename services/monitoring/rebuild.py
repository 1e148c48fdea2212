"""Rebuild every read model from the topics: `python -m services.monitoring.rebuild`.

The read-model tables are truncated, then a fresh consumer (no group offsets; its own inbox
group, so a duplicated message is still applied once) reads every partition of the
read-model topics from the beginning up to the end offsets seen at the start, through the
same handlers the live consumer runs. SLA clocks are engine state, not a read model: the
replay leaves them alone and raises or clears nothing; the alert feed is rebuilt from the
SLA topic like everything else.

The replay may run beside a live consumer: an event the live consumer applies first makes
the older states of the same entity stale (versions), so the two never double-count. The
dashboard shows partial figures until the replay ends.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.monitoring.config import Settings
from services.monitoring.consumers import READ_MODEL_GROUP, build_read_model_router
from services.monitoring.db.models import inbox
from services.monitoring.db.models.read_models import READ_MODEL_TABLES
from services.monitoring.retention.service import purge_read_models
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import dead_letter_topic
from shared.events.inbox import InboxConsumer
from shared.events.kafka import (
    KafkaSecurity,
    create_consumer,
    create_producer,
    ensure_topics,
    topic_partitions,
)
from shared.logging import get_logger

log = get_logger(__name__)

# Columns that number rows in arrival order: they differ between two builds of the same state.
ARRIVAL_COLUMNS = {"position"}


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    found: list[TopicPartition] = []
    for topic in topics:
        found.extend(
            TopicPartition(topic, p) for p in sorted(await topic_partitions(consumer, topic))
        )
    return found


async def rebuild(settings: Settings) -> dict[str, int]:
    """Truncate the read models and replay the topics into them. Returns how many messages
    were read and how many distinct events were applied (the rest were duplicates or of
    types monitoring does not keep)."""
    engine = create_engine(
        settings.service_database_url,
        schema=settings.db_schema,
        application_name="monitoring-rebuild",
        pool_size=2,
    )
    sessionmaker = create_sessionmaker(engine)
    router = build_read_model_router(settings, sla=False, live=False)
    group = f"monitoring.rebuild.{uuid.uuid4().hex[:12]}"
    security = KafkaSecurity.from_settings(settings)
    producer = create_producer(settings.kafka_bootstrap_servers, client_id=group, security=security)
    consumer = create_consumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security=security,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=settings.consumer_batch_size,
    )
    outcomes = {"messages": 0, "applied": 0}
    try:
        names = ", ".join(t.name for t in READ_MODEL_TABLES)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names}"))
        dead_letters = dead_letter_topic(READ_MODEL_GROUP)
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [dead_letters],
            partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
            security=security,
        )
        await producer.start()
        await consumer.start()
        partitions = await _partitions(consumer, router.topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        applier = InboxConsumer(
            group_id=group,
            router=router,
            inbox=inbox,
            sessionmaker=sessionmaker,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            producer=producer,
            security=security,
            max_attempts=settings.consumer_max_attempts,
            # A poison message the live group already dead-lettered goes to the same topic,
            # which exists (the topic of a throwaway group would not: a send to it waits).
            dead_letters_to=dead_letters.name,
        )
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, messages in batches.items():
                wanted = [m for m in messages if m.offset < ends[tp]]
                outcomes["messages"] += len(wanted)
                await applier.process_batch(wanted)  # one transaction per batch, in order
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
                    consumer.pause(tp)
        # What retention purged must not come back with the replay.
        async with sessionmaker() as session, session.begin():
            purged = await purge_read_models(
                session,
                cutoff=datetime.now(UTC) - timedelta(days=settings.retention_restricted_days),
                internal_cutoff=datetime.now(UTC)
                - timedelta(days=settings.retention_internal_days),
            )
        outcomes["purged"] = purged.total
        async with engine.connect() as conn:
            outcomes["applied"] = int(
                await conn.scalar(select(func.count()).where(inbox.table.c.consumer_group == group))
                or 0
            )
        log.info("rebuild.done", **outcomes)
        return outcomes
    finally:
        await consumer.stop()
        await producer.stop()
        async with engine.begin() as conn:
            await conn.execute(delete(inbox.table).where(inbox.table.c.consumer_group == group))
        await engine.dispose()


async def read_model_snapshot(conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, minus arrival-order columns, sorted: equal snapshots mean equal
    read models."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for table in READ_MODEL_TABLES:
        columns = [c for c in table.c if c.name not in ARRIVAL_COLUMNS]
        rows = (await conn.execute(select(*columns))).all()
        snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


def main() -> int:
    outcomes = asyncio.run(rebuild(Settings()))
    print(" ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) or "nothing to replay")
    return 0


if __name__ == "__main__":
    sys.exit(main())
