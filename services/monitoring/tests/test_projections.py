"""Version-gated projections against the real database: a state is applied only when it is
newer than the row (`shared.db.upsert_if_newer`), and a projection that derives counts from
the change sees the row it replaced (`shared.db.replace_if_newer`).

Each test works on its own ids, and the incident counts on days long past, so no other test
reads or writes the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.stack import LocalStack
from services.monitoring.config import Settings
from services.monitoring.db.models.read_models import incident_counts, incidents, ngos
from services.monitoring.incident.handlers import apply_incident
from services.monitoring.registry.handlers import apply_ngo
from services.monitoring.tests.factories import incident, ngo
from shared.db import create_engine, create_sessionmaker
from shared.events.schemas.humanitarian_requests import IncidentReported

pytestmark = pytest.mark.integration

DAY = date(1999, 3, 14)  # no other test counts incidents this long ago


@pytest.fixture
async def sessionmaker(stack: LocalStack) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = Settings()
    engine = create_engine(
        settings.service_database_url, schema=settings.db_schema, application_name="projections"
    )
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _count(session: AsyncSession, pcode: str) -> int:
    held = await session.scalar(
        select(incident_counts.c.incidents).where(
            incident_counts.c.pcode == pcode, incident_counts.c.day == DAY
        )
    )
    return int(held or 0)


async def test_an_incident_applies_only_newer_states_and_its_count_moves_with_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    incident_id = uuid.uuid4()
    at = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)

    def state(version: int, pcode: str) -> IncidentReported:
        return incident(incident_id=incident_id, version=version, pcode=pcode, occurred_at=at)

    async with sessionmaker() as session, session.begin():
        before = {p: await _count(session, p) for p in ("SS1009", "SS1010")}
        assert await apply_incident(session, state(1, "SS1010"))
        assert await apply_incident(session, state(3, "SS1009"))
        # A late older state and a redelivery change nothing, and move no count.
        assert not await apply_incident(session, state(2, "SS1010"))
        assert not await apply_incident(session, state(3, "SS1010"))
        row = (
            (await session.execute(select(incidents).where(incidents.c.incident_id == incident_id)))
            .mappings()
            .one()
        )
        assert (row["version"], row["pcode"]) == (3, "SS1009")
        assert await _count(session, "SS1010") == before["SS1010"]
        assert await _count(session, "SS1009") == before["SS1009"] + 1


async def test_an_ngo_replica_row_is_replaced_only_by_a_newer_version(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = ngo(ngo_id=uuid.uuid4(), name="Projection first", version=2, grants=[])
    older = first.model_copy(update={"name": "Projection older", "version": 1})
    newer = first.model_copy(update={"name": "Projection newer", "version": 3})
    async with sessionmaker() as session, session.begin():
        assert await apply_ngo(session, first)
        assert not await apply_ngo(session, older)
        assert not await apply_ngo(session, first)
        held = (await session.execute(select(ngos).where(ngos.c.ngo_id == first.ngo_id))).one()
        assert (held.name, held.version) == ("Projection first", 2)
        assert await apply_ngo(session, newer)
        held = (await session.execute(select(ngos).where(ngos.c.ngo_id == first.ngo_id))).one()
        assert (held.name, held.version) == ("Projection newer", 3)
