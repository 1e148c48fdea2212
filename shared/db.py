"""Database engine, sessions and the declarative base for a service's own schema.

Sessions use `expire_on_commit=False`, so objects stay readable after the edge commits, and
relationships are declared `lazy="raise"` in the services so no query hides in an attribute
access. The edge (an HTTP request, a consumed event) owns the transaction: services and
repositories only `flush()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import MetaData, Table, Text, event, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Dialect, RowMapping, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A `StrEnum` column kept as its value in TEXT: `mapped_column(EnumText(VettingStatus))`
    behind `Mapped[VettingStatus]`. The attribute reads back the member, so code compares
    and assigns members and never unwraps (`.value`) or re-wraps (`VettingStatus(row.x)`);
    the column stays TEXT with the same strings in it, so the migrations and the drift test
    (`tests/platform/test_migration_drift.py`) see no change. Not `Enum(native_enum=False)`:
    that one is a VARCHAR of the longest value's length, a new column type for every table.
    A value outside the enum is refused at the flush (`ValueError`), not written."""

    impl = Text
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def schema_metadata(schema: str) -> MetaData:
    """Metadata whose tables all live in one service's schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def asyncpg_url(url: str) -> str:
    """The same database, spoken to through asyncpg."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def plain_dsn(url: str) -> str:
    """A libpq-style DSN (what asyncpg.connect takes) for a SQLAlchemy URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    schema: str,
    application_name: str,
    pool_size: int = 10,
    connect_timeout: float = 5.0,
    command_timeout: float = 60.0,
    pool_timeout: float = 10.0,
) -> AsyncEngine:
    """An engine whose connections find the service's own schema first.

    Every wait is bounded: connecting, each command and waiting for a pooled connection. With
    Postgres away a request fails within seconds as a transient error (answered 503 with
    Retry-After at the edge) instead of hanging until the client gives up.

    A connection that died with a restart is thrown away at checkout (`_discard_closed`), so
    the service recovers by itself, without SQLAlchemy's `pool_pre_ping`: its ping is three
    round trips (BEGIN, `;`, ROLLBACK) on every checkout, a fifth of a submission's round
    trips, and a round trip is what costs most on these machines (docs/benchmarks.md).
    """
    engine = create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        # No bound values in exception texts: they reach logs (shared.logscrub scrubs too).
        hide_parameters=True,
        connect_args={
            "timeout": connect_timeout,
            "command_timeout": command_timeout,
            "server_settings": {"search_path": schema, "application_name": application_name},
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _discard_closed)
    return engine


def _discard_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection the server has closed (a restart, a terminated backend):
    the pool then opens a fresh one. asyncpg marks a connection closed as soon as the event
    loop reads the server's goodbye or EOF, with no round trip; SQLAlchemy itself decides a
    disconnect the same way (`is_closed()`) when a statement fails, and then invalidates
    every connection pooled before it. A connection that dies silently (no EOF) fails its
    first statement as a transient error, answered 503 with Retry-After."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit if the block succeeds, roll back if it raises."""
    async with sessionmaker() as session, session.begin():
        yield session


async def upsert_if_newer(
    session: AsyncSession, target: Table | type[DeclarativeBase], key: str, values: dict[str, Any]
) -> bool:
    """Apply a state to a version-gated projection: insert `values`, or overwrite the row with
    the same `key` only when its `version` is older. True when the row was written; False for
    a redelivered or older state, which changes nothing.

    The one way every replica and read model applies "this state, if it is newer": a single
    statement, so two consumers racing on one key cannot both win."""
    table = target if isinstance(target, Table) else cast(Table, target.__table__)
    statement = insert(table).values(values)
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={name: statement.excluded[name] for name in values if name != key},
        where=table.c.version < statement.excluded.version,
    ).returning(table.c[key])
    return (await session.execute(upsert)).first() is not None


@dataclass(frozen=True)
class Replaced:
    """A state `replace_if_newer` wrote, with the row it replaced (None: it was new)."""

    previous: RowMapping | None


async def replace_if_newer(
    session: AsyncSession, target: Table | type[DeclarativeBase], key: str, values: dict[str, Any]
) -> Replaced | None:
    """`upsert_if_newer` for a projection that derives more from the change than the row
    itself (counts moved from the old area to the new, a status reached for the first time):
    None for a redelivered or older state, else what was there before.

    Why the lock: the previous row must be the one this write replaces. `FOR UPDATE` holds a
    concurrent writer of the same key (a rebuild beside the live consumer) until we commit,
    so two writers can never both derive from the same previous state; the write itself is
    still the version-gated upsert."""
    table = target if isinstance(target, Table) else cast(Table, target.__table__)
    previous = (
        (await session.execute(select(table).where(table.c[key] == values[key]).with_for_update()))
        .mappings()
        .one_or_none()
    )
    if previous is not None and previous["version"] >= values["version"]:
        return None
    # Absent a moment ago and written meanwhile by a newer state: the gate refuses ours.
    if not await upsert_if_newer(session, table, key, values):
        return None
    return Replaced(previous=previous)
