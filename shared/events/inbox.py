"""The idempotent consumer: every event's effect is applied exactly once.

For each message, in partition order, the consumer opens one transaction, inserts a
processed-event row keyed by (consumer group, event id) and, only if that row is new, runs the
handler in the same transaction. Redelivery — after a crash, a rebalance, or a relay that
published twice — finds the row and does nothing. Offsets are committed explicitly after the
transactions of a batch commit; a crash in between means redelivery, which the inbox absorbs.

A message that cannot be parsed, or whose handler keeps failing after bounded retries with
backoff, goes to the group's dead-letter topic with the error and its original topic,
partition and offset, and the partition moves on: one poison message never blocks the rest.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import BaseModel, ValidationError
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import tracing
from shared.events.catalog import Catalog, dead_letter_topic
from shared.events.envelope import CloudEvent, service_source
from shared.events.kafka import KafkaSecurity, create_consumer
from shared.faults import crash_point
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, CONSUMER_PROCESSED, CONSUMER_TRANSIENT_RETRIES
from shared.retry import Backoff
from shared.transient import is_transient
from shared.validation import validation_summary

log = get_logger(__name__)

Handler = Callable[[AsyncSession, CloudEvent, Any], Awaitable[None]]


DEAD_LETTER_MAX_VALUE_BYTES = 512 * 1024

CLOSE_TIMEOUT_SECONDS = 3.0
"""How long leaving the group may take: with the broker away it would wait out a request
timeout (40 s); the group then notices the member gone by its session timeout instead."""


def dead_letter_of(
    message: ConsumerRecord[bytes, bytes], group_id: str, error: str
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The value and headers a group's dead letter for `message` carries: the original (or,
    when too large, a prefix of it) and where it came from, why, and when."""
    headers = [
        ("dlq.error", error.encode()[:4000]),
        ("dlq.original_topic", message.topic.encode()),
        ("dlq.original_partition", str(message.partition).encode()),
        ("dlq.original_offset", str(message.offset).encode()),
        ("dlq.consumer_group", group_id.encode()),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
    ]
    value = message.value
    if value is not None and len(value) > DEAD_LETTER_MAX_VALUE_BYTES:
        # The original may sit just under the broker's limit; with our headers it would
        # not. Keep a prefix to diagnose by; the original stays on its topic.
        headers.append(("dlq.truncated_from", str(len(value)).encode()))
        value = value[:DEAD_LETTER_MAX_VALUE_BYTES]
    return value, headers


class PoisonMessage(Exception):
    """A handler raises this when retrying cannot help (the event contradicts itself)."""


