"""Event backbone: commit-to-effect latency and throughput through outbox, Kafka and inbox.

Latency is measured with the database's clock at both ends: the outbox row's `created_at`
(the producing transaction) and the effect row's `applied_at` (the consuming transaction).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from sqlalchemy import func, select

from deploy.stack import LocalStack
from shared.db import create_engine, create_sessionmaker, plain_dsn
from shared.events.catalog import dead_letter_topic
from shared.events.inbox import InboxConsumer
from shared.events.kafka import create_producer, ensure_topics
from shared.events.outbox import OutboxRelay
from tests.platform.harness import Harness, unique_name

LATENCY_EVENTS = 500
THROUGHPUT_EVENTS = 20_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(stack: LocalStack) -> dict[str, str]:
    assert stack.database_url and stack.kafka_bootstrap_servers
    url, bootstrap = stack.database_url, stack.kafka_bootstrap_servers
    harness = Harness(unique_name("bench_backbone"), unique_name("concord.bench.widgets"))
    group = unique_name("bench-group")
    engine = create_engine(url, schema=harness.schema, application_name="bench", pool_size=20)
    sessionmaker = create_sessionmaker(engine)
    await harness.create_schema(engine)
    await ensure_topics(
        bootstrap, [harness.topic, dead_letter_topic(group)], partitions=3, replication_factor=1
    )
    producer = create_producer(bootstrap, client_id="bench")
    await producer.start()
    relay = OutboxRelay(
        outbox=harness.outbox, engine=engine, producer=producer, listen_dsn=plain_dsn(url)
    )
    consumer = InboxConsumer(
        group_id=group,
        router=harness.router,
        inbox=harness.inbox,
        sessionmaker=sessionmaker,
        bootstrap_servers=bootstrap,
        producer=producer,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    results: dict[str, str] = {}
    try:
        # Warm up: the consumer has joined its group and the relay its listener.
        async with sessionmaker() as session, session.begin():
            await harness.change_widget(session, "warm-up", 0)
        await _wait_effects(engine, harness, 1)
        # Latency: one event per transaction, 50 per second, as a busy field office would.
        for i in range(LATENCY_EVENTS):
            async with sessionmaker() as session, session.begin():
                await harness.change_widget(session, f"w-{i % 50}", i)
            await asyncio.sleep(0.02)
        await _wait_effects(engine, harness, LATENCY_EVENTS + 1)
        latencies = await _latencies(engine, harness)
        results["backbone_latency_p50_ms"] = f"{percentile(latencies, 0.5):.1f}"
        results["backbone_latency_p99_ms"] = f"{percentile(latencies, 0.99):.1f}"
        results["backbone_latency_mean_ms"] = f"{statistics.mean(latencies):.1f}"

        # Throughput: a backlog of 20,000 events committed while the relay and consumer are
        # stopped (as after an outage), then drained: relay rate and end-to-end rate.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for start in range(0, THROUGHPUT_EVENTS, 500):
            async with sessionmaker() as session, session.begin():
                for i in range(start, start + 500):
                    await harness.change_widget(session, f"t-{i % 200}", i)
        started = time.perf_counter()
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
        await _wait_unpublished(engine, harness, 0)
        relayed = time.perf_counter() - started
        await _wait_effects(engine, harness, 1 + LATENCY_EVENTS + THROUGHPUT_EVENTS, timeout=600)
        total = time.perf_counter() - started
        results["backbone_relay_events_per_s"] = f"{THROUGHPUT_EVENTS / relayed:.0f}"
        results["backbone_drain_events_per_s"] = f"{THROUGHPUT_EVENTS / total:.0f}"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await relay.close()
        await producer.stop()
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"DROP SCHEMA {harness.schema} CASCADE")
        await engine.dispose()
    return results


async def _wait_effects(engine, harness: Harness, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        async with engine.connect() as conn:
            have = await conn.scalar(select(func.count()).select_from(harness.effects))
        if have >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{have}/{count} effects after {timeout} s")
        await asyncio.sleep(0.2)


async def _wait_unpublished(engine, harness: Harness, count: int, timeout: float = 600) -> None:
    table = harness.outbox.table
    deadline = time.monotonic() + timeout
    while True:
        async with engine.connect() as conn:
            have = await conn.scalar(
                select(func.count()).select_from(table).where(table.c.published_at.is_(None))
            )
        if have <= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{have} unpublished after {timeout} s")
        await asyncio.sleep(0.1)


async def _latencies(engine, harness: Harness) -> list[float]:
    outbox, effects = harness.outbox.table, harness.effects
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(func.extract("epoch", effects.c.applied_at - outbox.c.created_at) * 1000).join(
                outbox, outbox.c.event_id == func.cast(effects.c.event_id, outbox.c.event_id.type)
            )
        )
        return [float(r[0]) for r in rows]
