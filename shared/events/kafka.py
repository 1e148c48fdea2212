"""Kafka clients configured the one way Concord uses them.

Every producer, consumer and admin client in the code base is built here
(`create_producer`, `create_consumer`, `create_admin`), so that every one of them
authenticates the same way. How is a `KafkaSecurity`: PLAINTEXT (a broker without
authentication), SASL_PLAINTEXT (SCRAM over loopback, what `make run` and `make test` start)
or SASL_SSL (SCRAM over TLS, the listener NGOs use), with the principal's name and password
and the CA that signed the broker's certificate.

A service passes its own principal (`KafkaSecurity.from_settings`: `<SERVICE>_KAFKA_USERNAME`,
`<SERVICE>_KAFKA_PASSWORD`); everything else (the `concord` CLI, the demo, tests, chaos and
bench tools) reads `KafkaSecurity.from_env()`: `KAFKA_SECURITY_PROTOCOL`,
`KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CAFILE`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.helpers import create_ssl_context

from shared.events.catalog import DEFAULT_RESTRICTED_DAYS, Retention, Topic, retention_configs
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.config import ServiceSettings

log = get_logger(__name__)

SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client authenticates to the brokers (see the module docstring)."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = None
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"Kafka security protocol {self.protocol!r} is not one of "
                + ", ".join(SECURITY_PROTOCOLS)
            )
        if self.sasl:
            if self.mechanism not in SASL_MECHANISMS:
                raise ValueError(
                    f"SASL mechanism {self.mechanism!r} is not one of " + ", ".join(SASL_MECHANISMS)
                )
            if not self.username or not self.password:
                raise ValueError(
                    f"Kafka security protocol {self.protocol} needs a username and a password"
                )

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def __repr__(self) -> str:  # never the password, in a log line or a traceback
        return (
            f"KafkaSecurity(protocol={self.protocol!r}, mechanism={self.mechanism!r}, "
            f"username={self.username!r}, cafile={self.cafile!r})"
        )

    def client_options(self) -> dict[str, Any]:
        """The aiokafka keyword arguments for this security (the same for every client)."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl:
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        if self.protocol == "SASL_SSL":
            options["ssl_context"] = create_ssl_context(cafile=self.cafile)
        return options

    def as_principal(self, username: str, password: str) -> KafkaSecurity:
        """The same listener, authenticated as another principal."""
        return KafkaSecurity(self.protocol, self.mechanism, username, password, self.cafile)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        """What the CLI, the demo and the tools use: the `KAFKA_*` variables."""
        env = os.environ if environ is None else environ
        return cls(
            protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper(),
            mechanism=env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").strip().upper(),
            username=env.get("KAFKA_SASL_USERNAME") or None,
            password=env.get("KAFKA_SASL_PASSWORD") or None,
            cafile=env.get("KAFKA_SSL_CAFILE") or None,
        )

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> KafkaSecurity:
        """A service's own principal, from its settings. Raises ValueError naming the
        variables when the protocol needs a principal the settings lack: the runtime calls
        this at start-up, so such a service does not start."""
        if settings.kafka_security_protocol != "PLAINTEXT" and not (
            settings.kafka_username and settings.kafka_password
        ):
            prefix = settings.env_prefix()
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs the "
                f"service's principal: set {prefix}KAFKA_USERNAME and {prefix}KAFKA_PASSWORD"
            )
        return cls(
            protocol=settings.kafka_security_protocol,
            mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_username,
            password=settings.kafka_password,
            cafile=settings.kafka_ssl_cafile,
        )


def _security(security: KafkaSecurity | None) -> KafkaSecurity:
    return security if security is not None else KafkaSecurity.from_env()


def create_producer(
    bootstrap_servers: str,
    *,
    client_id: str,
    security: KafkaSecurity | None = None,
    **options: Any,
) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica and never duplicates on its own retries.

    `options` override the defaults (aiokafka's keyword arguments)."""
    settings: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "request_timeout_ms": 30_000,
        **options,
    }
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        **settings,
        **_security(security).client_options(),
    )


def create_consumer(
    *topics: str,
    bootstrap_servers: str,
    security: KafkaSecurity | None = None,
    **options: Any,
) -> AIOKafkaConsumer:
    """A consumer of `topics` (none: assign partitions yourself); `options` are aiokafka's."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        **options,
        **_security(security).client_options(),
    )


def create_admin(
    bootstrap_servers: str,
    *,
    client_id: str = "concord-admin",
    security: KafkaSecurity | None = None,
    **options: Any,
) -> AIOKafkaAdminClient:
    """An admin client; what it may do is what its principal's ACLs allow."""
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        **options,
        **_security(security).client_options(),
    )


class TopicCreationFailed(RuntimeError):
    """The broker refused to create a topic (for another reason than that it exists)."""


