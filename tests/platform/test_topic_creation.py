"""`ensure_topics` reads the broker's answer per topic: a topic it could not create fails
loudly (before, the error codes in the response were ignored and start-up went on with the
topic missing), and topics get `min.insync.replicas` = RF - 1 when RF > 1."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.catalog import Topic
from shared.events.kafka import (
    TopicCreationFailed,
    create_admin,
    create_topics,
    ensure_topics,
    topic_configs,
)
from tests.platform.harness import unique_name

pytestmark = pytest.mark.integration

DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs config_source: set on the topic itself


def test_min_insync_replicas_is_one_less_than_the_replication_factor() -> None:
    assert topic_configs(1) == {}
    assert topic_configs(2) == {"min.insync.replicas": "1"}
    assert topic_configs(3) == {"min.insync.replicas": "2"}
    assert topic_configs(5) == {"min.insync.replicas": "4"}


async def _topics(bootstrap: str) -> set[str]:
    admin = create_admin(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _wait_until_listed(bootstrap: str, name: str) -> None:
    """A created topic reaches the brokers' metadata a moment after the controller has it."""
    async with asyncio.timeout(30):
        while True:
            if name in await _topics(bootstrap):
                return
            await asyncio.sleep(0.1)


async def test_a_replication_factor_beyond_the_cluster_fails_loudly(kafka_bootstrap: str) -> None:
    topic = Topic(unique_name("concord.test.rf"), "more replicas than brokers")
    with pytest.raises(TopicCreationFailed, match=topic.name) as raised:
        await ensure_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=2)
    assert "InvalidReplicationFactor" in str(raised.value)
    assert topic.name not in await _topics(kafka_bootstrap)


async def test_with_one_replica_no_min_insync_is_set_and_a_second_call_is_fine(
    kafka_bootstrap: str,
) -> None:
    topic = Topic(unique_name("concord.test.rf1"), "one replica")
    await ensure_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    await _wait_until_listed(kafka_bootstrap, topic.name)
    await ensure_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    admin = create_admin(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic.name)]
        )
    finally:
        await admin.close()
    [resource] = response.resources
    assert resource[0] == 0, resource  # no error describing it: the topic exists
    entries = {entry[0]: entry for entry in resource[4]}
    assert entries["min.insync.replicas"][3] != DYNAMIC_TOPIC_CONFIG, entries


async def test_creating_a_topic_that_exists_is_fine(kafka_bootstrap: str) -> None:
    """What happens when another service creates a topic between our list and our create."""
    topic = Topic(unique_name("concord.test.race"), "created twice")
    await create_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    await create_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    await _wait_until_listed(kafka_bootstrap, topic.name)
