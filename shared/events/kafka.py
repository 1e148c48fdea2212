"""Kafka clients configured the one way Concord uses them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events.catalog import Topic
from shared.logging import get_logger

log = get_logger(__name__)


def create_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica and never duplicates on its own retries."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30_000,
    )


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    *,
    partitions: int,
    replication_factor: int,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="concord-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=topic.name,
                num_partitions=topic.partitions or partitions,
                replication_factor=replication_factor,
            )
            for topic in {t.name: t for t in topics}.values()
            if topic.name not in existing
        ]
        if not missing:
            return
        # Another service may create one between list and create; that is fine.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(missing)
        log.info("kafka.topics_created", topics=[t.name for t in missing])
    finally:
        await admin.close()


async def kafka_reachable(producer: AIOKafkaProducer, *, timeout: float = 2.0) -> bool:
    """True when the cluster answers a metadata request in time."""
    try:
        async with asyncio.timeout(timeout):
            await producer.client.fetch_all_metadata()
    except (TimeoutError, KafkaError, OSError):
        return False
    return True
