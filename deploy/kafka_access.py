"""Who may do what on Kafka: the ACLs of every service principal, derived, and applied.

Derived, never listed by hand: from the event catalog (which service produces which topic)
and from what each service's app registers (its consumer groups and the topics their routers
read). A service principal `concord-<service>` may

- WRITE (and DESCRIBE) the topics it produces, `concord.<service>.…`;
- READ (and DESCRIBE) the topics its consumer groups read;
- READ the consumer groups whose names start with `<service>.` (its declared groups, a
  rebuild's throwaway group, monitoring's audit-gap recorder);
- WRITE, READ and DESCRIBE the dead-letter topic of each of its groups.

Nothing else: it creates no topic (the admin creates them all before the services start:
`provision_kafka`), reads no other group, writes no other service's topic. The admin
principal is the brokers' super user and needs no ACL.

`python -m deploy.kafka_access` applies them to the brokers of the environment (admin
credentials in `KAFKA_SASL_USERNAME`/`KAFKA_SASL_PASSWORD`); the local stack and the test
harness call `provision_kafka` themselves. Idempotent: missing ACLs are created, ACLs of a
service principal that the derivation no longer gives are deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
from collections.abc import Iterable, Mapping

from deploy.kafka import ADMIN_PRINCIPAL, service_principal
from deploy.kafka_protocol import (
    Acl,
    Operation,
    PatternType,
    ResourceType,
    alter_scram_credentials,
    create_acls,
    delete_acls,
    describe_acls,
)
from deploy.kafka_provisioner import GROUP as PROVISIONER_GROUP
from deploy.services import SERVICES, ServiceSpec
from shared.events.catalog import Catalog, Topic, dead_letter_topic
from shared.events.kafka import KafkaSecurity, create_admin, ensure_topics
from shared.events.schemas import CATALOG
from shared.logging import get_logger
from shared.runtime import Consumes, ServiceRuntime
from shared.state import service_state

log = get_logger(__name__)


def _user(name: str) -> str:
    return f"User:{name}"


def service_runtime(spec: ServiceSpec) -> ServiceRuntime:
    """The runtime the service's app would run (built, not started: no connection is made)."""
    module_name, factory_name = spec.app_factory.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    # Unvalidated settings: only the shape of the app matters here, not the secrets.
    app = factory(spec.settings_class.model_construct())
    return service_state(app).runtime


def consumer_groups(spec: ServiceSpec) -> list[Consumes]:
    return list(service_runtime(spec).consumes)


def produced_topics(service: str, catalog: Catalog = CATALOG) -> list[Topic]:
    return sorted(
        (t for t in catalog.topics() if t.producer == service), key=lambda topic: topic.name
    )


def group_prefix(service: str) -> str:
    return f"{service}."


def service_acls(
    service: str, consumes: Iterable[Consumes], catalog: Catalog = CATALOG
) -> set[Acl]:
    """Every ACL of `service`'s principal (see the module docstring)."""
    who = _user(service_principal(service))
    acls: set[Acl] = set()

    def topic(name: str, *operations: Operation) -> None:
        for operation in operations:
            acls.add(Acl(who, ResourceType.TOPIC, name, PatternType.LITERAL, operation))

    for produced in produced_topics(service, catalog):
        topic(produced.name, Operation.WRITE, Operation.DESCRIBE)
    for spec in consumes:
        if not spec.group_id.startswith(group_prefix(service)):
            raise ValueError(
                f"consumer group {spec.group_id} of {service} must start with "
                f"{group_prefix(service)!r}: its ACL is granted by that prefix"
            )
        for name in spec.router.topics:
            topic(name, Operation.READ, Operation.DESCRIBE)
        dead_letters = dead_letter_topic(spec.group_id).name
        topic(dead_letters, Operation.WRITE, Operation.READ, Operation.DESCRIBE)
    acls.add(
        Acl(who, ResourceType.GROUP, group_prefix(service), PatternType.PREFIXED, Operation.READ)
    )
    return acls


