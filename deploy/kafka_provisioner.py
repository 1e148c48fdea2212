"""NGO Kafka principals: one read-only principal per vetted NGO, driven by the registry's events.

The provisioner owns the admin credentials; no service does. It consumes
`concord.ngo_registry.ngo.v1` as the admin (group `concord_provisioner.ngo_access`) and, for
each NGO state:

- `vetted`: the NGO's principal `ngo-<ngo_id>` may READ (and DESCRIBE) the topics whose
  audience is `ngo` and READ consumer groups named `ngo.<ngo_id>.…`. Nothing else: no
  internal or mission-staff topic, no DLQ, no other NGO's group, no write anywhere.
- `suspended`, `rejected`, `expired`: its SCRAM credential and all its ACLs are deleted, so a
  client that had the password can no longer log in.
- any other status (submitted, under review): no ACLs.

Every step is idempotent (ACLs are set to exactly what the state gives, deleting a credential
that is gone is fine), events of one NGO arrive in order on one partition, and the offset is
committed after the step: a redelivery redoes the same step. A transient failure (broker away)
waits and retries; a message that is not an NGO state from the registry (not a CloudEvent,
another source — a forgery — another type, data that does not validate) changes nothing and
goes to the group's dead-letter topic `concord.dlq.concord_provisioner.ngo_access` with why,
before its offset is committed, so the partition moves on and nothing is lost.

The password is never derived from an event: `concord kafka-credentials issue|rotate
<ngo_id>` (admin only: it needs the admin credentials) sets a new one and prints it once.

`python -m deploy.kafka_provisioner` runs it (the local stack starts it beside the services).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import uuid

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from deploy.kafka_protocol import (
    Acl,
    Operation,
    PatternType,
    ResourceType,
    alter_scram_credentials,
    create_acls,
    delete_acls,
    describe_acls,
    describe_scram_users,
)
from shared.events.catalog import Audience, dead_letter_topic
from shared.events.envelope import CloudEvent, service_source
from shared.events.inbox import dead_letter_of
from shared.events.kafka import KafkaSecurity, create_admin, create_consumer, create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import NgoRegistered, NgoState, VettingStatus
from shared.logging import configure_logging, get_logger
from shared.retry import Backoff

log = get_logger(__name__)

NGO_TOPIC = CATALOG.for_model(NgoRegistered).topic.name
GROUP = "concord_provisioner.ngo_access"
DEAD_LETTERS = dead_letter_topic(GROUP)
REVOKED = {VettingStatus.suspended, VettingStatus.rejected, VettingStatus.expired}
REGISTRY = service_source("ngo_registry")
CREDENTIAL_PROPAGATION_SECONDS = 30.0


def ngo_principal(ngo_id: uuid.UUID | str) -> str:
    return f"ngo-{uuid.UUID(str(ngo_id))}"


def ngo_group_prefix(ngo_id: uuid.UUID | str) -> str:
    return f"ngo.{uuid.UUID(str(ngo_id))}."


def ngo_topics() -> list[str]:
    return sorted(t.name for t in CATALOG.topics() if t.audience is Audience.ngo)


def ngo_acls(ngo_id: uuid.UUID | str) -> set[Acl]:
    """What a vetted NGO's principal may do (see the module docstring)."""
    who = f"User:{ngo_principal(ngo_id)}"
    acls = {
        Acl(who, ResourceType.TOPIC, name, PatternType.LITERAL, operation)
        for name in ngo_topics()
        for operation in (Operation.READ, Operation.DESCRIBE)
    }
    acls.add(
        Acl(who, ResourceType.GROUP, ngo_group_prefix(ngo_id), PatternType.PREFIXED, Operation.READ)
    )
    return acls


