"""Appending to the audit chain against the real database: a transaction that appends many
events (a consumer batch) takes the append lock and reads the chain's head once, and every row
still links to the row before it, whatever happens around it.

The chain is shared with the running stack's own audit group, so the test checks the links of
its own rows (each row's `prev_hash` is the hash of the row just before it), not the whole
chain's count.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.stack import LocalStack
from services.monitoring.audit.chain import GENESIS_HASH, append
from services.monitoring.config import Settings
from services.monitoring.db.models.audit import audit_log
from services.monitoring.tests.factories import envelope, ngo
from shared.db import create_engine, create_sessionmaker
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


@pytest.fixture
async def sessionmaker(stack: LocalStack) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = Settings()
    engine = create_engine(
        settings.service_database_url, schema=settings.db_schema, application_name="audit-append"
    )
    yield create_sessionmaker(engine)
    await engine.dispose()


def _event() -> CloudEvent:
    ngo_id = uuid.uuid4()
    state = ngo(ngo_id=ngo_id, version=1, name="Audit append", grants=[(Sector.wash, ["SS01"])])
    return envelope(state, subject=ngo_id)


async def _append(session: AsyncSession, event: CloudEvent) -> str:
    topic = CATALOG.by_type(event.type)
    assert topic is not None
    return await append(session, event, topic=topic.topic.name)


async def test_appends_in_one_transaction_link_to_each_other_and_to_what_came_between(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    batch = [_event() for _ in range(3)]
    undone, after_savepoint, kept, after_kept = _event(), _event(), _event(), _event()
    between, later = _event(), _event()
    async with sessionmaker() as session:
        async with session.begin():
            hashes = [await _append(session, event) for event in batch]
            # A savepoint rolled back takes its row away: the next append must not link to it.
            savepoint = await session.begin_nested()
            await _append(session, undone)
            await savepoint.rollback()
            hashes.append(await _append(session, after_savepoint))
            # A savepoint released keeps its row: the next append links to it.
            async with session.begin_nested():
                hashes.append(await _append(session, kept))
            hashes.append(await _append(session, after_kept))
        # Another appender between this session's two transactions moves the head.
        async with sessionmaker() as other, other.begin():
            await _append(other, between)
        async with session.begin():
            await _append(session, later)

    ids = [e.id for e in (*batch, after_savepoint, kept, after_kept, between, later)]
    async with sessionmaker() as session:
        rows = {
            row.event_id: row
            for row in await session.execute(
                select(audit_log.c.event_id, audit_log.c.position, audit_log.c.hash).where(
                    audit_log.c.event_id.in_([*ids, undone.id])
                )
            )
        }
        assert undone.id not in rows
        assert [rows[e.id].hash for e in (*batch, after_savepoint, kept, after_kept)] == hashes
        for event_id in ids:
            row = rows[event_id]
            before = (
                await session.scalar(
                    select(audit_log.c.hash)
                    .where(audit_log.c.position < row.position)
                    .order_by(audit_log.c.position.desc())
                    .limit(1)
                )
                or GENESIS_HASH  # the first row of the chain
            )
            prev_hash = await session.scalar(
                select(audit_log.c.prev_hash).where(audit_log.c.event_id == event_id)
            )
            assert prev_hash == before, f"row {row.position} does not link to the row before it"