def restricted_retention_days(environ: Mapping[str, str] | None = None) -> int:
    """`KAFKA_RESTRICTED_RETENTION_DAYS` (365): how long a topic that may carry restricted
    records keeps anything, the same period the services purge their own copies after."""
    env = os.environ if environ is None else environ
    raw = env.get("KAFKA_RESTRICTED_RETENTION_DAYS", str(DEFAULT_RESTRICTED_DAYS))
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(
            f"KAFKA_RESTRICTED_RETENTION_DAYS={raw!r} is not a number of days"
        ) from None
    if days < 1:
        raise ValueError(f"KAFKA_RESTRICTED_RETENTION_DAYS={days}: at least 1 day")
    return days


def topic_configs(
    replication_factor: int,
    retention: Retention | None = None,
    *,
    restricted_days: int | None = None,
) -> dict[str, str]:
    """The per-topic settings Concord creates topics with: durability, then retention.

    Why `min.insync.replicas` = RF - 1: producers write with `acks=all`, which waits only for
    the replicas currently in sync. With the broker default of 1, a write acknowledged while
    the other replicas lag lives on one disk, and losing that broker loses it. RF - 1 keeps an
    acknowledged write on at least two brokers and still lets writes go on with one broker
    down. With one replica there is nothing to require.

    Retention is the topic's class, never the broker's default (7 days, after which a replica
    or a rebuild replaying from the beginning would silently miss what came before).
    """
    configs: dict[str, str] = {}
    if replication_factor > 1:
        configs["min.insync.replicas"] = str(replication_factor - 1)
    if retention is not None:
        days = restricted_days if restricted_days is not None else restricted_retention_days()
        configs.update(retention_configs(retention, restricted_days=days))
    return configs


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    *,
    partitions: int,
    replication_factor: int,
    security: KafkaSecurity | None = None,
    reconcile: bool = False,
) -> None:
    """Create the topics that do not exist yet, with their settings; with `reconcile`, bring
    the settings of existing ones back to what their class says (a topic created by an older
    Concord, or altered by hand, keeps no retention by accident).

    Raises `TopicCreationFailed` naming each topic the broker refused to create or set."""
    admin = create_admin(bootstrap_servers, security=security)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = list({t.name: t for t in topics}.values())
        missing = [t for t in wanted if t.name not in existing]
        await _create(admin, missing, partitions=partitions, replication_factor=replication_factor)
        if reconcile:
            present = [t for t in wanted if t.name in existing]
            await _reconcile(admin, present, replication_factor=replication_factor)
    finally:
        await admin.close()


async def topic_settings(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's settings as the broker reports them (defaults included)."""
    if not names:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    )
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            code, message, _type, name, entries = resource[:5]
            if code:
                raise TopicCreationFailed(
                    f"{name}: {for_code(code).__name__} describing its settings ({message})"
                )
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def _reconcile(
    admin: AIOKafkaAdminClient, topics: list[Topic], *, replication_factor: int
) -> None:
    current = await topic_settings(admin, [t.name for t in topics])
    stale: list[ConfigResource] = []
    for topic in topics:
        configs = topic_configs(replication_factor, topic.retention)
        have = current.get(topic.name, {})
        if any(have.get(key) != value for key, value in configs.items()):
            # AlterConfigs sets a topic's overrides to exactly these: Concord owns them all.
            stale.append(ConfigResource(ConfigResourceType.TOPIC, topic.name, configs=configs))
    if not stale:
        return
    failures = []
    for response in await admin.alter_configs(stale):
        for resource in response.resources:
            code, message, _type, name = resource[:4]
            if code:
                failures.append(f"{name}: {for_code(code).__name__} ({message})")
    if failures:
        raise TopicCreationFailed("the broker refused topic settings: " + "; ".join(failures))
    log.info("kafka.topic_settings_applied", topics=[r.name for r in stale])


async def create_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    *,
    partitions: int,
    replication_factor: int,
    security: KafkaSecurity | None = None,
) -> None:
    """Create `topics` without looking first; one that exists already is fine."""
    admin = create_admin(bootstrap_servers, security=security)
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
    response = await admin.create_topics(
        [
            NewTopic(
                name=topic.name,
                num_partitions=topic.partitions or partitions,
                replication_factor=replication_factor,
                topic_configs=topic_configs(replication_factor, topic.retention),
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
        log.info("kafka.topics_created", topics=created)
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


async def topic_partitions(
    consumer: AIOKafkaConsumer, topic: str, *, attempts: int = 50
) -> set[int]:
    """The partition ids of `topic`, as the consumer's cluster metadata knows them, refreshed
    until they are known (a topic created a moment ago reaches the brokers' metadata a little
    later); empty when the topic still does not exist after `attempts` tries, 0.1 s apart.

    The one place that reaches into aiokafka's client: a consumer that has not subscribed has
    no public way to refresh its own metadata (`topics()` fetches a copy it does not keep)."""
    for attempt in range(attempts):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        if attempt + 1 < attempts:
            await consumer._client.force_metadata_update()
            if attempt:
                await asyncio.sleep(0.1)
    return set()
