"""Session fixtures for every test: a real Postgres and a real Kafka, started once.

`make test` sets neither `DATABASE_URL` nor `KAFKA_BOOTSTRAP_SERVERS`, so the session starts
an embedded Postgres and a KRaft broker on free ports in a temporary directory and stops them
at the end. Set both to run the suite against servers you already have.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from deploy.stack import LocalStack

os.environ.setdefault("CONCORD_ENV", "test")
os.environ.setdefault("LOG_JSON", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("OUTBOX_POLL_INTERVAL", "0.5")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Postgres and Kafka with every service's schema migrated and every topic created.

    The suite's Postgres is the one server that opts out of durability: a crash of the
    machine mid-suite loses nothing anyone needs, and fsync on every commit would slow the
    suite down on a small machine.
    """
    local = LocalStack(tmp_path_factory.mktemp("stack"), postgres_durable=False)
    with local.running():
        yield local


@pytest.fixture(scope="session")
def database_url(stack: LocalStack) -> str:
    assert stack.database_url
    return stack.database_url


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: LocalStack) -> str:
    assert stack.kafka_bootstrap_servers
    return stack.kafka_bootstrap_servers
