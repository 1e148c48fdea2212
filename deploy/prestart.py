"""Prestart step: provision every service's role and schema and run its migrations; with a
broker named, provision Kafka too, as its admin.

`python -m deploy.prestart` — run once before the services start (docker-compose runs it as
the `prestart` service; the local stack calls `prepare_databases` and `provision_kafka`
itself). Idempotent.

When `KAFKA_BOOTSTRAP_SERVERS` is set it also creates the topics, gives each service's
principal its SCRAM credential from `<SERVICE>_KAFKA_PASSWORD` and applies every service's
ACLs (`deploy.kafka_access.provision_kafka`). That takes the admin: `KAFKA_SECURITY_PROTOCOL`
(SASL_PLAINTEXT or SASL_SSL), `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME` (concord-admin,
the brokers' super user) and `KAFKA_SASL_PASSWORD`. Without them, or without a service's
password, it refuses before touching anything and names what is missing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from deploy.kafka import ADMIN_PRINCIPAL, service_principal
from deploy.kafka_access import provision_kafka, service_passwords_from_env
from deploy.services import SERVICES
from shared.events.kafka import KafkaSecurity
from shared.logging import get_logger
from shared.migrations import provision, upgrade

log = get_logger(__name__)

KAFKA_ADMIN_VARIABLES = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
)


class PrestartMisconfigured(ValueError):
    """The environment lacks what the prestart step needs; the message names it."""


@dataclass(frozen=True)
class KafkaProvisioning:
    """What `provision_kafka` is called with, read from the environment."""

    bootstrap_servers: str
    admin: KafkaSecurity
    partitions: int
    replication_factor: int
    service_passwords: dict[str, str] = field(repr=False)  # principal → password


def kafka_provisioning_from_env(
    environ: Mapping[str, str] | None = None,
) -> KafkaProvisioning | None:
    """The Kafka provisioning `KAFKA_BOOTSTRAP_SERVERS` asks for, or None without it.

    Raises `PrestartMisconfigured` naming every missing variable: the admin's, and each
    service's `<SERVICE>_KAFKA_PASSWORD` (a service without a credential could not log in)."""
    env = os.environ if environ is None else environ
    bootstrap_servers = env.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap_servers:
        return None
    missing = [name for name in KAFKA_ADMIN_VARIABLES if not env.get(name)]
    if missing:
        raise PrestartMisconfigured(
            f"KAFKA_BOOTSTRAP_SERVERS is set, so prestart provisions Kafka as its admin "
            f"({ADMIN_PRINCIPAL}): set {', '.join(missing)}"
        )
    try:
        admin = KafkaSecurity.from_env(env)
    except ValueError as exc:
        raise PrestartMisconfigured(f"the Kafka admin's settings: {exc}") from None
    if not admin.sasl:
        raise PrestartMisconfigured(
            f"KAFKA_SECURITY_PROTOCOL={admin.protocol}: prestart sets credentials and ACLs, "
            "which takes an authenticated admin (SASL_PLAINTEXT or SASL_SSL)"
        )
    if admin.username != ADMIN_PRINCIPAL:
        log.warning("kafka.provisioning_principal", username=admin.username)
    passwords = service_passwords_from_env(env)
    without = [
        f"{spec.name.upper()}_KAFKA_PASSWORD"
        for spec in SERVICES
        if not env.get(f"{spec.name.upper()}_KAFKA_PASSWORD")
    ]
    if without:
        raise PrestartMisconfigured(
            "each service logs in to Kafka with its own principal, whose SCRAM credential "
            f"prestart sets: set {', '.join(without)}"
        )
    # The ACLs are granted to concord-<service>: a credential under another name would log
    # in and be refused everything.
    renamed = sorted(set(passwords) - {service_principal(spec.name) for spec in SERVICES})
    if renamed:
        log.warning("kafka.service_principal_renamed", principals=renamed)
    return KafkaProvisioning(
        bootstrap_servers=bootstrap_servers,
        admin=admin,
        partitions=int(env.get("KAFKA_PARTITIONS", "3")),
        replication_factor=int(env.get("KAFKA_REPLICATION_FACTOR", "1")),
        service_passwords=passwords,
    )


async def prepare_databases(admin_url: str) -> None:
    specs = list(SERVICES)
    await provision(admin_url, [spec.settings() for spec in specs])
    for spec in specs:
        # Alembic's env.py runs its own event loop; give it a thread of its own.
        await asyncio.to_thread(upgrade, spec.settings(), spec.migrations_dir)


async def prepare(admin_url: str, kafka: KafkaProvisioning | None) -> None:
    await prepare_databases(admin_url)
    if kafka is not None:
        await provision_kafka(
            kafka.bootstrap_servers,
            kafka.admin,
            partitions=kafka.partitions,
            replication_factor=kafka.replication_factor,
            service_passwords=kafka.service_passwords,
        )


def main() -> None:
    # Everything is checked before anything is touched: a half-provisioned platform whose
    # broker step then fails is harder to reason about than a refusal.
    try:
        admin_url = os.environ.get("DATABASE_URL")
        if not admin_url:
            raise PrestartMisconfigured("set DATABASE_URL (the Postgres administrator's URL)")
        kafka = kafka_provisioning_from_env()
    except PrestartMisconfigured as exc:
        raise SystemExit(f"prestart: {exc}") from None
    asyncio.run(prepare(admin_url, kafka))
    if kafka is None:
        print(
            "prestart: schemas provisioned and migrated (KAFKA_BOOTSTRAP_SERVERS unset: no Kafka)"
        )
    else:
        print(
            "prestart: schemas provisioned and migrated; Kafka topics, credentials and ACLs applied"
        )


if __name__ == "__main__":
    main()
