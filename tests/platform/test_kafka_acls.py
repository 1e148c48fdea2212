"""Kafka access on the SASL broker the test stack starts (the same one `make run` starts):
nobody anonymous, each service only what its ACLs give it, and no forged event applied.

The ACLs under test are the ones `deploy.kafka_access` derived and the stack applied at
start-up; no test here grants anything itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from deploy.kafka import ADMIN_PRINCIPAL, service_principal
from deploy.kafka_access import all_service_acls, consumer_groups, service_acls
from deploy.kafka_protocol import Operation, PatternType, ResourceType, describe_acls
from deploy.services import SERVICES
from deploy.stack import LocalStack
from shared.events.catalog import dead_letter_topic
from shared.events.envelope import CloudEvent, service_source
from shared.events.kafka import KafkaSecurity, create_admin, create_consumer, create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import ngo_registry as reg
from shared.testing import committed_to_end
from tests.platform.conftest import Rig, wait_for

pytestmark = pytest.mark.integration

NGO_TOPIC = CATALOG.for_model(reg.NgoRegistered).topic.name
INCIDENT_TOPIC = CATALOG.for_model(hr.IncidentReported).topic.name


def spec_of(name: str):
    return next(spec for spec in SERVICES if spec.name == name)


def security_of(stack: LocalStack, service: str) -> KafkaSecurity:
    env = stack.service_environment(spec_of(service))
    prefix = service.upper()
    return stack.admin_security().as_principal(
        env[f"{prefix}_KAFKA_USERNAME"], env[f"{prefix}_KAFKA_PASSWORD"]
    )


async def _write(bootstrap: str, security: KafkaSecurity, topic: str, value: bytes) -> None:
    producer = create_producer(
        bootstrap, client_id="acl-test", security=security, request_timeout_ms=5000
    )
    try:
        async with asyncio.timeout(30):
            await producer.start()
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        with contextlib.suppress(KafkaError):
            await producer.stop()


async def _read_one(
    bootstrap: str, security: KafkaSecurity, topic: str, *, group: str | None = None
) -> None:
    consumer = create_consumer(
        topic,
        bootstrap_servers=bootstrap,
        security=security,
        group_id=group,
        auto_offset_reset="earliest",
        request_timeout_ms=5000,
    )
    try:
        async with asyncio.timeout(30):
            await consumer.start()
            await consumer.getmany(timeout_ms=3000)
    finally:
        with contextlib.suppress(KafkaError):
            await consumer.stop()


def forged_vetting(ngo_id: uuid.UUID, source: str) -> bytes:
    """What the issue's attacker wrote: a 'vetted and eligible' state with a high version."""
    return CloudEvent(
        source=source,
        type=CATALOG.for_model(reg.NgoVettingChanged).name,
        subject=str(ngo_id),
        data={"ngo_id": str(ngo_id), "version": 1_000_000, "eligible": True},
    ).to_json()


async def test_an_unauthenticated_client_is_refused(kafka_bootstrap: str) -> None:
    with pytest.raises(KafkaConnectionError):
        await _read_one(kafka_bootstrap, KafkaSecurity(), INCIDENT_TOPIC)
    with pytest.raises(KafkaConnectionError):
        await _write(kafka_bootstrap, KafkaSecurity(), NGO_TOPIC, b"{}")


async def test_a_wrong_password_is_refused(stack: LocalStack, kafka_bootstrap: str) -> None:
    wrong = stack.admin_security().as_principal(ADMIN_PRINCIPAL, "not-the-password")
    with pytest.raises(KafkaError):
        await _read_one(kafka_bootstrap, wrong, INCIDENT_TOPIC)


