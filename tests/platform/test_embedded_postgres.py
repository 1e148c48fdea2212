"""The embedded Postgres that `make run` starts keeps every commit through a crash of the machine.

Only a caller that says so (the test suite's own server) trades durability for
speed; `make run` and `make chaos` build their stack without saying anything and so get the
durable server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from deploy.postgres import EmbeddedPostgres
from deploy.stack import free_port_block, postgres_durability_from_environment, stack_from_arguments


async def durability_settings(postgres: EmbeddedPostgres) -> dict[str, str]:
    # The maintenance database: `concord` is created later, by the stack's prestart step.
    connection = await asyncpg.connect(postgres.admin_url.rsplit("/", 1)[0] + "/postgres")
    try:
        return {
            name: await connection.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }
    finally:
        await connection.close()


@pytest.fixture
def started() -> Iterator[list[EmbeddedPostgres]]:
    servers: list[EmbeddedPostgres] = []
    yield servers
    for server in servers:
        server.destroy()


async def test_make_run_starts_a_durable_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[EmbeddedPostgres]
) -> None:
    # A shell like the user's: no server named, no opt-out (the suite's session exports its
    # own DATABASE_URL, which would make the stack start no Postgres at all).
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CONCORD_PG_DURABILITY", raising=False)
    # Exactly what `make run` (`python -m deploy.stack run`) builds, on a port of our own.
    stack, _ = stack_from_arguments(
        ["run", "--run-dir", str(tmp_path / "run"), "--postgres-port", str(free_port_block())]
    )
    stack.start_postgres()
    assert stack.postgres is not None
    started.append(stack.postgres)
    assert await durability_settings(stack.postgres) == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
    }


async def test_only_an_explicit_opt_out_turns_durability_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[EmbeddedPostgres]
) -> None:
    monkeypatch.setenv("CONCORD_PG_DURABILITY", "off")
    assert postgres_durability_from_environment() is False
    monkeypatch.setenv("CONCORD_PG_DURABILITY", "fast")
    with pytest.raises(ValueError, match="CONCORD_PG_DURABILITY"):
        postgres_durability_from_environment()
    postgres = EmbeddedPostgres(tmp_path / "postgres", port=free_port_block(), durable=False)
    started.append(postgres)
    postgres.start()
    assert await durability_settings(postgres) == {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
