"""Rebuilding the read models from the topics gives exactly the live read models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.consumers import READ_MODEL_GROUP, build_read_model_router
from services.monitoring.db.models import outbox
from services.monitoring.rebuild import read_model_snapshot, rebuild
from services.monitoring.retention.service import purge_read_models
from services.monitoring.tests.factories import (
    aid_request,
    envelope,
    eventually,
    incident,
    ngo,
    now,
    publish,
)
from services.monitoring.tests.planning_factories import conflict, operation, participant, task
from shared.db import create_engine
from shared.events.kafka import create_consumer
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import joint_planning as jp
from shared.testing import bearer, serve_in_process
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def _caught_up(bootstrap: str, topics: list[str]) -> bool:
    """True when the live read-model group has committed every message of its topics."""
    consumer = create_consumer(
        bootstrap_servers=bootstrap, group_id=READ_MODEL_GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or []
        ]
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            if ends[tp] and (await consumer.committed(tp) or 0) < ends[tp]:
                return False
        return True
    finally:
        await consumer.stop()


async def test_rebuild_from_topics_equals_live_read_models(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings()
    ngo_id, incident_id = uuid.uuid4(), uuid.uuid4()
    requests = [uuid.uuid4() for _ in range(4)]
    t0 = now() - timedelta(hours=1)
    events = [
        envelope(
            ngo(
                ngo_id=ngo_id,
                version=1,
                name="Rebuild NGO",
                grants=[(Sector.shelter_nfi, ["SS03"])],
            ),
            subject=ngo_id,
        ),
        envelope(
            ngo(
                ngo_id=ngo_id,
                version=2,
                name="Rebuild NGO (renamed)",
                grants=[(Sector.shelter_nfi, ["SS03", "SS04"])],
            ),
            subject=ngo_id,
        ),
        envelope(
            incident(incident_id=incident_id, version=1, pcode="SS0301", occurred_at=now()),
            subject=incident_id,
        ),
    ]
    for i, request_id in enumerate(requests):
        common: dict[str, Any] = {
            "request_id": request_id,
            "submitted_at": t0,
            "sector": Sector.shelter_nfi,
            "pcode": "SS0301",
            "admin1": "SS03",
            "people": 10 * (i + 1),
        }
        events.append(
            envelope(
                aid_request(version=1, status=hr.RequestStatus.submitted, **common),
                subject=request_id,
            )
        )
        if i % 2:
            events.append(
                envelope(
                    aid_request(
                        hr.AidRequestTriaged,
                        version=2,
                        status=hr.RequestStatus.triaged,
                        triaged_at=t0 + timedelta(minutes=i),
                        **common,
                    ),
                    subject=request_id,
                )
            )
    # Joint planning's read models: an operation, an overdue task, a cleared conflict.
    operation_id, task_id, conflict_id, notification_id = (uuid.uuid4() for _ in range(4))
    lead = participant(name="Rebuild lead")
    planning = [
        operation(operation_id=operation_id, version=1, title="Rebuild op", participants=[lead]),
        task(
            jp.TaskOverdue,
            task_id=task_id,
            operation_id=operation_id,
            owner=lead.participant_id,
            version=2,
            due_at=t0,
            overdue=True,
        ),
        conflict(
            conflict_id=conflict_id,
            notification_id=notification_id,
            ngo_id=ngo_id,
            source_id=operation_id,
            version=1,
            between_start=t0,
        ),
        conflict(
            jp.NotificationConflictCleared,
            conflict_id=conflict_id,
            notification_id=notification_id,
            ngo_id=ngo_id,
            source_id=operation_id,
            version=2,
            between_start=t0,
            cleared_at=now(),
            reason="operation completed",
        ),
    ]
    keys = [operation_id, task_id, notification_id, notification_id]
    events.extend(envelope(data, subject=key) for data, key in zip(planning, keys, strict=True))
    staff = bearer(settings, "admin")
    app = create_app(settings)
    app.state.runtime.run_background = False  # no SLA sweep racing the comparison
    engine = create_engine(
        settings.service_database_url, schema="monitoring", application_name="rebuild-test"
    )
    async with serve_in_process(app) as client:
        await publish(kafka_bootstrap, [*events, events[3]])  # with a duplicate
        topics = build_read_model_router(settings).topics

        async def ready() -> bool:
            response = await client.get(f"/api/requests/{requests[-1]}", headers=staff)
            async with engine.connect() as conn:  # SLA events still in the outbox come later
                unsent = await conn.scalar(
                    select(func.count()).where(outbox.table.c.published_at.is_(None))
                )
            return (
                response.status_code == 200
                and unsent == 0
                and await _caught_up(kafka_bootstrap, topics)
            )

        await eventually(ready)
        try:
            # A rebuild ends with retention's read-model purge; the live models had theirs when
            # the app started, perhaps before earlier tests' expired rows were consumed.
            async with AsyncSession(engine) as session, session.begin():
                await purge_read_models(
                    session,
                    cutoff=datetime.now(UTC) - timedelta(days=settings.retention_restricted_days),
                )
            async with engine.connect() as conn:
                live = await read_model_snapshot(conn)
            assert any(row[0] == ngo_id for row in live["ngos"])
            assert any(row[0] == conflict_id and row[1] == 2 for row in live["planning_conflicts"])
            outcomes = await rebuild(settings)
            assert outcomes["applied"] >= len(events)
            assert outcomes["messages"] > outcomes["applied"]  # the duplicate was read, not applied
            async with engine.connect() as conn:
                rebuilt = await read_model_snapshot(conn)
        finally:
            await engine.dispose()
    for table, rows in live.items():
        missing = [r for r in rows if r not in rebuilt[table]]
        extra = [r for r in rebuilt[table] if r not in rows]
        assert rebuilt[table] == rows, f"{table} differs: live only {missing}, rebuilt only {extra}"