class NgoAccess:
    """The admin operations on NGO principals, on one admin client."""

    def __init__(self, bootstrap_servers: str, admin: KafkaSecurity) -> None:
        self.client = create_admin(
            bootstrap_servers, security=admin, client_id="concord-provisioner"
        )

    async def __aenter__(self) -> NgoAccess:
        await self.client.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    async def set_acls(self, ngo_id: uuid.UUID | str, wanted: set[Acl]) -> None:
        existing = await describe_acls(self.client, f"User:{ngo_principal(ngo_id)}")
        await create_acls(self.client, sorted(wanted - existing))
        await delete_acls(self.client, sorted(existing - wanted))

    async def grant(self, ngo_id: uuid.UUID | str) -> None:
        await self.set_acls(ngo_id, ngo_acls(ngo_id))

    async def revoke(self, ngo_id: uuid.UUID | str, *, credential: bool) -> None:
        if credential:
            await alter_scram_credentials(self.client, delete=[ngo_principal(ngo_id)])
            await self._until_credential(ngo_id, present=False)
        await self.set_acls(ngo_id, set())

    async def issue(self, ngo_id: uuid.UUID | str) -> str:
        """A new password for the NGO's principal (the old one stops working)."""
        password = secrets.token_urlsafe(32)
        await alter_scram_credentials(self.client, upsert={ngo_principal(ngo_id): password})
        await self._until_credential(ngo_id, present=True)
        return password

    async def _until_credential(self, ngo_id: uuid.UUID | str, *, present: bool) -> None:
        """The controller has committed the change; wait until the brokers' metadata shows
        it (they answer DescribeUserScramCredentials from it), so that what the caller does
        next (print the password, report the NGO revoked) is true on the brokers too."""
        principal = ngo_principal(ngo_id)
        async with asyncio.timeout(CREDENTIAL_PROPAGATION_SECONDS):
            while True:
                found = principal in await describe_scram_users(self.client, [principal])
                if found == present:
                    return
                await asyncio.sleep(0.05)

    async def apply(self, state: NgoState) -> str:
        """Bring the NGO's access in line with its state; what was done."""
        if state.vetting_status is VettingStatus.vetted:
            await self.grant(state.ngo_id)
            return "granted"
        await self.revoke(state.ngo_id, credential=state.vetting_status in REVOKED)
        return "revoked" if state.vetting_status in REVOKED else "none"


def parse_state(message: ConsumerRecord[bytes, bytes]) -> NgoState | str:
    """The NGO state a message carries, or why it carries none we may act on."""
    try:
        event = CloudEvent.from_json(message.value or b"")
    except ValidationError:
        return "not a CloudEvent"
    if event.source != REGISTRY:
        return f"source {event.source!r} is not the registry"
    entry = CATALOG.by_type(event.type)
    if entry is None or not issubclass(entry.data_model, NgoState):
        return f"type {event.type!r} is not an NGO state"
    try:
        return NgoState.model_validate(event.data)
    except ValidationError as exc:
        return f"data does not match: {exc.error_count()} error(s)"


async def run(
    bootstrap_servers: str, admin: KafkaSecurity, *, stop: asyncio.Event | None = None
) -> None:
    """Consume the NGO topic and apply each state, until `stop` is set."""
    stop = stop or asyncio.Event()
    backoff = Backoff(base=0.5, cap=10.0)
    consumer = create_consumer(
        NGO_TOPIC,
        bootstrap_servers=bootstrap_servers,
        security=admin,
        group_id=GROUP,
        client_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = create_producer(bootstrap_servers, client_id=GROUP, security=admin)
    await consumer.start()
    try:
        await producer.start()
        async with NgoAccess(bootstrap_servers, admin) as access:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500)
                for partition, messages in batches.items():
                    for message in messages:
                        await _apply(access, producer, message, backoff)
                    await consumer.commit({partition: messages[-1].offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()


async def _apply(
    access: NgoAccess,
    producer: AIOKafkaProducer,
    message: ConsumerRecord[bytes, bytes],
    backoff: Backoff,
) -> None:
    state = parse_state(message)
    if isinstance(state, str):
        await _dead_letter(producer, message, state, backoff)
        return
    attempt = 0
    while True:
        try:
            outcome = await access.apply(state)
            log.info("provisioner.applied", ngo_id=str(state.ngo_id), outcome=outcome)
            return
        except (KafkaError, OSError) as exc:  # the broker is away: wait, then the same step
            attempt += 1
            log.warning("provisioner.retry", ngo_id=str(state.ngo_id), error=repr(exc))
            await backoff.sleep(attempt)


async def _dead_letter(
    producer: AIOKafkaProducer, message: ConsumerRecord[bytes, bytes], error: str, backoff: Backoff
) -> None:
    """Park a message the provisioner may not act on; the broker being away is waited out
    (the offset is committed only after this returns)."""
    log.warning(
        "provisioner.dead_lettered",
        reason=error,
        partition=message.partition,
        offset=message.offset,
    )
    value, headers = dead_letter_of(message, GROUP, error)
    attempt = 0
    while True:
        try:
            await producer.send_and_wait(
                DEAD_LETTERS.name, value=value, key=message.key, headers=headers
            )
            return
        except (KafkaError, OSError) as exc:
            attempt += 1
            log.warning("provisioner.dead_letter_retry", attempt=attempt, error=repr(exc))
            await backoff.sleep(attempt)


def main() -> None:
    configure_logging(service="kafka-provisioner", level="INFO", json=False)
    stop = asyncio.Event()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await run(
            os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            KafkaSecurity.from_env(),
            stop=stop,
        )

    asyncio.run(serve())


if __name__ == "__main__":
    main()
