"""Joint planning's events in (real Kafka) -> open conflicts and overdue work on monitoring's
dashboard API; a cleared conflict leaves the list; redelivered and stale states change
nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.consumers import READ_MODEL_GROUP
from services.monitoring.tests.factories import envelope, eventually, ngo, publish
from services.monitoring.tests.planning_factories import (
    conflict,
    milestone,
    operation,
    participant,
    task,
)
from shared.events.schemas import joint_planning as jp
from shared.events.schemas.ngo_registry import NGO_TOPIC
from shared.testing import bearer, committed_to_end, problem_of, serve_in_process
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

# Long ago, so that this test's conflicts and tasks come first in lists ordered by window or
# due date, whatever other tests have left on the shared broker.
LONG_AGO = datetime.fromisoformat("2001-03-01T08:00:00+00:00")


async def _json(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_conflicts_and_overdue_tasks_reach_the_dashboard_api(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings()
    staff = bearer(settings, "ops_centre")
    ngo_id, operation_id, incident_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    notification_id = uuid.uuid4()
    lead = participant(name=f"Civil affairs {operation_id.hex[:4]}")
    late_task, done_task, moved_task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    missed = uuid.uuid4()
    by_operation, by_incident = uuid.uuid4(), uuid.uuid4()
    title = f"Cholera response {operation_id.hex[:6]}"

    def on_operation(data: Any) -> Any:
        return envelope(data, subject=operation_id)

    def on_task(task_id: uuid.UUID, version: int, model: Any = jp.TaskCreated, **kw: Any) -> Any:
        data = task(
            model,
            task_id=task_id,
            operation_id=operation_id,
            owner=lead.participant_id,
            version=version,
            due_at=kw.pop("due_at", LONG_AGO),
            **kw,
        )
        return envelope(data, subject=task_id)

    def on_conflict(conflict_id: uuid.UUID, version: int, **kw: Any) -> Any:
        data = conflict(
            kw.pop("model", jp.NotificationConflictFlagged),
            conflict_id=conflict_id,
            notification_id=notification_id,
            ngo_id=ngo_id,
            version=version,
            between_start=kw.pop("between_start", LONG_AGO),
            **kw,
        )
        return envelope(data, subject=notification_id)

    created = operation(operation_id=operation_id, version=1, title=title, participants=[lead])
    activated = operation(
        jp.OperationStatusChanged,
        operation_id=operation_id,
        version=2,
        title=title,
        participants=[lead],
        status=jp.OperationStatus.active,
        previous_status=jp.OperationStatus.planned,
    )
    cleared_at = LONG_AGO + timedelta(hours=1)
    events = [
        envelope(
            ngo(ngo_id=ngo_id, version=1, name="Water NGO", grants=[(Sector.wash, ["SS03"])]),
            subject=ngo_id,
        ),
        on_operation(created),
        on_operation(activated),
        # Overdue and unfinished: listed.
        on_task(late_task, 1),
        on_task(late_task, 2, jp.TaskOverdue, overdue=True),
        # Overdue, then done: not listed.
        on_task(done_task, 1),
        on_task(done_task, 2, jp.TaskOverdue, overdue=True),
        on_task(
            done_task,
            3,
            jp.TaskStatusChanged,
            overdue=True,
            status=jp.TaskStatus.done,
            previous_status=jp.TaskStatus.open,
        ),
        # Overdue, then its due date moved into the future: not listed.
        on_task(moved_task, 1),
        on_task(moved_task, 2, jp.TaskOverdue, overdue=True),
        on_task(
            moved_task,
            3,
            jp.TaskUpdated,
            due_at=LONG_AGO + timedelta(days=365 * 50),
            changed=["due_at"],
        ),
        envelope(
            milestone(milestone_id=missed, operation_id=operation_id, version=1, due_at=LONG_AGO),
            subject=missed,
        ),
        envelope(
            milestone(
                jp.MilestoneMissed,
                milestone_id=missed,
                operation_id=operation_id,
                version=2,
                due_at=LONG_AGO,
                status=jp.MilestoneStatus.missed,
            ),
            subject=missed,
        ),
        on_conflict(by_operation, 1, source_id=operation_id),
        on_conflict(
            by_incident, 1, source_id=incident_id, source=jp.ConflictSource.security_incident
        ),
    ]
    cleared = on_conflict(
        by_incident,
        2,
        source_id=incident_id,
        source=jp.ConflictSource.security_incident,
        model=jp.NotificationConflictCleared,
        cleared_at=cleared_at,
        reason="notification changed",
    )

    # Late copies of older states, under new event ids: the incident conflict flagged again,
    # the done task overdue again.
    stale = [
        on_conflict(
            by_incident, 1, source_id=incident_id, source=jp.ConflictSource.security_incident
        ),
        on_task(done_task, 2, jp.TaskOverdue, overdue=True),
    ]

    async with serve_in_process(create_app(settings)) as client:
        # Every event twice, as a relay that published twice would.
        await publish(kafka_bootstrap, [*events, *events])

        topics = [
            jp.TASK_TOPIC.name,
            jp.NOTIFICATION_TOPIC.name,
            jp.OPERATION_TOPIC.name,
            NGO_TOPIC.name,
        ]

        async def consumed() -> bool:
            return await committed_to_end(kafka_bootstrap, READ_MODEL_GROUP, topics)

        await eventually(consumed)
        listed = await _json(client, "/api/planning/conflicts?limit=500", staff)
        ours = {c["conflict_id"]: c for c in listed["conflicts"]}
        shown = ours[str(by_operation)]
        assert shown["source"] == "mission_activity"
        assert shown["operation_title"] == title
        assert shown["ngo_name"] == "Water NGO"
        assert shown["area_name"] and shown["notice"].startswith("A mission activity")

        overdue = await _json(client, "/api/planning/overdue?limit=500", staff)
        tasks = {t["task_id"]: t for t in overdue["tasks"]}
        assert str(missed) in {m["milestone_id"] for m in overdue["milestones"]}
        assert str(moved_task) not in tasks  # due again in the future
        assert tasks[str(late_task)]["owner_name"] == lead.name
        assert tasks[str(late_task)]["operation_title"] == title
        assert tasks[str(late_task)]["hours_overdue"] > 24 * 365
        assert str(done_task) not in tasks  # done: no longer overdue work
        assert overdue["tasks_total"] >= 1 and overdue["milestones_total"] >= 1

        assert ours[str(by_incident)]["distance_km"] == 4.2

        # Joint planning clears the incident conflict: it leaves the list.
        await publish(kafka_bootstrap, [cleared])

        async def cleared_out() -> bool:
            body = await _json(client, "/api/planning/conflicts?limit=500", staff)
            return str(by_incident) not in {c["conflict_id"] for c in body["conflicts"]}

        await eventually(cleared_out)

        # Late copies of older states and another redelivery of everything change nothing.
        await publish(kafka_bootstrap, [*stale, *events, cleared])
        await eventually(consumed)
        after = await _json(client, "/api/planning/conflicts?limit=500", staff)
        ids = [c["conflict_id"] for c in after["conflicts"]]
        assert str(by_incident) not in ids
        assert ids.count(str(by_operation)) == 1
        overdue_after = await _json(client, "/api/planning/overdue?limit=500", staff)
        assert str(done_task) not in {t["task_id"] for t in overdue_after["tasks"]}

        kpis = await _json(client, "/api/kpis", staff)
        assert kpis["conflicts_open"] >= 1 and kpis["tasks_overdue"] >= 1
        assert kpis["operations_live"] >= 1 and kpis["milestones_missed"] >= 1


async def test_planning_routes_refuse_other_roles_and_bad_input(stack: LocalStack) -> None:
    settings = Settings()
    app = create_app(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    staff = bearer(settings, "admin")
    async with serve_in_process(app) as client:
        for route in ("/api/planning/conflicts", "/api/planning/overdue"):
            others = bearer(settings, "field_unit", unit_id="unit-4")
            for response, status in (
                (await client.get(route), 401),
                (await client.get(route, headers={"Authorization": "Bearer nope"}), 401),
                (await client.get(route, headers=others), 403),
                (await client.get(f"{route}?limit=0", headers=staff), 422),
                (await client.get(f"{route}?limit=many", headers=staff), 422),
            ):
                assert response.status_code == status, (route, response.text)
                problem_of(response)
            assert (await client.get(route, headers=staff)).status_code == 200
        documented = app.openapi()["paths"]
        for route in ("/api/planning/conflicts", "/api/planning/overdue"):
            responses = documented[route]["get"]["responses"]
            for documented_status in ("200", "401", "403", "422"):
                assert documented_status in responses, (route, documented_status)
            assert "application/problem+json" in responses["401"]["content"]
