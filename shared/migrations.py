"""Provisioning and migrating a service's schema.

Each service owns one schema and one login role. `provision` (run with the administrator URL)
creates the database if missing, the role, and the schema owned by that role, and shuts every
other role out of it; `upgrade` then runs the service's Alembic migrations *as the service
role*, so every table belongs to it. `run_migrations` is what each service's `env.py` calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.config import ServiceSettings
from shared.db import asyncpg_url, plain_dsn
from shared.events.outbox import notify_trigger_sql
from shared.logging import get_logger

log = get_logger(__name__)


def _quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"refusing odd identifier {name!r}")
    return f'"{name}"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_database(admin_url: str) -> None:
    """Create the database named in the administrator URL if it does not exist."""
    url = make_url(admin_url)
    database = url.database or "postgres"
    maintenance = plain_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(maintenance)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f"CREATE DATABASE {_quote_ident(database)}")
            log.info("db.database_created", database=database)
    finally:
        await conn.close()


async def provision(admin_url: str, services: Iterable[ServiceSettings]) -> None:
    """Create each service's role and schema (idempotent; passwords follow the settings)."""
    await ensure_database(admin_url)
    database = make_url(admin_url).database or "postgres"
    conn = await asyncpg.connect(plain_dsn(admin_url))
    try:
        # Serialise concurrent provisioning (several services' prestart steps at once).
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7710001)")
            await conn.execute(f"REVOKE ALL ON DATABASE {_quote_ident(database)} FROM PUBLIC")
            await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            for settings in services:
                role = _quote_ident(settings.db_role)
                schema = _quote_ident(settings.db_schema)
                password = _quote_literal(settings.db_password)
                exists = await conn.fetchval(
                    "SELECT 1 FROM pg_roles WHERE rolname = $1", settings.db_role
                )
                verb = "ALTER" if exists else "CREATE"
                await conn.execute(
                    f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    f"PASSWORD {password}"
                )
                await conn.execute(
                    f"GRANT CONNECT, TEMPORARY ON DATABASE {_quote_ident(database)} TO {role}"
                )
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
                await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
                await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
                await conn.execute(f"ALTER ROLE {role} SET search_path = {schema}")
    finally:
        await conn.close()


def alembic_config(settings: ServiceSettings, migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = settings.service_database_url
    config.attributes["schema"] = settings.db_schema
    return config


def upgrade(settings: ServiceSettings, migrations_dir: Path, revision: str = "head") -> None:
    """Run a service's migrations up to `revision` as the service's own role (blocking)."""
    command.upgrade(alembic_config(settings, migrations_dir), revision)


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    config = context.config
    url: str = config.attributes["database_url"]
    schema: str = config.attributes["schema"]
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            version_table_schema=schema,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(
            asyncpg_url(url),
            poolclass=pool.NullPool,
            hide_parameters=True,
            connect_args={"server_settings": {"search_path": schema}},
        )
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())


def create_event_tables_v1(schema: str) -> None:
    """Migration step: the outbox and inbox tables and the trigger that wakes the relay.

    Every service's first migration calls this, so the four schemas carry the same event
    plumbing. It is versioned (`_v1`): a later change to these tables is a new function and
    a new migration, never an edit here.
    """
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("message_key", sa.Text, nullable=False),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer_group", sa.Text, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("consumer_group", "event_id", name="pk_processed_events"),
        schema=schema,
    )
    for statement in notify_trigger_sql(schema):
        op.execute(statement)


def add_outbox_parking_v2(schema: str) -> None:
    """Migration step: parked outbox rows (`failed_at`, `failure`): rows the relay could
    never send, kept with their error so the rows behind them go on."""
    op.add_column(
        "outbox", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True), schema=schema
    )
    op.add_column("outbox", sa.Column("failure", sa.Text, nullable=True), schema=schema)


def drop_outbox_parking_v2(schema: str) -> None:
    op.drop_column("outbox", "failure", schema=schema)
    op.drop_column("outbox", "failed_at", schema=schema)
