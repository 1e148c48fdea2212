"""NGO principals on the suite's SASL broker: created by vetting, removed by suspension.

The registry's events drive the provisioner (`deploy.kafka_provisioner`), which runs here in
process as the admin, as the local stack runs it beside the services. Its work is awaited
by its committed offsets, never by a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from typer.testing import CliRunner

from deploy.cli import app
from deploy.kafka import LocalKafka
from deploy.kafka_protocol import describe_acls
from deploy.kafka_provisioner import (
    DEAD_LETTERS,
    GROUP,
    NGO_TOPIC,
    NgoAccess,
    ngo_acls,
    ngo_principal,
    run,
)
from deploy.services import SERVICES
from deploy.stack import LocalStack
from deploy.tls import ensure_broker_tls
from services.humanitarian_requests.tests.helpers import ngo_state, publish_registry_events
from shared.events.catalog import Audience, dead_letter_topic
from shared.events.envelope import CloudEvent, service_source
from shared.events.kafka import KafkaSecurity, create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas.ngo_registry import NgoUpdated, VettingStatus
from shared.testing import committed_to_end, read_to_end
from shared.vocabulary import Sector
from tests.platform.conftest import wait_for
from tests.platform.test_kafka_acls import _read_one, _write

pytestmark = pytest.mark.integration

INCIDENT_TOPIC = CATALOG.for_model(hr.IncidentReported).topic.name
OPEN_REQUESTS = CATALOG.for_model(hr.OpenRequestOpened).topic.name


@contextlib.asynccontextmanager
async def provisioner(stack: LocalStack, bootstrap: str) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(bootstrap, stack.admin_security(), stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def provisioned(bootstrap: str) -> None:
    """Until the provisioner has committed every NGO event there is."""

    async def done() -> bool:
        try:
            return await committed_to_end(bootstrap, GROUP, [NGO_TOPIC])
        except KafkaError:  # the group's coordinator is not elected yet: not done
            return False

    await wait_for(
        done,
        timeout=120,
        what="the provisioner consumed the NGO topic",
    )


def ngo(ngo_id: uuid.UUID, status: VettingStatus, version: int):
    state = ngo_state(ngo_id=ngo_id, sector=Sector.wash, pcodes=["SS0301"], vetting=status)
    return NgoUpdated.model_validate(state.model_dump() | {"version": version})


def test_an_ngo_reads_only_ngo_topics_and_its_own_groups() -> None:
    ngo_id = uuid.uuid4()
    acls = ngo_acls(ngo_id)
    topics = {a.name for a in acls if a.resource_type.name == "TOPIC"}
    assert topics == {t.name for t in CATALOG.topics() if t.audience is Audience.ngo}
    assert {a.operation.name for a in acls} == {"READ", "DESCRIBE"}
    [group] = [a for a in acls if a.resource_type.name == "GROUP"]
    assert (group.name, group.pattern.name) == (f"ngo.{ngo_id}.", "PREFIXED")


def ngo_listener(stack: LocalStack) -> tuple[LocalKafka, str]:
    """The broker's NGO listener (SASL_SSL): where NGOs connect."""
    if stack.kafka is None or stack.kafka.ngo_bootstrap_servers is None:
        pytest.skip("a broker this suite did not start: its NGO listener is not known here")
    return stack.kafka, stack.kafka.ngo_bootstrap_servers


