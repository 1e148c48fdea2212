"""The SLA engine against the real database: clocks start and stop with the request's state,
the sweep raises each level once (however often or concurrently it runs), and alerts clear."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from deploy.stack import LocalStack
from services.monitoring.config import Settings
from services.monitoring.db.models import outbox
from services.monitoring.db.models.sla import sla_clocks
from services.monitoring.sla.engine import sweep_once, sync_clocks
from services.monitoring.tests.factories import aid_request, now
from shared.db import create_engine, create_sessionmaker
from shared.events.schemas import humanitarian_requests as hr
from shared.vocabulary import Sensitivity, Urgency

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(stack: LocalStack) -> AsyncIterator[AsyncEngine]:
    settings = Settings()
    engine = create_engine(
        settings.service_database_url, schema="monitoring", application_name="sla-test"
    )
    yield engine
    await engine.dispose()


async def _alerts_for(session: AsyncSession, request_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(outbox.table.c.event_type, outbox.table.c.envelope)
            .where(outbox.table.c.topic == "concord.monitoring.sla.v1")
            .order_by(outbox.table.c.id)
        )
    ).all()
    return [
        {"type": r.event_type.split(".")[-2], **r.envelope["data"]}
        for r in rows
        if r.envelope["data"]["request_id"] == str(request_id)
    ]


async def _sync(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, data: Any
) -> None:
    async with sessionmaker() as session, session.begin():
        await sync_clocks(session, settings, data)


async def test_sweep_raises_each_level_once_then_clears(engine: AsyncEngine) -> None:
    settings = Settings(sla_targets={"urgent": {"triage": 100}}, sla_escalation_fraction=0.5)
    sessionmaker = create_sessionmaker(engine)
    request_id = uuid.uuid4()
    submitted = now() - timedelta(seconds=110)  # past the 100 s target, not yet escalated
    data = aid_request(
        request_id=request_id,
        version=1,
        status=hr.RequestStatus.submitted,
        submitted_at=submitted,
        urgency=Urgency.urgent,
    )
    await _sync(sessionmaker, settings, data)
    await _sync(sessionmaker, settings, data)  # a replayed state starts nothing twice

    # Several sweepers at once (replicas): the breach goes out exactly once.
    await asyncio.gather(*(sweep_once(sessionmaker, settings) for _ in range(4)))
    await sweep_once(sessionmaker, settings)
    async with sessionmaker() as session:
        alerts = await _alerts_for(session, request_id)
    assert [(a["type"], a["escalation_level"]) for a in alerts] == [("breached", 1)]
    assert alerts[0]["escalate_to"] == ["duty_officer", "sector_lead"]

    # Time passes (moved back in the database): the next step of the chain is told.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(sla_clocks)
            .where(sla_clocks.c.request_id == request_id)
            .values(
                started_at=sla_clocks.c.started_at - timedelta(seconds=60),
                due_at=sla_clocks.c.due_at - timedelta(seconds=60),
                next_check_at=sla_clocks.c.next_check_at - timedelta(seconds=60),
            )
        )
    await sweep_once(sessionmaker, settings)
    await sweep_once(sessionmaker, settings)
    async with sessionmaker() as session:
        alerts = await _alerts_for(session, request_id)
    assert [(a["type"], a["escalation_level"]) for a in alerts] == [
        ("breached", 1),
        ("breached", 2),
    ]
    assert len({a["alert_id"] for a in alerts}) == 1
    assert [a["version"] for a in alerts] == [1, 2]

    # Triage: the triage alert clears and the offer clock starts.
    triaged = aid_request(
        hr.AidRequestTriaged,
        request_id=request_id,
        version=2,
        status=hr.RequestStatus.triaged,
        submitted_at=submitted,
        urgency=Urgency.urgent,
        triaged_at=now(),
    )
    await _sync(sessionmaker, settings, triaged)
    async with sessionmaker() as session:
        alerts = await _alerts_for(session, request_id)
        clocks = {
            r.stage: r.state
            for r in (
                await session.execute(
                    select(sla_clocks.c.stage, sla_clocks.c.state).where(
                        sla_clocks.c.request_id == request_id
                    )
                )
            ).all()
        }
    assert alerts[-1]["type"] == "cleared" and alerts[-1]["resolution"] == "triage reached"
    assert alerts[-1]["version"] == 3
    assert clocks == {"triage": "met", "offer": "running"}

    # Cancelled: the running offer clock stops without an alert (none was raised).
    cancelled = aid_request(
        hr.AidRequestCancelled,
        request_id=request_id,
        version=3,
        status=hr.RequestStatus.cancelled,
        submitted_at=submitted,
        urgency=Urgency.urgent,
        triaged_at=now(),
        cancelled_at=now(),
    )
    await _sync(sessionmaker, settings, cancelled)
    async with sessionmaker() as session:
        assert len(await _alerts_for(session, request_id)) == 3
        state = await session.scalar(
            select(sla_clocks.c.state).where(
                sla_clocks.c.request_id == request_id, sla_clocks.c.stage == "offer"
            )
        )
    assert state == "cancelled"


async def test_an_alert_carries_its_requests_class_and_follows_a_reclassification(
    engine: AsyncEngine,
) -> None:
    settings = Settings(sla_targets={"urgent": {"triage": 100}}, sla_escalation_fraction=0.5)
    sessionmaker = create_sessionmaker(engine)
    internal_id, reclassified_id = uuid.uuid4(), uuid.uuid4()
    submitted = now() - timedelta(seconds=110)

    def state(request_id: uuid.UUID, version: int, sensitivity: Sensitivity) -> Any:
        return aid_request(
            request_id=request_id,
            version=version,
            status=hr.RequestStatus.submitted,
            submitted_at=submitted,
            urgency=Urgency.urgent,
            sensitivity=sensitivity,
        )

    await _sync(sessionmaker, settings, state(internal_id, 1, Sensitivity.internal))
    await _sync(sessionmaker, settings, state(reclassified_id, 1, Sensitivity.internal))
    await sweep_once(sessionmaker, settings)
    # Reclassified to restricted after its first alert: the next one says so.
    await _sync(sessionmaker, settings, state(reclassified_id, 2, Sensitivity.restricted))
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(sla_clocks)
            .where(sla_clocks.c.request_id.in_([internal_id, reclassified_id]))
            .values(
                due_at=sla_clocks.c.due_at - timedelta(seconds=60),
                next_check_at=sla_clocks.c.next_check_at - timedelta(seconds=60),
            )
        )
    await sweep_once(sessionmaker, settings)
    async with sessionmaker() as session:
        internal = await _alerts_for(session, internal_id)
        reclassified = await _alerts_for(session, reclassified_id)
    assert [a["sensitivity"] for a in internal] == ["internal", "internal"]
    assert [(a["escalation_level"], a["sensitivity"]) for a in reclassified] == [
        (1, "internal"),
        (2, "restricted"),
    ]
