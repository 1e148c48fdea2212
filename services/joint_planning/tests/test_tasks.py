"""Tasks and milestones: owners, due dates, dependencies, status, progress, the overdue
sweep, and who may work on what."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.overdue.service import _overdue_tasks, sweep_once
from services.joint_planning.tests.helpers import (
    NOW,
    as_ngo,
    create_operation,
    iso,
    ngo_state,
    outbox_types,
    registry_says,
    staff,
)
from shared.db import unit_of_work
from shared.testing import problem_of

pytestmark = pytest.mark.integration

TASK = "concord.joint_planning.task."


async def new_task(
    client: httpx.AsyncClient, settings: Settings, operation: dict[str, Any], **overrides: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "title": "Chlorinate water points",
        "owner_participant_id": operation["participants"][0]["participant_id"],
        "due_at": iso(NOW + timedelta(days=5)),
        "priority": "high",
    }
    body.update(overrides)
    return await client.post(
        f"/operations/{operation['operation_id']}/tasks", json=body, headers=staff(settings)
    )


async def created(
    client: httpx.AsyncClient, settings: Settings, operation: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    response = await new_task(client, settings, operation, **overrides)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def set_status(
    client: httpx.AsyncClient, headers: dict[str, str], task: dict[str, Any], status: str
) -> httpx.Response:
    return await client.post(
        f"/tasks/{task['task_id']}/status", json={"status": status}, headers=headers
    )


async def test_a_task_is_created_with_an_owner_and_emitted(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    task = await created(client, settings, operation)
    assert task["status"] == "open"
    assert task["priority"] == "high"
    assert task["overdue"] is False
    assert await outbox_types(app, task["task_id"]) == [TASK + "created.v1"]
    listed = await client.get(
        f"/operations/{operation['operation_id']}/tasks", headers=staff(settings)
    )
    assert [t["task_id"] for t in listed.json()] == [task["task_id"]]


async def test_a_task_due_after_the_operation_ends_is_a_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    refused = await new_task(client, settings, operation, due_at=iso(NOW + timedelta(days=11)))
    assert refused.status_code == 422
    assert "after the operation ends" in problem_of(refused)["detail"]


async def test_an_owner_who_is_not_a_participant_is_a_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    refused = await new_task(client, settings, operation, owner_participant_id=str(uuid.uuid4()))
    assert refused.status_code == 422
    assert "not a current participant" in problem_of(refused)["detail"]


async def test_dependencies_may_not_form_a_cycle(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    first = await created(client, settings, operation, title="survey")
    second = await created(
        client, settings, operation, title="order", depends_on=[first["task_id"]]
    )
    third = await created(
        client, settings, operation, title="deliver", depends_on=[second["task_id"]]
    )
    closing = await client.patch(
        f"/tasks/{first['task_id']}",
        json={"depends_on": [third["task_id"]]},
        headers={**staff(settings), "If-Match": '"1"'},
    )
    assert closing.status_code == 422
    problem = problem_of(closing)
    assert problem["type"].endswith("task-dependency-cycle")
    assert problem["cycle"] == [
        first["task_id"],
        third["task_id"],
        second["task_id"],
        first["task_id"],
    ]
    own = str(uuid.uuid4())
    itself = await new_task(client, settings, operation, task_id=own, depends_on=[own])
    assert itself.status_code == 422
    unknown = await new_task(client, settings, operation, depends_on=[str(uuid.uuid4())])
    assert unknown.status_code == 422
    assert "no task" in problem_of(unknown)["detail"]


async def test_a_task_is_done_only_after_its_dependencies(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    first = await created(client, settings, operation)
    second = await created(client, settings, operation, depends_on=[first["task_id"]])
    early = await set_status(client, staff(settings), second, "done")
    assert early.status_code == 409
    assert problem_of(early)["pending"] == [first["task_id"]]
    for status in ("in_progress", "blocked", "in_progress", "done"):
        moved = await set_status(client, staff(settings), first, status)
        assert moved.status_code == 200, moved.text
    assert (await set_status(client, staff(settings), second, "done")).status_code == 200
    again = await set_status(client, staff(settings), first, "open")
    assert again.status_code == 409
    assert problem_of(again)["type"].endswith("task-invalid-transition")
    types = await outbox_types(app, first["task_id"])
    assert types == [TASK + "created.v1"] + [TASK + "status_changed.v1"] * 4


async def test_the_owning_ngo_notes_progress_and_others_may_not(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo, other = ngo_state(), ngo_state()
    await registry_says(app, kafka_bootstrap, ngo, other)
    lead = {"kind": "mission_component", "component": "civil_affairs", "name": "CA", "role": "lead"}
    operation = await create_operation(
        client,
        settings,
        participants=[
            lead,
            {"kind": "ngo", "ngo_id": str(ngo.ngo_id), "role": "implementing"},
            {"kind": "ngo", "ngo_id": str(other.ngo_id), "role": "supporting"},
        ],
    )
    owner = next(p for p in operation["participants"] if p["ngo_id"] == str(ngo.ngo_id))
    task = await created(client, settings, operation, owner_participant_id=owner["participant_id"])
    noted = await client.post(
        f"/tasks/{task['task_id']}/notes",
        json={"text": "3 of 8 water points chlorinated"},
        headers=as_ngo(settings, ngo.ngo_id),
    )
    assert noted.status_code == 200, noted.text
    assert noted.json()["notes"][0]["by"] == f"ngo:{ngo.ngo_id}"
    assert (
        await set_status(client, as_ngo(settings, ngo.ngo_id), task, "in_progress")
    ).status_code == 200
    not_owner = await set_status(client, as_ngo(settings, other.ngo_id), task, "done")
    assert not_owner.status_code == 403
    outsider = await client.get(f"/tasks/{task['task_id']}", headers=as_ngo(settings, uuid.uuid4()))
    assert outsider.status_code == 404
    cannot_edit = await client.patch(
        f"/tasks/{task['task_id']}", json={"title": "x"}, headers=as_ngo(settings, ngo.ngo_id)
    )
    assert cannot_edit.status_code == 403
    assert (await outbox_types(app, task["task_id"]))[1] == TASK + "progress_noted.v1"


async def test_the_owner_of_open_tasks_cannot_be_removed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    lead = operation["participants"][0]["participant_id"]
    await created(client, settings, operation)
    refused = await client.post(
        f"/operations/{operation['operation_id']}/participants/{lead}/remove",
        json={"reason": "leaving"},
        headers=staff(settings),
    )
    assert refused.status_code == 409
    assert problem_of(refused)["open_tasks"] == 1


async def test_shortening_an_operation_below_a_task_due_date_is_a_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    await created(client, settings, operation, due_at=iso(NOW + timedelta(days=9)))
    refused = await client.patch(
        f"/operations/{operation['operation_id']}",
        json={"ends_at": iso(NOW + timedelta(days=5))},
        headers={**staff(settings), "If-Match": '"1"'},
    )
    assert refused.status_code == 422
    assert "due after" in problem_of(refused)["detail"]


async def test_the_overdue_sweep_reports_each_task_once_even_after_a_crash(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    task = await created(client, settings, operation, due_at=iso(NOW + timedelta(days=3)))
    done = await created(client, settings, operation, due_at=iso(NOW + timedelta(days=3)))
    assert (await set_status(client, staff(settings), done, "done")).status_code == 200
    later = NOW + timedelta(days=4)
    sessionmaker = app.state.runtime.sessionmaker

    class Crash(Exception):
        pass

    async def sweep_then_die() -> None:
        async with unit_of_work(sessionmaker) as session:
            assert await _overdue_tasks(session, later) >= 1
            raise Crash  # the process dies before the batch commits

    with pytest.raises(Crash):
        await sweep_then_die()
    assert await outbox_types(app, task["task_id"]) == [TASK + "created.v1"]

    first = await sweep_once(sessionmaker, now=later)
    assert first.tasks_overdue >= 1
    await sweep_once(sessionmaker, now=later + timedelta(hours=1))
    assert await outbox_types(app, task["task_id"]) == [TASK + "created.v1", TASK + "overdue.v1"]
    assert (await outbox_types(app, done["task_id"]))[-1] == TASK + "status_changed.v1"
    body = (await client.get(f"/tasks/{task['task_id']}", headers=staff(settings))).json()
    assert body["overdue"] is True


async def test_milestones_are_reached_or_missed_once(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    path = f"/operations/{operation['operation_id']}/milestones"
    too_late = await client.post(
        path,
        json={"title": "all points safe", "due_at": iso(NOW + timedelta(days=30))},
        headers=staff(settings),
    )
    assert too_late.status_code == 422
    reached = (
        await client.post(
            path,
            json={"title": "survey done", "due_at": iso(NOW + timedelta(days=2))},
            headers=staff(settings),
        )
    ).json()
    missed = (
        await client.post(
            path,
            json={"title": "supplies in place", "due_at": iso(NOW + timedelta(days=3))},
            headers=staff(settings),
        )
    ).json()
    ok = await client.post(f"/milestones/{reached['milestone_id']}/reach", headers=staff(settings))
    assert ok.status_code == 200 and ok.json()["status"] == "reached"
    twice = await client.post(
        f"/milestones/{reached['milestone_id']}/reach", headers=staff(settings)
    )
    assert twice.status_code == 409
    sessionmaker = app.state.runtime.sessionmaker
    await sweep_once(sessionmaker, now=NOW + timedelta(days=5))
    await sweep_once(sessionmaker, now=NOW + timedelta(days=6))
    milestone = "concord.joint_planning.milestone."
    assert await outbox_types(app, missed["milestone_id"]) == [
        milestone + "created.v1",
        milestone + "missed.v1",
    ]
    assert (await outbox_types(app, reached["milestone_id"]))[-1] == milestone + "reached.v1"
    listed = (await client.get(path, headers=staff(settings))).json()
    assert [m["status"] for m in listed] == ["reached", "missed"]
