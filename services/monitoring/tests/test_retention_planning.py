"""Retention (issue 13) of monitoring's planning read models: a restricted operation that
ended, past the restricted period, loses its title and its tasks' and milestones' titles,
as joint planning's own purge takes them; an open one, a recent one and an internal one keep
theirs; a rebuild, which replays the topics (they still hold the old titles), does not bring
them back.

Real Kafka and Postgres: the operations arrive as joint planning's events on the real topics
and monitoring's consumers apply them; the events carry times a year old (a year cannot pass
in a test), and the purge runs through the service's own session.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.db.models.planning import (
    planning_milestones,
    planning_operations,
    planning_tasks,
)
from services.monitoring.rebuild import rebuild
from services.monitoring.retention.service import PURGED_TITLE, purge_expired
from services.monitoring.tests.factories import envelope, now, projected, publish
from services.monitoring.tests.planning_factories import milestone, operation, participant, task
from shared.events.schemas import joint_planning as jp
from shared.runtime import ServiceRuntime
from shared.testing import serve_in_process
from shared.vocabulary import Sector, Sensitivity

pytestmark = pytest.mark.integration


async def titles(
    runtime: ServiceRuntime, table: Any, key: str, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(table.c[key], table.c.title).where(table.c[key].in_(ids))
        )
        return dict(rows.all())


async def test_an_ended_restricted_operation_loses_its_titles_and_a_rebuild_keeps_them_out(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings(retention_restricted_days=365, retention_sweep_interval_seconds=3600)
    old, recent = now() - timedelta(days=400), now() - timedelta(days=30)
    lead = participant(name="Civil Affairs")
    secret = f"safe house of Nyandeng {uuid.uuid4().hex[:8]}"

    def ended(
        sensitivity: Sensitivity, at: Any, status: jp.OperationStatus
    ) -> tuple[uuid.UUID, Any]:
        operation_id = uuid.uuid4()
        data = operation(
            jp.OperationStatusChanged,
            operation_id=operation_id,
            version=3,
            title=f"Move {secret}",
            participants=[lead],
            status=status,
            previous_status=jp.OperationStatus.active,
        ).model_copy(
            update={
                "updated_at": at,
                "sensitivity": sensitivity,
                "sectors": [
                    Sector.protection if sensitivity is Sensitivity.restricted else Sector.wash
                ],
            }
        )
        return operation_id, envelope(data, subject=operation_id, at=at)

    expired, e1 = ended(Sensitivity.restricted, old, jp.OperationStatus.cancelled)
    kept_recent, e2 = ended(Sensitivity.restricted, recent, jp.OperationStatus.completed)
    kept_open, e3 = ended(Sensitivity.restricted, old, jp.OperationStatus.active)
    kept_internal, e4 = ended(Sensitivity.internal, old, jp.OperationStatus.cancelled)
    operations = [expired, kept_recent, kept_open, kept_internal]
    task_ids = {operation_id: uuid.uuid4() for operation_id in operations}
    milestone_id = uuid.uuid4()
    work = [
        envelope(
            task(
                task_id=task_ids[operation_id],
                operation_id=operation_id,
                owner=lead.participant_id,
                version=1,
                due_at=old,
                title=f"Find a room: {secret}",
            ),
            subject=task_ids[operation_id],
            at=old,
        )
        for operation_id in operations
    ]
    work.append(
        envelope(
            milestone(milestone_id=milestone_id, operation_id=expired, version=1, due_at=old),
            subject=milestone_id,
            at=old,
        )
    )
    events = [e1, e2, e3, e4, *work]

    app = create_app(settings)
    async with serve_in_process(app):
        runtime: ServiceRuntime = app.state.runtime
        await publish(kafka_bootstrap, events)

        async def applied() -> bool:
            ops = await titles(runtime, planning_operations, "operation_id", operations)
            tasks = await titles(runtime, planning_tasks, "task_id", list(task_ids.values()))
            held = await titles(runtime, planning_milestones, "milestone_id", [milestone_id])
            return len(ops) == 4 and len(tasks) == 4 and len(held) == 1

        await projected(applied, kafka_bootstrap)
        async with runtime.sessionmaker() as session, session.begin():
            records = await purge_expired(session, settings)
        (record,) = [r for r in records if r.purged_sensitivity is Sensitivity.restricted]
        assert record.operations >= 1

        async def check() -> None:
            ops = await titles(runtime, planning_operations, "operation_id", operations)
            tasks = await titles(runtime, planning_tasks, "task_id", list(task_ids.values()))
            held = await titles(runtime, planning_milestones, "milestone_id", [milestone_id])
            assert ops[expired] == PURGED_TITLE and tasks[task_ids[expired]] == PURGED_TITLE
            assert held[milestone_id] == PURGED_TITLE
            for operation_id in (kept_recent, kept_open, kept_internal):
                assert secret in ops[operation_id] and secret in tasks[task_ids[operation_id]]
            async with runtime.sessionmaker() as session:
                row = (
                    await session.execute(
                        select(planning_operations).where(
                            planning_operations.c.operation_id == expired
                        )
                    )
                ).one()
            # The figures stay: status, sectors, areas, class, participants' organisations.
            assert (row.status, row.sectors, row.areas) == ("cancelled", ["protection"], ["SS0301"])
            assert row.sensitivity == "restricted"
            assert row.participants[0]["name"] == "Civil Affairs"

        await check()
        # A second purge takes no operation again.
        async with runtime.sessionmaker() as session, session.begin():
            again = await purge_expired(session, settings)
        assert [r.operations for r in again] in ([], [0])

        # A rebuild replays the topics (which still hold the old titles) into fresh read
        # models: what retention removed does not come back.
        await rebuild(settings)
        await check()
