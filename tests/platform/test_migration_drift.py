"""Each service's tables are declared twice, in its ORM models and in its migrations; they agree.

Alembic's autogenerate comparison (`compare_metadata`) runs between a service's models and the
schema its migrations built in the real test Postgres: columns, types, nullability, server
defaults, indexes, unique and foreign keys. The outbox and inbox of every service
(`shared/events/outbox.py`, `shared/migrations.py`) are part of the comparison.

The comparison connects with the service's own role but with its schema *outside* the search
path: Postgres then names the schema in every reflected foreign key, as the models do, so both
sides are spelled alike.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from deploy.services import SERVICES, ServiceSpec
from shared.db import NAMING_CONVENTION, asyncpg_url

pytestmark = pytest.mark.integration


def models_package(spec: ServiceSpec) -> str:
    return f"services.{spec.name}.db.models"


def service_metadata(spec: ServiceSpec) -> sa.MetaData:
    """The service's metadata with every module of its models package imported."""
    package = importlib.import_module(models_package(spec))
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
    metadata: sa.MetaData = package.Base.metadata
    return metadata


def flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    # Column modifications come grouped per column, as a list of tuples.
    flat: list[tuple[Any, ...]] = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def differences(
    connection: Connection, metadata: sa.MetaData, schema: str
) -> list[tuple[Any, ...]]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_schemas": True,
            "version_table_schema": schema,
            "include_name": lambda name, kind, parent: kind != "schema" or name == schema,
        },
    )
    return flatten(compare_metadata(context, metadata))


async def drift(spec: ServiceSpec, metadata: sa.MetaData) -> list[tuple[Any, ...]]:
    settings = spec.settings()
    engine = create_async_engine(
        asyncpg_url(settings.service_database_url),
        poolclass=pool.NullPool,
        connect_args={"server_settings": {"search_path": "pg_catalog"}},
    )
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(differences, metadata, settings.db_schema)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
async def test_models_match_the_migrated_schema(stack, spec: ServiceSpec) -> None:
    metadata = service_metadata(spec)
    outbox = metadata.tables[f"{spec.settings().db_schema}.outbox"]
    # The comparison covers the event plumbing, the outbox's parked-row columns included.
    assert {"failed_at", "failure"} <= set(outbox.c.keys())
    assert f"{spec.settings().db_schema}.processed_events" in metadata.tables
    assert await drift(spec, metadata) == []


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_the_models_package_registers_every_table(spec: ServiceSpec) -> None:
    """Importing `db.models` alone declares every table (what the migrations' env.py sees)."""
    probe = (
        "import importlib, pkgutil\n"
        f"package = importlib.import_module({models_package(spec)!r})\n"
        "alone = set(package.Base.metadata.tables)\n"
        "for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(sorted(set(package.Base.metadata.tables) - alone))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert finished.stdout.strip() == "[]"


# Each alteration makes a copy of joint planning's models disagree with its migrations in one
# way; the comparison must name exactly that disagreement.
Alteration = Callable[[sa.MetaData], None]


def add_column(metadata: sa.MetaData) -> None:
    metadata.tables["joint_planning.operations"].append_column(
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True)
    )


def drop_table(metadata: sa.MetaData) -> None:
    metadata.remove(metadata.tables["joint_planning.meetings"])


def change_type(metadata: sa.MetaData) -> None:
    metadata.tables["joint_planning.outbox"].c["failure"].type = sa.String(200)


def change_nullability(metadata: sa.MetaData) -> None:
    metadata.tables["joint_planning.outbox"].c["failed_at"].nullable = False


def drop_server_default(metadata: sa.MetaData) -> None:
    metadata.tables["joint_planning.outbox"].c["created_at"].server_default = None


def add_index(metadata: sa.MetaData) -> None:
    table = metadata.tables["joint_planning.tasks"]
    sa.Index("ix_tasks_title", table.c["title"])


ALTERATIONS: dict[str, tuple[Alteration, set[tuple[str, str]]]] = {
    "model column without migration": (add_column, {("add_column", "operations")}),
    "migrated table without model": (
        drop_table,
        {("remove_table", "meetings"), ("remove_index", "meetings")},
    ),
    "type": (change_type, {("modify_type", "outbox")}),
    "nullability": (change_nullability, {("modify_nullable", "outbox")}),
    "server default": (drop_server_default, {("modify_default", "outbox")}),
    "index": (add_index, {("add_index", "tasks")}),
}


def copy_of(metadata: sa.MetaData) -> sa.MetaData:
    copy = sa.MetaData(schema=metadata.schema, naming_convention=NAMING_CONVENTION)
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def touched(diff: tuple[Any, ...]) -> tuple[str, str]:
    """The kind of a difference and the table it concerns."""
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return kind, diff[1].name
    if kind in ("add_index", "remove_index"):
        return kind, diff[1].table.name
    if kind in ("add_column", "remove_column"):
        return kind, diff[2]
    return kind, diff[2]  # modify_*: (kind, schema, table, column, ...)


def planning() -> ServiceSpec:
    return next(spec for spec in SERVICES if spec.name == "joint_planning")


async def test_an_unaltered_copy_of_the_models_has_no_drift(stack) -> None:
    assert await drift(planning(), copy_of(service_metadata(planning()))) == []


@pytest.mark.parametrize("name", sorted(ALTERATIONS))
async def test_a_model_that_disagrees_with_its_migrations_is_drift(stack, name: str) -> None:
    alter, expected = ALTERATIONS[name]
    metadata = copy_of(service_metadata(planning()))
    alter(metadata)
    found = await drift(planning(), metadata)
    assert {touched(diff) for diff in found} == expected, found
