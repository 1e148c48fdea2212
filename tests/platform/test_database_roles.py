"""One schema and one role per service: a service's role reaches its own schema and no other."""

from __future__ import annotations

import asyncpg
import pytest

from deploy.services import SERVICES
from shared.db import plain_dsn

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
async def test_service_role_is_confined_to_its_schema(stack, spec) -> None:
    settings = spec.settings()
    conn = await asyncpg.connect(plain_dsn(settings.service_database_url))
    try:
        assert await conn.fetchval("SELECT current_user") == settings.db_role
        assert await conn.fetchval("SHOW search_path") == settings.db_schema
        # Its own tables: readable and writable by it, owned by it.
        assert await conn.fetchval("SELECT count(*) FROM outbox") >= 0
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'outbox'",
            settings.db_schema,
        )
        assert owner == settings.db_role
        for other in SERVICES:
            if other.name == spec.name:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {other.name}.outbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
    finally:
        await conn.close()


async def test_migrations_are_recorded_per_schema(stack) -> None:
    for spec in SERVICES:
        settings = spec.settings()
        conn = await asyncpg.connect(plain_dsn(settings.service_database_url))
        try:
            version = await conn.fetchval(f"SELECT version_num FROM {spec.name}.alembic_version")
            assert version
        finally:
            await conn.close()