def _inbox_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("consumer_group", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Inbox:
    """The processed-events table of one service's schema."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = _inbox_table(metadata)

    async def claim(
        self, session: AsyncSession, *, consumer_group: str, event: CloudEvent, message: Any
    ) -> bool:
        """Record the event as processed; False if this group has processed it before."""
        inserted = await session.scalar(
            insert(self.table)
            .values(
                consumer_group=consumer_group,
                event_id=event.id,
                event_type=event.type,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
            )
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        return inserted is not None

    async def claim_many(
        self, session: AsyncSession, *, consumer_group: str, events: list[tuple[CloudEvent, Any]]
    ) -> set[uuid.UUID]:
        """Record a batch of (event, message) as processed in one statement; the ids of the
        events this group had not processed before."""
        if not events:
            return set()
        rows = [
            {
                "consumer_group": consumer_group,
                "event_id": event.id,
                "event_type": event.type,
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
            }
            for event, message in events
        ]
        inserted = await session.scalars(
            insert(self.table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        return set(inserted)


@dataclass(frozen=True)
class _Route:
    handler: Handler
    data_model: type[BaseModel] | None  # None: a catch-all route, handed `event.data` as is


class EventRouter:
    """Groups handlers by event type, like a FastAPI router groups routes.

    router = EventRouter(CATALOG)

    @router.on(NgoUpdated)
    async def keep_replica(session, event, data: NgoUpdated) -> None: ...
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._routes: dict[str, _Route] = {}
        self._catch_all: _Route | None = None
        self._catch_all_topics: set[str] = set()

    def on(self, data_model: type[BaseModel]) -> Callable[[Handler], Handler]:
        entry = self.catalog.for_model(data_model)

        def register(handler: Handler) -> Handler:
            if entry.name in self._routes:
                raise ValueError(f"{entry.name} already has a handler in this router")
            self._routes[entry.name] = _Route(handler, data_model)
            return handler

        return register

    def on_any(self, *topics: str) -> Callable[[Handler], Handler]:
        """Register one handler for every event on `topics` that has no typed handler here
        (an audit trail, an archive). It receives `event.data` as a plain dict."""

        def register(handler: Handler) -> Handler:
            if self._catch_all is not None:
                raise ValueError("this router already has a catch-all handler")
            self._catch_all = _Route(handler, None)
            self._catch_all_topics.update(topics)
            return handler

        return register

    def include(self, other: EventRouter) -> None:
        for event_type, route in other._routes.items():
            if event_type in self._routes:
                raise ValueError(f"{event_type} already has a handler in this router")
            self._routes[event_type] = route

    def producer_source(self, topic: str) -> str | None:
        """The CloudEvents `source` every event on `topic` must carry: its producing
        service's (the catalog's `Topic.producer`); None for a topic without one (DLQs)."""
        producer = self.catalog.producer_of(topic)
        return service_source(producer) if producer else None

    @property
    def topics(self) -> list[str]:
        typed = {
            self.catalog.for_model(route.data_model).topic.name
            for route in self._routes.values()
            if route.data_model is not None
        }
        return sorted(typed | self._catch_all_topics)

    def route(self, event_type: str) -> _Route | None:
        return self._routes.get(event_type, self._catch_all)


class InboxConsumer:
    """Consumes a router's topics as one consumer group, applying each event exactly once."""

    def __init__(
        self,
        *,
        group_id: str,
        router: EventRouter,
        inbox: Inbox,
        sessionmaker: async_sessionmaker[AsyncSession],
        bootstrap_servers: str,
        producer: AIOKafkaProducer,
        security: KafkaSecurity | None = None,
        batch_size: int = 200,
        max_attempts: int = 5,
        retry_backoff: float = 0.2,
        transient_backoff_cap: float = 5.0,
        max_poll_interval_ms: int = 300_000,
        dead_letters_to: str | None = None,
    ) -> None:
        self.group_id = group_id
        self.router = router
        self.inbox = inbox
        self.sessionmaker = sessionmaker
        self.bootstrap_servers = bootstrap_servers
        self.producer = producer
        self.security = security
        self.batch_size = batch_size
        self.max_poll_interval_ms = max_poll_interval_ms
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.backoff = Backoff(base=retry_backoff, cap=max(retry_backoff, transient_backoff_cap))
        # A replay under a throwaway group (a rebuild) dead-letters where the live group does.
        self.dead_letter_topic = dead_letters_to or dead_letter_topic(group_id).name
        self._consumer: AIOKafkaConsumer | None = None
        self._stop_requested = False

    def request_stop(self) -> None:
        """Take no new batch: `run` finishes the batch in hand (its transactions and its offset
        commit) and returns. A shutdown waits for that, bounded, before it cancels."""
        self._stop_requested = True

    async def run(self) -> None:
        """Consume until cancelled, or until a stop was requested and the batch in hand is
        done."""
        consumer = create_consumer(
            *self.router.topics,
            bootstrap_servers=self.bootstrap_servers,
            security=self.security,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            isolation_level="read_committed",
            max_poll_interval_ms=self.max_poll_interval_ms,
        )
        self._consumer = consumer
        try:
            # Inside the try: a consumer cancelled while it joins the group must still leave
            # it, or the next member waits out the session timeout before it gets partitions.
            await consumer.start()
            log.info("consumer.started", group=self.group_id, topics=self.router.topics)
            while not self._stop_requested:
                batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                if not batches:
                    continue
                offsets: dict[TopicPartition, int] = {}
                for partition, messages in batches.items():
                    await self.process_batch(messages)
                    offsets[partition] = messages[-1].offset + 1
                crash_point("consumer.before_offset_commit")
                try:
                    await consumer.commit(offsets)
                except (CommitFailedError, IllegalStateError) as exc:
                    # The partitions were revoked while the batch ran (a rebalance, or a
                    # batch slower than max.poll.interval.ms). Their new owner re-reads from
                    # the last committed offset and the inbox absorbs what we applied.
                    log.warning(
                        "consumer.commit_after_revoke", group=self.group_id, error=repr(exc)
                    )
                    continue
                await self._record_lag(consumer, list(offsets))
            log.info("consumer.stopped", group=self.group_id)
        finally:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await consumer.stop()
            except TimeoutError:
                log.warning("consumer.close_timed_out", group=self.group_id)

    async def process_batch(self, messages: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply one partition's messages in order, in one transaction when all goes well.

        Why batch: a transaction and an inbox insert per event cost round trips that dominate
        a consumer's time. So the fast path claims the whole batch in the inbox with one
        statement and runs the handlers of the new events in one transaction. If anything in
        the batch is poison or a handler fails, that transaction rolls back and the batch takes
        the careful path instead: one message at a time, in order (later events of the same
        aggregate must not overtake a failed one), each with retries and the dead-letter topic.
        """
        parsed = [self._parse(message) for message in messages]
        failed_at: int | None = None
        if not any(isinstance(p, str) for p in parsed):
            failed_at = await self._apply_together(messages, parsed)
            if failed_at is None:
                return
        for index, message in enumerate(messages):
            # The handler that failed on the fast path has had one of its attempts.
            await self.process(message, attempts_used=1 if index == failed_at else 0)

    async def _apply_together(
        self,
        messages: list[ConsumerRecord[bytes, bytes]],
        parsed: list[tuple[CloudEvent, _Route, Any] | str | None],
    ) -> int | None:
        """The fast path. None when the batch committed, else the index whose handler failed
        (nothing of the batch was committed then)."""
        work = [
            (index, message, item)
            for index, (message, item) in enumerate(zip(messages, parsed, strict=True))
            if isinstance(item, tuple)
        ]
        outcomes = {"ignored": len(messages) - len(work), "applied": 0, "duplicate": 0}
        current = 0
        try:
            async with self.sessionmaker() as session, session.begin():
                fresh = await self.inbox.claim_many(
                    session,
                    consumer_group=self.group_id,
                    events=[(item[0], message) for _, message, item in work],
                )
                for index, _, (event, route, data) in work:
                    current = index
                    if event.id not in fresh:
                        outcomes["duplicate"] += 1
                        continue
                    fresh.discard(event.id)  # the same event twice in one batch: once
                    tracing.set_current(tracing.child_of(event.traceparent))
                    await route.handler(session, event, data)
                    # Each event sees its own state, as it would one at a time: write what
                    # this handler changed and forget the objects it loaded, so the next
                    # handler for the same aggregate reads the rows afresh, not a stale copy
                    # from the shared identity map.
                    await session.flush()
                    session.expunge_all()
                    outcomes["applied"] += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("consumer.batch_fallback", group=self.group_id, error=repr(exc))
            # A transient failure is nobody's attempt: the careful path waits it out.
            return -1 if is_transient(exc) else current
        for outcome, count in outcomes.items():
            if count:
                CONSUMER_PROCESSED.labels(self.group_id, outcome).inc(count)
        return None

    def _parse(
        self, message: ConsumerRecord[bytes, bytes]
    ) -> tuple[CloudEvent, _Route, Any] | str | None:
        """(event, route, data); None for an event nobody here handles; an error text for a
        message that cannot be handled at all."""
        try:
            event = CloudEvent.from_json(message.value or b"")
        except ValidationError as exc:
            return f"not a CloudEvent: {validation_summary(exc.errors())}"
        route = self.router.route(event.type)
        if route is None:
            return None
        expected = self.router.producer_source(message.topic)
        if expected is not None and event.source != expected:
            # Only the topic's producer may speak on it: anything else is forged (or
            # misrouted), and applying it would let a writer claim another service's facts.
            return f"source {event.source!r} is not {expected!r}, the producer of {message.topic}"
        if route.data_model is None:
            return event, route, event.data
        try:
            return event, route, route.data_model.model_validate(event.data)
        except ValidationError as exc:
            return f"data does not match {event.type}: {validation_summary(exc.errors())}"

    async def process(
        self, message: ConsumerRecord[bytes, bytes], *, attempts_used: int = 0
    ) -> str:
        """Apply one message; returns the outcome that the metrics count."""
        outcome = await self._process(message, attempts_used)
        CONSUMER_PROCESSED.labels(self.group_id, outcome).inc()
        return outcome

    async def _process(self, message: ConsumerRecord[bytes, bytes], attempts_used: int) -> str:
        parsed = self._parse(message)
        if parsed is None:
            return "ignored"
        if isinstance(parsed, str):
            await self._dead_letter(message, parsed)
            return "dead_lettered"
        event, route, data = parsed

        tracing.set_current(tracing.child_of(event.traceparent))
        last_error: Exception | None = None
        attempt = attempts_used
        transient_waits = 0
        while attempt < self.max_attempts:
            if transient_waits:
                await self.backoff.sleep(transient_waits)
            elif attempt > 0:
                await self.backoff.sleep(attempt)
            try:
                async with self.sessionmaker() as session, session.begin():
                    first_time = await self.inbox.claim(
                        session, consumer_group=self.group_id, event=event, message=message
                    )
                    if not first_time:
                        return "duplicate"
                    await route.handler(session, event, data)
                return "applied"
            except PoisonMessage as exc:
                await self._dead_letter(message, f"rejected by handler: {exc}")
                return "dead_lettered"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                last_error = exc
                if is_transient(exc):
                    # The database (or the network to it) is away: the message is not at
                    # fault. Wait, without spending an attempt, for as long as it takes;
                    # the offset stays uncommitted, so a crash meanwhile loses nothing.
                    transient_waits += 1
                    CONSUMER_TRANSIENT_RETRIES.labels(self.group_id).inc()
                    if transient_waits == 1 or transient_waits % 20 == 0:
                        log.warning(
                            "consumer.waiting_for_database",
                            group=self.group_id,
                            event_id=str(event.id),
                            waits=transient_waits,
                            error=repr(exc),
                        )
                    continue
                transient_waits = 0
                attempt += 1
        attempts = max(self.max_attempts, attempts_used)
        log.error(
            "consumer.handler_failed",
            group=self.group_id,
            event_type=event.type,
            event_id=str(event.id),
            attempts=attempts,
            error=repr(last_error),
        )
        await self._dead_letter(message, f"handler failed {attempts} times: {last_error!r}")
        return "dead_lettered"

    async def _dead_letter(self, message: ConsumerRecord[bytes, bytes], error: str) -> None:
        log.warning(
            "consumer.dead_lettered",
            group=self.group_id,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            error=error,
        )
        value, headers = dead_letter_of(message, self.group_id, error)
        attempt = 0
        while True:
            # A dead letter must not be skipped: the offset is committed only after this
            # returns. Kafka being away is transient, so wait for it like for the database.
            try:
                ack = await asyncio.wait_for(
                    self.producer.send(
                        self.dead_letter_topic, value=value, key=message.key, headers=headers
                    ),
                    timeout=30,
                )
                await asyncio.wait_for(ack, timeout=30)
                return
            except asyncio.CancelledError:
                raise
            except (KafkaError, TimeoutError, OSError) as exc:
                attempt += 1
                log.warning(
                    "consumer.dead_letter_retry",
                    group=self.group_id,
                    attempt=attempt,
                    error=repr(exc),
                )
                await self.backoff.sleep(attempt)

    async def _record_lag(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        for partition in partitions:
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue
            position = await consumer.position(partition)
            CONSUMER_LAG.labels(self.group_id, partition.topic, str(partition.partition)).set(
                max(highwater - position, 0)
            )
