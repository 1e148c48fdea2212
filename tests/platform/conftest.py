"""A rig per test: the harness service on a fresh schema and fresh topics, on the real stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_engine, create_sessionmaker, plain_dsn
from shared.events.catalog import dead_letter_topic
from shared.events.inbox import EventRouter, InboxConsumer
from shared.events.kafka import create_producer, ensure_topics
from shared.events.outbox import OutboxRelay
from tests.platform.harness import Harness, unique_name


@dataclass
class Rig:
    harness: Harness
    database_url: str
    bootstrap: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer
    group: str

    def relay(
        self, *, poll_interval: float = 0.2, engine: AsyncEngine | None = None
    ) -> OutboxRelay:
        return OutboxRelay(
            outbox=self.harness.outbox,
            engine=engine or self.engine,
            producer=self.producer,
            listen_dsn=plain_dsn(self.database_url),
            poll_interval=poll_interval,
        )

    def consumer(
        self,
        *,
        max_attempts: int = 3,
        retry_backoff: float = 0.01,
        router: EventRouter | None = None,
    ) -> InboxConsumer:
        return InboxConsumer(
            group_id=self.group,
            router=router or self.harness.router,
            inbox=self.harness.inbox,
            sessionmaker=self.sessionmaker,
            bootstrap_servers=self.bootstrap,
            producer=self.producer,
            max_attempts=max_attempts,
            retry_backoff=retry_backoff,
        )

    async def effects(self) -> list[tuple[str, str, int]]:
        """(event id, widget id, seq) of every applied effect, in the order applied."""
        table = self.harness.effects
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(table.c.event_id, table.c.widget_id, table.c.seq).order_by(table.c.id)
            )
            return [(row.event_id, row.widget_id, row.seq) for row in rows]

    async def unpublished(self) -> int:
        table = self.harness.outbox.table
        async with self.engine.connect() as conn:
            count = await conn.scalar(select(func.count()).where(table.c.published_at.is_(None)))
            return int(count or 0)

    async def change(self, widget_id: str, seq: int) -> str:
        async with self.sessionmaker() as session, session.begin():
            event = await self.harness.change_widget(session, widget_id, seq)
        return str(event.id)


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.1)


@pytest.fixture
async def rig(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Rig]:
    schema = unique_name("platform_test")
    # The topic is the schema's (concord.<producer>.…): consumers accept an event only
    # from its topic's producer, and the harness's outbox signs as its schema.
    harness = Harness(schema, f"concord.{schema}.widgets")
    group = unique_name("test-group")
    engine = create_engine(database_url, schema=harness.schema, application_name="platform-test")
    await harness.create_schema(engine)
    await ensure_topics(
        kafka_bootstrap,
        [harness.topic, harness.parked_type.topic, dead_letter_topic(group)],
        partitions=3,
        replication_factor=1,
    )
    producer = create_producer(kafka_bootstrap, client_id="platform-test")
    await producer.start()
    try:
        yield Rig(
            harness,
            database_url,
            kafka_bootstrap,
            engine,
            create_sessionmaker(engine),
            producer,
            group,
        )
    finally:
        await producer.stop()
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"DROP SCHEMA {harness.schema} CASCADE")
        await engine.dispose()