async def test_a_vetted_ngo_reads_its_topics_and_nothing_else_until_suspended(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    """Over the NGO listener, as an NGO connects: SCRAM over TLS, trusting the local CA."""
    kafka, tls_bootstrap = ngo_listener(stack)
    a, b = uuid.uuid4(), uuid.uuid4()
    await publish_registry_events(
        kafka_bootstrap, [ngo(a, VettingStatus.vetted, 1), ngo(b, VettingStatus.vetted, 1)]
    )
    async with provisioner(stack, kafka_bootstrap):
        await provisioned(kafka_bootstrap)
        async with NgoAccess(kafka_bootstrap, stack.admin_security()) as access:
            password = await access.issue(a)
        ngo_a = kafka.ngo_security(ngo_principal(a), password)

        # What A may do: read an NGO topic under its own group.
        await _read_one(tls_bootstrap, ngo_a, OPEN_REQUESTS, group=f"ngo.{a}.sync")
        # What it may not.
        with pytest.raises(TopicAuthorizationFailedError):
            await _read_one(tls_bootstrap, ngo_a, INCIDENT_TOPIC)
        with pytest.raises(TopicAuthorizationFailedError):
            await _read_one(
                tls_bootstrap, ngo_a, dead_letter_topic("humanitarian_requests.ngo_replica").name
            )
        with pytest.raises(GroupAuthorizationFailedError):
            await _read_one(tls_bootstrap, ngo_a, OPEN_REQUESTS, group=f"ngo.{b}.sync")
        # A producer that may write nothing is refused its producer id (idempotence) first.
        with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
            await _write(tls_bootstrap, ngo_a, NGO_TOPIC, b"{}")

        # Suspended: its credential stops working.
        await publish_registry_events(kafka_bootstrap, [ngo(a, VettingStatus.suspended, 2)])
        await provisioned(kafka_bootstrap)
    with pytest.raises(KafkaError):
        await _read_one(tls_bootstrap, ngo_a, OPEN_REQUESTS, group=f"ngo.{a}.sync")
    # B, still vetted, keeps its ACLs.
    async with NgoAccess(kafka_bootstrap, stack.admin_security()) as access:
        assert await describe_acls(access.client, f"User:{ngo_principal(b)}") == ngo_acls(b)
        assert await describe_acls(access.client, f"User:{ngo_principal(a)}") == set()


async def test_the_ngo_listener_takes_only_scram_over_tls_from_a_broker_the_ca_signed(
    stack: LocalStack, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Nothing reaches the NGO listener in the clear, and an NGO's client refuses a broker
    whose certificate the mission's CA did not sign (a man in the middle)."""
    kafka, tls_bootstrap = ngo_listener(stack)
    ngo_id = uuid.uuid4()
    await publish_registry_events(kafka_bootstrap, [ngo(ngo_id, VettingStatus.vetted, 1)])
    async with provisioner(stack, kafka_bootstrap):
        await provisioned(kafka_bootstrap)
    async with NgoAccess(kafka_bootstrap, stack.admin_security()) as access:
        password = await access.issue(ngo_id)
    over_tls = kafka.ngo_security(ngo_principal(ngo_id), password)
    group = f"ngo.{ngo_id}.sync"
    await _read_one(tls_bootstrap, over_tls, OPEN_REQUESTS, group=group)  # the control

    # The same principal and password, but SCRAM in the clear: the TLS listener never
    # completes a handshake with it.
    in_the_clear = KafkaSecurity("SASL_PLAINTEXT", over_tls.mechanism, over_tls.username, password)
    with pytest.raises(KafkaConnectionError):
        await _read_one(tls_bootstrap, in_the_clear, OPEN_REQUESTS, group=group)

    # A client that trusts another CA (as it would, talking to an impostor) refuses ours.
    other_ca = ensure_broker_tls(tmp_path / "other", ["127.0.0.1"]).ca_certificate
    distrusting = KafkaSecurity(
        "SASL_SSL", over_tls.mechanism, over_tls.username, password, str(other_ca)
    )
    with pytest.raises(KafkaConnectionError):
        await _read_one(tls_bootstrap, distrusting, OPEN_REQUESTS, group=group)


async def test_an_unvetted_ngo_credential_reads_nothing(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    c = uuid.uuid4()
    async with NgoAccess(kafka_bootstrap, stack.admin_security()) as access:
        password = await access.issue(c)
    ngo_c: KafkaSecurity = stack.admin_security().as_principal(ngo_principal(c), password)
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(kafka_bootstrap, ngo_c, OPEN_REQUESTS)


def test_the_cli_issues_once_rotates_and_needs_the_admin(
    stack: LocalStack, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    ngo_id = uuid.uuid4()
    issued = runner.invoke(app, ["kafka-credentials", "issue", str(ngo_id)])
    assert issued.exit_code == 0, issued.output
    assert f"username  {ngo_principal(ngo_id)}" in issued.output
    if stack.kafka is not None and stack.kafka.ngo_bootstrap_servers:
        # Where the NGO connects, and the CA its client trusts, come with the password.
        assert f"bootstrap {stack.kafka.ngo_bootstrap_servers}" in issued.output
        assert "SASL_SSL" in issued.output
        assert str(stack.kafka.tls.ca_certificate) in issued.output
    again = runner.invoke(app, ["kafka-credentials", "issue", str(ngo_id)])
    assert again.exit_code == 1 and "use `rotate`" in again.output
    rotated = runner.invoke(app, ["kafka-credentials", "rotate", str(ngo_id)])
    assert rotated.exit_code == 0, rotated.output
    password = [line for line in rotated.output.splitlines() if line.startswith("password")]
    assert password and password[0] not in issued.output  # a new one
    unknown = runner.invoke(app, ["kafka-credentials", "rotate", str(uuid.uuid4())])
    assert unknown.exit_code == 1 and "use `issue`" in unknown.output
    # A service principal is not the admin: the broker refuses it.
    service = stack.service_environment(next(s for s in SERVICES if s.name == "monitoring"))
    monkeypatch.setenv("KAFKA_SASL_USERNAME", service["MONITORING_KAFKA_USERNAME"])
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", service["MONITORING_KAFKA_PASSWORD"])
    refused = runner.invoke(app, ["kafka-credentials", "issue", str(uuid.uuid4())])
    assert refused.exit_code == 1 and "the broker refused" in refused.output, refused.output


async def test_a_forged_or_broken_ngo_event_is_dead_lettered_and_the_partition_moves_on(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    """A 'vetted' state from a source that is not the registry, and bytes that are no
    CloudEvent, on the NGO's own key: neither grants anything, both are parked with why,
    and the NGO's real state behind them on the same partition is applied."""
    ngo_id = uuid.uuid4()
    admin = stack.admin_security()
    forged = ngo(ngo_id, VettingStatus.vetted, 99)
    event = CloudEvent(
        source=service_source("joint_planning"),
        type=CATALOG.for_model(NgoUpdated).name,
        subject=str(ngo_id),
        data=forged.model_dump(mode="json"),
    )
    key = str(ngo_id).encode()
    producer = create_producer(kafka_bootstrap, client_id="provisioner-test", security=admin)
    await producer.start()
    try:
        await producer.send_and_wait(NGO_TOPIC, event.to_json(), key=key)
        await producer.send_and_wait(NGO_TOPIC, b"\x00 not json", key=key)
    finally:
        await producer.stop()
    # The marker behind them: the registry's own state for the NGO, under review.
    await publish_registry_events(kafka_bootstrap, [ngo(ngo_id, VettingStatus.submitted, 1)])
    async with provisioner(stack, kafka_bootstrap):
        await provisioned(kafka_bootstrap)

    async with NgoAccess(kafka_bootstrap, admin) as access:
        assert await describe_acls(access.client, f"User:{ngo_principal(ngo_id)}") == set()
    letters = [r for r in await read_to_end(kafka_bootstrap, DEAD_LETTERS.name) if r.key == key]
    reasons = sorted(dict(r.headers)["dlq.error"].decode() for r in letters)
    assert reasons == [
        "not a CloudEvent",
        "source '/concord/joint_planning' is not the registry",
    ], reasons
    assert {dict(r.headers)["dlq.consumer_group"] for r in letters} == {GROUP.encode()}