async def test_a_service_cannot_write_another_services_topic(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    """The forgery of the issue, by a wrong principal: the broker refuses it."""
    requests = security_of(stack, "humanitarian_requests")
    forged = forged_vetting(uuid.uuid4(), service_source("ngo_registry"))
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(kafka_bootstrap, requests, NGO_TOPIC, forged)
    # …while its own topic takes its writes: the refusal is about the topic, not the login.
    await _write(kafka_bootstrap, requests, INCIDENT_TOPIC, b"{}")


async def test_a_service_reads_only_what_it_consumes(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    registry = security_of(stack, "ngo_registry")
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(kafka_bootstrap, registry, INCIDENT_TOPIC)


async def test_a_service_cannot_join_another_services_group(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    planning = security_of(stack, "joint_planning")
    # joint_planning may read the NGO topic, but only under its own groups.
    with pytest.raises(GroupAuthorizationFailedError):
        await _read_one(
            kafka_bootstrap, planning, NGO_TOPIC, group="humanitarian_requests.ngo_replica"
        )
    await _read_one(kafka_bootstrap, planning, NGO_TOPIC, group="joint_planning.acl-test")


async def test_an_event_with_a_wrong_source_is_dead_lettered_without_effect(rig: Rig) -> None:
    """Written by a principal that may write the topic (the admin): the broker takes it, the
    consumer refuses it, because its `source` is not the topic's producer."""
    forged = CloudEvent(
        source=service_source("ngo_registry"),
        type="concord.platform_test.widget.changed.v1",
        subject="w-forged",
        data={"widget_id": "w-forged", "seq": 99},
    )
    genuine = CloudEvent(
        source=service_source(rig.harness.schema),
        type="concord.platform_test.widget.changed.v1",
        subject="w-forged",
        data={"widget_id": "w-forged", "seq": 100},
    )
    topic = rig.harness.topic.name
    for event in (forged, genuine):
        await (await rig.producer.send(topic, event.to_json(), key=b"w-forged"))
    consumer = rig.consumer()
    task = asyncio.create_task(consumer.run())
    try:
        await wait_for(
            lambda: committed_to_end(rig.bootstrap, rig.group, [topic]),
            what="the group consumed both events",
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # Only the genuine event had an effect; the forged one sits in the DLQ with the reason.
    assert [(e[0], e[2]) for e in await rig.effects()] == [(str(genuine.id), 100)]
    reader = create_consumer(
        dead_letter_topic(rig.group).name,
        bootstrap_servers=rig.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await reader.start()
    try:
        async with asyncio.timeout(30):
            batches: dict = {}
            while not batches:
                batches = await reader.getmany(timeout_ms=500)
    finally:
        await reader.stop()
    [message] = [m for messages in batches.values() for m in messages]
    headers = {k: v.decode() for k, v in message.headers}
    assert message.value == forged.to_json()
    assert (
        f"{service_source(rig.harness.schema)!r}, the producer of {topic}" in (headers["dlq.error"])
    )


def test_the_derivation_covers_every_consumer_a_service_registers() -> None:
    for spec in SERVICES:
        principal = f"User:{service_principal(spec.name)}"
        acls = service_acls(spec.name, consumer_groups(spec))
        granted = {(a.name, a.operation) for a in acls if a.resource_type is ResourceType.TOPIC}
        groups = [a for a in acls if a.resource_type is ResourceType.GROUP]
        assert all(a.principal == principal for a in acls)
        assert [(g.name, g.pattern, g.operation) for g in groups] == [
            (f"{spec.name}.", PatternType.PREFIXED, Operation.READ)
        ]
        for consumes in consumer_groups(spec):
            assert consumes.group_id.startswith(f"{spec.name}.")
            for topic in consumes.router.topics:
                assert (topic, Operation.READ) in granted, (spec.name, topic)
            dlq = dead_letter_topic(consumes.group_id).name
            assert {(dlq, Operation.WRITE), (dlq, Operation.READ)} <= granted
        # It writes its own topics and nothing else.
        written = {name for name, operation in granted if operation is Operation.WRITE}
        own = {t.name for t in CATALOG.topics() if t.producer == spec.name}
        dlqs = {dead_letter_topic(c.group_id).name for c in consumer_groups(spec)}
        assert written == own | dlqs


def test_a_group_outside_the_services_prefix_is_refused_by_the_derivation() -> None:
    spec = spec_of("joint_planning")
    [first, *_] = consumer_groups(spec)
    stray = type(first)("planning-without-prefix", first.router)
    with pytest.raises(ValueError, match=r"must start with 'joint_planning\.'"):
        service_acls(spec.name, [stray])


async def test_the_broker_holds_exactly_the_derived_acls(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    admin = create_admin(kafka_bootstrap, security=stack.admin_security())
    await admin.start()
    try:
        for principal, wanted in all_service_acls().items():
            assert await describe_acls(admin, f"User:{principal}") == wanted, principal
    finally:
        await admin.close()
