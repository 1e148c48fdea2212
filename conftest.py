"""Session fixtures for every test: a real Postgres and a real Kafka, started once.

`make test` sets neither `DATABASE_URL` nor `KAFKA_BOOTSTRAP_SERVERS`, so the session starts
an embedded Postgres and a KRaft broker on free ports in a temporary directory and stops them
at the end. Set both to run the suite against servers you already have.

The suite never touches the user's own `make run` directory (`~/.cache/concord/run`, or
wherever `CONCORD_RUN_DIR` points): every `concord` command and `deploy.stack` the tests run,
in process or as a subprocess, sees a run directory of the session's own
(`tests/platform/test_test_isolation.py` proves it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.stack import LocalStack

os.environ.setdefault("CONCORD_ENV", "test")
os.environ.setdefault("LOG_JSON", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("OUTBOX_POLL_INTERVAL", "0.5")
# Tests share a handful of principals (`bearer()` subjects) per app; the rate limits are
# proved by tests that set tiny ones (services/*/tests/test_rate_limits.py), not by accident.
os.environ.setdefault("CONCORD_RATE_LIMIT_INTAKE_BURST", "1000000")
os.environ.setdefault("CONCORD_RATE_LIMIT_EXPORT_BURST", "1000000")

# Set unconditionally, at import (before any test or fixture runs): a `CONCORD_RUN_DIR` the
# user exported for their own stack must not leak into the suite either. Not under pytest's
# basetemp, which other pytest sessions on the machine prune while this one runs.
USER_RUN_DIR = os.environ.get("CONCORD_RUN_DIR")
SESSION_RUN_DIR = Path(tempfile.mkdtemp(prefix="concord-test-run-"))
os.environ["CONCORD_RUN_DIR"] = str(SESSION_RUN_DIR)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(SESSION_RUN_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def session_run_dir() -> Path:
    """The run directory every `concord` command in this session sees by default."""
    return SESSION_RUN_DIR


@pytest.fixture(scope="session")
def user_run_dirs() -> set[Path]:
    """Where the user's own `make run` keeps its data: the default, and their override."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    found = {cache / "concord" / "run", Path.home() / ".cache" / "concord" / "run"}
    if os.environ.get("CONCORD_CACHE"):
        found.add(Path(os.environ["CONCORD_CACHE"]) / "run")
    if USER_RUN_DIR:
        found.add(Path(USER_RUN_DIR))
    return {path.resolve() for path in found}


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
