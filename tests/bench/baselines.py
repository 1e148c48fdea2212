"""What the bare database and the bare broker do on this machine, measured in the same run.

- `bare_insert_loop`: `concurrency` asyncpg connections, each looping BEGIN; INSERT an
  aid-request row; INSERT an outbox row; COMMIT — one commit per transaction, into a scratch
  schema whose tables are copies of the service's own (`LIKE … INCLUDING ALL`: the same
  columns, defaults, identity and indexes, plus the outbox's NOTIFY trigger), filled with the
  values of a row the service itself wrote. This is the limit for intake: what Postgres does
  with the same two rows and no application in between.
- `kafka_round_trip`: an aiokafka producer with the services' settings (`acks=all`,
  idempotence, `linger_ms=5`) sends messages of the events' size at a fixed rate to a fresh
  topic; a consumer of no group reads them. Latency is from each message's intended send
  time to its arrival. This is the limit for anything that crosses Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events.kafka import create_admin, create_consumer, create_producer, topic_partitions
from shared.events.outbox import notify_trigger_sql

SCRATCH = "bench_scratch"
SOURCE = "humanitarian_requests"
ROUND_TRIP_TOPIC = "concord.bench.round_trip"


@dataclass
class LoopResult:
    transactions: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.transactions / self.elapsed if self.elapsed else 0.0


async def _templates(conn: asyncpg.Connection) -> tuple[dict[str, Any], dict[str, Any]]:
    """One aid request and one of its outbox rows, as the service wrote them."""
    request = await conn.fetchrow(
        f"SELECT * FROM {SOURCE}.aid_requests ORDER BY submitted_at LIMIT 1"
    )
    outbox = await conn.fetchrow(
        f"SELECT * FROM {SOURCE}.outbox WHERE event_type LIKE '%aid_request.submitted%' "
        "ORDER BY id LIMIT 1"
    )
    if request is None or outbox is None:
        raise RuntimeError("the baseline copies a request the service wrote: submit one first")
    outbox_row = dict(outbox)
    del outbox_row["id"]  # GENERATED ALWAYS AS IDENTITY
    return dict(request), outbox_row


async def prepare_scratch(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE")
        await conn.execute(f"CREATE SCHEMA {SCRATCH}")
        for table in ("aid_requests", "outbox"):
            await conn.execute(
                f"CREATE TABLE {SCRATCH}.{table} (LIKE {SOURCE}.{table} INCLUDING ALL)"
            )
        for statement in notify_trigger_sql(SCRATCH):
            await conn.execute(statement)
    finally:
        await conn.close()


def _insert_sql(table: str, columns: list[str]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {SCRATCH}.{table} ({names}) VALUES ({values})"


async def bare_insert_loop(database_url: str, *, concurrency: int, duration: float) -> LoopResult:
    """Transactions per second of the two rows, `concurrency` connections, for `duration` s."""
    await prepare_scratch(database_url)
    setup = await asyncpg.connect(database_url)
    try:
        request, outbox = await _templates(setup)
    finally:
        await setup.close()
    request_columns, outbox_columns = list(request), list(outbox)
    request_sql = _insert_sql("aid_requests", request_columns)
    outbox_sql = _insert_sql("outbox", outbox_columns)
    result = LoopResult()
    connections = [await asyncpg.connect(database_url) for _ in range(concurrency)]
    stop_at = 0.0

    async def worker(conn: asyncpg.Connection, worker_id: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            request_id = uuid.uuid4()
            row = {**request, "id": request_id, "cluster_id": request_id}
            row["client_id"] = f"bare-{worker_id}-{n}"
            event = {**outbox, "event_id": uuid.uuid4(), "message_key": str(request_id)}
            started = time.monotonic()
            try:
                async with conn.transaction():
                    await conn.execute(request_sql, *(row[c] for c in request_columns))
                    await conn.execute(outbox_sql, *(event[c] for c in outbox_columns))
            except (asyncpg.PostgresError, OSError):
                result.errors += 1
                continue
            result.latencies_ms.append((time.monotonic() - started) * 1000)
            result.transactions += 1

    try:
        started = time.monotonic()
        stop_at = started + duration
        await asyncio.gather(*(worker(c, i) for i, c in enumerate(connections)))
        result.elapsed = time.monotonic() - started
    finally:
        for conn in connections:
            await conn.close()
        cleanup = await asyncpg.connect(database_url)
        try:
            await cleanup.execute(f"DROP SCHEMA {SCRATCH} CASCADE")
        finally:
            await cleanup.close()
    return result


@dataclass
class RoundTrip:
    sent: int = 0
    received: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)


async def _round_trip_topic(bootstrap: str) -> None:
    admin = create_admin(bootstrap_servers=bootstrap, client_id="bench")
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [NewTopic(name=ROUND_TRIP_TOPIC, num_partitions=3, replication_factor=1)]
            )
    finally:
        await admin.close()


WARM_UP_MESSAGES = 30


async def _warm_up(producer: Any, consumer: AIOKafkaConsumer, partitions: int) -> None:
    """Send and receive a few messages before the timed ones, on every partition.

    The first send to a topic waits for its metadata and the producer's idempotence handshake,
    and the first fetch of each partition for a fetch session: hundreds of milliseconds that
    a service's long-running producer paid long before the measured window. Left in, they are
    the top percent of a short run and the p99 is start-up, not the round trip. Negative keys:
    the timed receiver ignores them."""
    sends = [
        await producer.send(ROUND_TRIP_TOPIC, value=b"{}", key=b"%d" % -(i + 1))
        for i in range(max(WARM_UP_MESSAGES, partitions))
    ]
    await asyncio.gather(*sends)
    seen = 0
    async with asyncio.timeout(30):
        while seen < len(sends):
            batches = await consumer.getmany(timeout_ms=200)
            seen += sum(len(messages) for messages in batches.values())


async def kafka_round_trip(bootstrap: str, *, rate: float, duration: float, size: int) -> RoundTrip:
    """Open loop at `rate` messages/s of `size` bytes; latency from intended send to arrival."""
    await _round_trip_topic(bootstrap)
    result = RoundTrip()
    producer = create_producer(bootstrap, client_id="bench-round-trip")
    consumer = create_consumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    total = int(rate * duration)
    due: dict[int, float] = {}
    try:
        found = await topic_partitions(consumer, ROUND_TRIP_TOPIC, attempts=100)
        partitions = [TopicPartition(ROUND_TRIP_TOPIC, p) for p in sorted(found)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:  # resolve the positions before the first send
            await consumer.position(partition)
        await _warm_up(producer, consumer, len(partitions))

        async def receive() -> None:
            while result.received < total:
                batches = await consumer.getmany(timeout_ms=100)
                arrived = time.monotonic()
                for messages in batches.values():
                    for message in messages:
                        index = int(message.key or b"-1")
                        if index in due:
                            result.latencies_ms.append((arrived - due.pop(index)) * 1000)
                            result.received += 1

        receiver = asyncio.create_task(receive())
        padding = b"x" * max(size - 20, 1)
        start = time.monotonic() + 0.05
        pending = []
        for index in range(total):
            when = start + index / rate
            delay = when - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            due[index] = when
            try:
                pending.append(
                    await producer.send(
                        ROUND_TRIP_TOPIC, value=b'{"pad":"' + padding + b'"}', key=b"%d" % index
                    )
                )
                result.sent += 1
            except Exception:
                result.errors += 1
                due.pop(index, None)
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, BaseException):
                result.errors += 1
        try:
            await asyncio.wait_for(receiver, timeout=30)
        except TimeoutError:
            result.errors += total - result.received
    finally:
        await consumer.stop()
        await producer.stop()
    return result