def all_service_acls() -> dict[str, set[Acl]]:
    """principal name → its ACLs, for every service."""
    return {
        service_principal(spec.name): service_acls(spec.name, consumer_groups(spec))
        for spec in SERVICES
    }


def all_topics() -> list[Topic]:
    """What the admin creates before any service starts: the catalog and every DLQ."""
    dead_letters = [
        dead_letter_topic(c.group_id) for spec in SERVICES for c in consumer_groups(spec)
    ]
    # The NGO-access provisioner's (deploy/kafka_provisioner.py): it runs as the admin.
    dead_letters.append(dead_letter_topic(PROVISIONER_GROUP))
    return [*CATALOG.topics(), *dead_letters]


async def apply_acls(
    bootstrap_servers: str, admin: KafkaSecurity, wanted: Mapping[str, set[Acl]]
) -> tuple[int, int]:
    """Make each principal's ACLs exactly `wanted[principal]`; (created, deleted)."""
    client = create_admin(bootstrap_servers, security=admin, client_id="concord-provisioning")
    await client.start()
    created = deleted = 0
    try:
        for principal, acls in wanted.items():
            existing = await describe_acls(client, _user(principal))
            missing = sorted(acls - existing)
            stale = sorted(existing - acls)
            await create_acls(client, missing)
            await delete_acls(client, stale)
            created += len(missing)
            deleted += len(stale)
    finally:
        await client.close()
    return created, deleted


async def set_credentials(
    bootstrap_servers: str, admin: KafkaSecurity, passwords: Mapping[str, str]
) -> None:
    """Give each principal its SCRAM-SHA-512 password (a principal added after the storage
    was formatted gets its credential here)."""
    client = create_admin(bootstrap_servers, security=admin, client_id="concord-provisioning")
    await client.start()
    try:
        await alter_scram_credentials(client, upsert=dict(passwords))
    finally:
        await client.close()


async def provision_kafka(
    bootstrap_servers: str,
    admin: KafkaSecurity,
    *,
    partitions: int,
    replication_factor: int,
    service_passwords: Mapping[str, str] | None = None,
) -> None:
    """Topics (created, or their settings brought back to their retention class), then
    service credentials (when given), then ACLs. Idempotent."""
    await ensure_topics(
        bootstrap_servers,
        all_topics(),
        partitions=partitions,
        replication_factor=replication_factor,
        security=admin,
        reconcile=True,  # the admin owns the topics' settings: an old topic gets its class too
    )
    if not admin.sasl:
        log.warning("kafka.provisioning_without_authentication", bootstrap=bootstrap_servers)
        return
    if service_passwords:
        await set_credentials(bootstrap_servers, admin, service_passwords)
    created, deleted = await apply_acls(bootstrap_servers, admin, all_service_acls())
    log.info("kafka.acls_applied", created=created, deleted=deleted)


def service_passwords_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """principal → password, for each service whose `<SERVICE>_KAFKA_PASSWORD` is set."""
    env = os.environ if environ is None else environ
    found = {}
    for spec in SERVICES:
        password = env.get(f"{spec.name.upper()}_KAFKA_PASSWORD")
        if password:
            username = env.get(f"{spec.name.upper()}_KAFKA_USERNAME", service_principal(spec.name))
            found[username] = password
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.kafka_access")
    parser.add_argument("--show", action="store_true", help="print the ACLs, apply nothing")
    args = parser.parse_args(argv)
    if args.show:
        for _principal, acls in sorted(all_service_acls().items()):
            for acl in sorted(acls):
                print(acl)
        return
    admin = KafkaSecurity.from_env()
    if admin.sasl and admin.username != ADMIN_PRINCIPAL:
        log.warning("kafka.provisioning_principal", username=admin.username)
    asyncio.run(
        provision_kafka(
            os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            admin,
            partitions=int(os.environ.get("KAFKA_PARTITIONS", "3")),
            replication_factor=int(os.environ.get("KAFKA_REPLICATION_FACTOR", "1")),
            service_passwords=service_passwords_from_env(),
        )
    )
    print("kafka: topics created, credentials and ACLs applied")


if __name__ == "__main__":
    main()
