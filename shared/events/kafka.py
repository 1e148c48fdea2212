"""Kafka clients configured the one way Concord uses them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

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


class TopicCreationFailed(RuntimeError):
    """The broker refused to create a topic (for another reason than that it exists)."""


def topic_configs(replication_factor: int) -> dict[str, str]:
    """The per-topic settings Concord creates topics with.

    Why `min.insync.replicas` = RF - 1: producers write with `acks=all`, which waits only for
    the replicas currently in sync. With the broker default of 1, a write acknowledged while
    the other replicas lag lives on one disk, and losing that broker loses it. RF - 1 keeps an
    acknowledged write on at least two brokers and still lets writes go on with one broker
    down. With one replica there is nothing to require.
    """
    if replication_factor > 1:
        return {"min.insync.replicas": str(replication_factor - 1)}
    return {}


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    *,
    partitions: int,
    replication_factor: int,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.

    Raises `TopicCreationFailed` naming each topic the broker refused to create."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="concord-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in {t.name: t for t in topics}.values() if t.name not in existing]
        await _create(admin, missing, partitions=partitions, replication_factor=replication_factor)
    finally:
        await admin.close()


async def create_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    *,
    partitions: int,
    replication_factor: int,
) -> None:
    """Create `topics` without looking first; one that exists already is fine."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="concord-admin")
    await admin.start()
    try:
        await _create(
            admin, list(topics), partitions=partitions, replication_factor=replication_factor
        )
    finally:
        await admin.close()


async def _create(
    admin: AIOKafkaAdminClient,
    topics: list[Topic],
    *,
    partitions: int,
    replication_factor: int,
) -> None:
    if not topics:
        return
    configs = topic_configs(replication_factor)
    response = await admin.create_topics(
        [
            NewTopic(
                name=topic.name,
                num_partitions=topic.partitions or partitions,
                replication_factor=replication_factor,
                topic_configs=configs,
            )
            for topic in topics
        ]
    )
    # The request succeeds as a whole; each topic's outcome is an error code in the answer.
    failures: list[str] = []
    created: list[str] = []
    for result in response.topic_errors:
        name, code = result[0], result[1]
        message = result[2] if len(result) > 2 else None
        if code == 0:
            created.append(name)
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            continue  # another service created it between our list and our create
        failures.append(f"{name}: {error.__name__}" + (f" ({message})" if message else ""))
    if created:
        log.info("kafka.topics_created", topics=created, configs=configs)
    if failures:
        raise TopicCreationFailed(
            f"the broker refused to create {len(failures)} topic(s) with replication factor "
            f"{replication_factor}: " + "; ".join(failures)
        )


async def kafka_reachable(producer: AIOKafkaProducer, *, timeout: float = 2.0) -> bool:
    """True when the cluster answers a metadata request in time."""
    try:
        async with asyncio.timeout(timeout):
            await producer.client.fetch_all_metadata()
    except (TimeoutError, KafkaError, OSError):
        return False
    return True
