"""What a running service owns: engine, Kafka producer, outbox relay and inbox consumers.

`ServiceRuntime.start()` is called from the app's lifespan. Postgres must be reachable for a
service to start; Kafka need not be. Field units keep posting while the link to the broker is
down: their writes land in the outbox, `/readyz` says Kafka is unreachable, and the runtime
keeps trying to connect, then starts the relay and consumers, which drain the backlog.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import ServiceSettings
from shared.db import create_engine, create_sessionmaker, plain_dsn
from shared.events.catalog import Catalog, Retention, Topic, dead_letter_topic
from shared.events.inbox import EventRouter, Inbox, InboxConsumer
from shared.events.kafka import (
    KafkaSecurity,
    TopicCreationFailed,
    create_producer,
    ensure_topics,
    kafka_reachable,
)
from shared.events.outbox import Outbox, OutboxRelay
from shared.events.pruning import prune_processed_events
from shared.logging import get_logger
from shared.retry import Backoff, jittered

log = get_logger(__name__)

HEALTHY_RUN_SECONDS = 60.0
RELAY_WEDGED_SECONDS = 120.0
OUTBOX_GAUGE_INTERVAL_SECONDS = 5.0

# Shutdown budget (SIGTERM → exit). Uvicorn first lets in-flight requests finish (its
# `--timeout-graceful-shutdown`, 10 s in deploy.stack); then `stop()` lets each consumer
# finish its batch, then closes everything, each wait bounded so that a broker or database
# that does not answer cannot hold the process: about 25 s in all, at worst.
CONSUMER_DRAIN_SECONDS = 8.0
TASK_CANCEL_SECONDS = 5.0
CLOSE_SECONDS = 3.0


@dataclass
class Consumes:
    """A consumer group of this service and the handlers it runs."""

    group_id: str
    router: EventRouter


BackgroundTask = Callable[["ServiceRuntime"], Awaitable[None]]
"""A loop a service runs beside its requests (expiry sweeps, offer deadlines, SLA clocks).

