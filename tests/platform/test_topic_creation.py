"""`ensure_topics` reads the broker's answer per topic: a topic it could not create fails
loudly (before, the error codes in the response were ignored and start-up went on with the
topic missing), topics get `min.insync.replicas` = RF - 1 when RF > 1, and every topic its
retention class's settings, never the broker's default by accident."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from deploy.kafka_access import all_topics
from shared.events.catalog import Retention, Topic
from shared.events.kafka import (
    TopicCreationFailed,
    create_admin,
    create_topics,
    ensure_topics,
    restricted_retention_days,
    retention_configs,
    topic_configs,
)
from shared.events.schemas import CATALOG
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas.ngo_registry import NgoRegistered
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
    topic = Topic(
        unique_name("concord.test.rf"), "more replicas than brokers", retention=Retention.log
    )
    with pytest.raises(TopicCreationFailed, match=topic.name) as raised:
        await ensure_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=2)
    assert "InvalidReplicationFactor" in str(raised.value)
    assert topic.name not in await _topics(kafka_bootstrap)


async def test_with_one_replica_no_min_insync_is_set_and_a_second_call_is_fine(
    kafka_bootstrap: str,
) -> None:
    topic = Topic(unique_name("concord.test.rf1"), "one replica", retention=Retention.log)
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
    topic = Topic(unique_name("concord.test.race"), "created twice", retention=Retention.log)
    await create_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    await create_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    await _wait_until_listed(kafka_bootstrap, topic.name)


def test_each_retention_class_has_its_settings() -> None:
    day = 24 * 3600 * 1000
    state = retention_configs(Retention.state, restricted_days=365)
    assert state == {
        "cleanup.policy": "compact",
        "min.compaction.lag.ms": str(7 * day),
        "retention.ms": "-1",
    }
    restricted = retention_configs(Retention.restricted, restricted_days=90)
    assert restricted["cleanup.policy"] == "compact,delete"
    assert restricted["retention.ms"] == str(90 * day)
    assert retention_configs(Retention.log, restricted_days=1)["retention.ms"] == str(365 * day)
    assert retention_configs(Retention.dead_letter, restricted_days=1) == {
        "cleanup.policy": "delete",
        "retention.ms": str(30 * day),
    }
    assert topic_configs(3, Retention.log, restricted_days=1)["min.insync.replicas"] == "2"


@pytest.mark.parametrize("raw", ["0", "-3", "a year"])
def test_a_bad_restricted_retention_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="KAFKA_RESTRICTED_RETENTION_DAYS"):
        restricted_retention_days({"KAFKA_RESTRICTED_RETENTION_DAYS": raw})
    assert restricted_retention_days({}) == 365


async def _settings(bootstrap: str, names: list[str]) -> dict[str, dict[str, tuple[str, int]]]:
    """name → setting → (value, where it comes from) as the broker reports it."""
    admin = create_admin(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        await admin.close()
    found = {}
    for response in responses:
        for resource in response.resources:
            assert resource[0] == 0, resource
            found[resource[3]] = {entry[0]: (entry[1], entry[3]) for entry in resource[4]}
    return found


async def test_every_topic_the_stack_created_has_its_retention_set_on_purpose(
    kafka_bootstrap: str,
) -> None:
    """The catalog's topics and every dead-letter topic, as provisioning left them: each
    setting of its class set on the topic itself, none left to the broker's default."""
    topics = all_topics()
    assert {t.retention for t in topics} == set(Retention)
    found = await _settings(kafka_bootstrap, [t.name for t in topics])
    for topic in topics:
        for key, value in topic_configs(1, topic.retention).items():
            assert found[topic.name][key] == (value, DYNAMIC_TOPIC_CONFIG), (topic.name, key)
    # What that means for the topics that matter most.
    incident = CATALOG.for_model(hr.IncidentReported).topic.name
    assert found[incident]["cleanup.policy"][0] == "compact,delete"
    assert found[CATALOG.for_model(NgoRegistered).topic.name]["retention.ms"][0] == "-1"


async def test_provisioning_brings_an_altered_topic_back_to_its_class(
    kafka_bootstrap: str,
) -> None:
    topic = Topic(unique_name("concord.test.ret"), "altered by hand", retention=Retention.state)
    await ensure_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    await _wait_until_listed(kafka_bootstrap, topic.name)
    admin = create_admin(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic.name, {"retention.ms": "60000"})]
        )
    finally:
        await admin.close()
    altered = (await _settings(kafka_bootstrap, [topic.name]))[topic.name]
    assert altered["retention.ms"][0] == "60000" and altered["cleanup.policy"][0] == "delete"

    # A service's start-up leaves existing topics alone; the admin's provisioning does not.
    await ensure_topics(kafka_bootstrap, [topic], partitions=1, replication_factor=1)
    assert (await _settings(kafka_bootstrap, [topic.name]))[topic.name] == altered
    await ensure_topics(
        kafka_bootstrap, [topic], partitions=1, replication_factor=1, reconcile=True
    )
    restored = (await _settings(kafka_bootstrap, [topic.name]))[topic.name]
    for key, value in topic_configs(1, Retention.state).items():
        assert restored[key] == (value, DYNAMIC_TOPIC_CONFIG), key