It must keep its state in the database, not in memory, so that a crash loses nothing: each
pass reads what is due, changes it in a transaction (with its outbox events), and sleeps.
Several replicas may run it at once; lock rows with `FOR UPDATE SKIP LOCKED`.
"""


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    catalog: Catalog
    outbox: Outbox
    inbox: Inbox
    consumes: list[Consumes] = field(default_factory=list)
    background: list[BackgroundTask] = field(default_factory=list)
    run_relay: bool = True
    run_background: bool = True
    run_consumers: bool = True

    engine: AsyncEngine = field(init=False)
    producer: AIOKafkaProducer = field(init=False)
    kafka_security: KafkaSecurity = field(init=False)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    backbone_engine: AsyncEngine = field(init=False)
    backbone_sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    relay: OutboxRelay | None = field(init=False, default=None)
    consumers: list[InboxConsumer] = field(init=False, default_factory=list)
    kafka_connected: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _stopping: bool = field(init=False, default=False)

    async def start(self) -> None:
        settings = self.settings
        self.engine = create_engine(
            settings.service_database_url,
            schema=settings.db_schema,
            application_name=settings.service_name,
            pool_size=settings.db_pool_size,
        )
        self.sessionmaker = create_sessionmaker(self.engine)
        # The backbone (relay, consumers, gauges) has its own small pool: a flood of HTTP
        # requests that holds every connection of the request pool must not starve the
        # relay that empties the outbox or the consumers that keep replicas current.
        self.backbone_engine = create_engine(
            settings.service_database_url,
            schema=settings.db_schema,
            application_name=f"{settings.service_name}.backbone",
            pool_size=2 + len(self.consumes),
        )
        self.backbone_sessionmaker = create_sessionmaker(self.backbone_engine)
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        self.kafka_security = KafkaSecurity.from_settings(settings)
        self.producer = create_producer(
            settings.kafka_bootstrap_servers,
            client_id=settings.service_name,
            security=self.kafka_security,
        )
        self._tasks.append(asyncio.create_task(self._connect_kafka(), name="kafka-connect"))
        # The backlog gauges come from their own loop, not the relay's: a relay blocked on
        # Kafka (or not started yet) must not freeze the numbers that show it is blocked.
        self._supervise("outbox-gauges", self._watch_outbox)
        if self.run_background:
            for task in self.background:
                self._supervise(getattr(task, "__name__", "background"), self._bind(task))

    def _bind(self, task: BackgroundTask) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await task(self)

        return run

    async def stop(self) -> None:
        """Shut down within a bounded time, even with Kafka or Postgres not answering.

        Consumers are asked to stop first and given `CONSUMER_DRAIN_SECONDS` to finish the
        batch in hand: its transactions commit and its offsets are committed, so nothing
        applied is redelivered after a clean stop. What is still running then is cancelled:
        a consumer mid-transaction rolls back (the inbox absorbs the redelivery), the relay
        leaves unacknowledged rows unmarked (sent again by the next relay). Messages the
        producer still holds unsent are dropped with it for the same reason: their rows stay
        in the outbox.
        """
        self._stopping = True
        for consumer in self.consumers:
            consumer.request_stop()
        draining = [task for task in self._tasks if task.get_name().startswith("consumer-")]
        if draining:
            _, busy = await asyncio.wait(draining, timeout=CONSUMER_DRAIN_SECONDS)
            if busy:
                log.warning("runtime.consumers_not_drained", tasks=[t.get_name() for t in busy])
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=TASK_CANCEL_SECONDS)
            if stuck:
                log.warning("runtime.tasks_not_cancelled", tasks=[t.get_name() for t in stuck])
        self._tasks.clear()
        if self.relay is not None:
            await _bounded("outbox relay", self.relay.close())
        await _bounded("kafka producer", self.producer.stop())
        await _bounded("database pool", self.engine.dispose())
        await _bounded("backbone database pool", self.backbone_engine.dispose())

    async def ready(self) -> dict[str, bool]:
        """What `/readyz` reports: is each dependency reachable right now."""
        try:
            # Through the backbone pool: a request pool busy with a flood of requests says
            # nothing about whether the database is reachable.
            async with asyncio.timeout(2), self.backbone_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            database = True
        except Exception:
            database = False
        kafka = self.kafka_connected.is_set() and await kafka_reachable(self.producer)
        checks = {"database": database, "kafka": kafka}
        if self.relay is not None:
            # A relay that made no progress for this long is stuck, whatever else answers.
            wedged_after = max(RELAY_WEDGED_SECONDS, 5 * self.settings.outbox_poll_interval_seconds)
            checks["outbox_relay"] = not self.relay.is_wedged(after_seconds=wedged_after)
        return checks

    def kafka_topics(self) -> list[Topic]:
        """The topics this service touches: those it produces, those its groups read, and
        their dead-letter topics. It checks they exist (creating them where its principal may;
        on an authenticated broker the admin has created them, deploy/kafka_access.py), and
        looks at no other: its principal may not even see the others."""
        name = self.outbox.service  # the service its events say they come from
        wanted = {t.name: t for t in self.catalog.topics() if t.producer == name}
        for spec in self.consumes:
            for topic in spec.router.topics:
                if topic not in wanted:
                    try:
                        wanted[topic] = self.catalog.topic(topic)
                    except KeyError:
                        wanted[topic] = Topic(
                            topic, f"read by {spec.group_id}", retention=Retention.log
                        )
            dead_letters = dead_letter_topic(spec.group_id)
            wanted.setdefault(dead_letters.name, dead_letters)
        return list(wanted.values())

    async def _connect_kafka(self) -> None:
        settings = self.settings
        topics = self.kafka_topics()
        backoff = Backoff(base=0.5, cap=10.0)
        attempt = 0
        while True:
            try:
                await ensure_topics(
                    settings.kafka_bootstrap_servers,
                    topics,
                    partitions=settings.kafka_partitions,
                    replication_factor=settings.kafka_replication_factor,
                    security=self.kafka_security,
                )
                await self.producer.start()
                break
            except asyncio.CancelledError:
                raise
            except TopicCreationFailed as exc:
                # Loud, and not ready, but not fatal: in a 3-broker cluster with one broker
                # still down, RF 3 is refused until it is back.
                attempt += 1
                delay = backoff.delay(attempt)
                log.error("kafka.topics_refused", error=str(exc), retry_in=round(delay, 3))
                await asyncio.sleep(delay)
            except Exception as exc:
                attempt += 1
                delay = backoff.delay(attempt)
                log.warning("kafka.unreachable", error=repr(exc), retry_in=round(delay, 3))
                await asyncio.sleep(delay)
        self.kafka_connected.set()
        log.info("kafka.connected", bootstrap=settings.kafka_bootstrap_servers)
        if self.run_relay:
            self.relay = OutboxRelay(
                outbox=self.outbox,
                engine=self.backbone_engine,
                producer=self.producer,
                listen_dsn=plain_dsn(settings.service_database_url),
                batch_size=settings.outbox_batch_size,
                poll_interval=settings.outbox_poll_interval_seconds,
            )
            self._supervise("outbox-relay", self.relay.run)
        if self.run_consumers:
            for spec in self.consumes:
                consumer = InboxConsumer(
                    group_id=spec.group_id,
                    router=spec.router,
                    inbox=self.inbox,
                    sessionmaker=self.backbone_sessionmaker,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    producer=self.producer,
                    security=self.kafka_security,
                    batch_size=settings.consumer_batch_size,
                    max_attempts=settings.consumer_max_attempts,
                )
                self.consumers.append(consumer)
                self._supervise(f"consumer-{spec.group_id}", consumer.run)
            if self.consumes:
                self._supervise("inbox-pruning", self._prune_inbox)

    async def _prune_inbox(self) -> None:
        """Every hour or so, delete the processed-event rows no delivery can need any more."""
        settings = self.settings
        while True:
            await asyncio.sleep(jittered(settings.inbox_prune_interval_seconds))
            for spec in self.consumes:
                try:
                    await prune_processed_events(
                        self.backbone_engine,
                        self.inbox,
                        group_id=spec.group_id,
                        bootstrap_servers=settings.kafka_bootstrap_servers,
                        security=self.kafka_security,
                        retention=timedelta(seconds=settings.inbox_retention_seconds),
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("inbox.prune_failed", group=spec.group_id, error=repr(exc))

    async def _watch_outbox(self) -> None:
        while True:
            try:
                await self.outbox.record_backlog(self.backbone_engine)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("outbox.gauges_unavailable", error=repr(exc))
            await asyncio.sleep(OUTBOX_GAUGE_INTERVAL_SECONDS)

    def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run a loop forever; if it dies of an unexpected error, log it and start it again."""

        async def supervised() -> None:
            backoff = Backoff(base=0.5, cap=30.0)
            crashes = 0
            while not self._stopping:
                started = time.monotonic()
                try:
                    await run()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # A loop that ran healthily for a while before this crash starts the
                    # backoff afresh: one crash a day must not wait as long as a crash loop.
                    crashes = 1 if time.monotonic() - started > HEALTHY_RUN_SECONDS else crashes + 1
                    delay = backoff.delay(crashes)
                    log.exception("runtime.task_crashed", task=name, restart_in=round(delay, 3))
                    await asyncio.sleep(delay)

        self._tasks.append(asyncio.create_task(supervised(), name=name))


async def _bounded(what: str, closing: Awaitable[None]) -> None:
    """Wait for one close step at most `CLOSE_SECONDS`; a shutdown never hangs on it."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await closing
    except TimeoutError:
        log.warning("runtime.close_timed_out", what=what)
    except Exception as exc:
        log.warning("runtime.close_failed", what=what, error=repr(exc))
