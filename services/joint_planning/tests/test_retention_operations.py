"""Retention (issue 13) of what joint planning itself records: a restricted operation that
ended, past the restricted period, loses every text typed about it — in the operation, its
participants, history, tasks, milestones, meetings and outbox leftovers — and keeps its ids,
class, sectors, P-codes, statuses and times; a notification past the internal period after
its end loses its contact, escort reason and markings. Each class's purge is one event, and a
second purge changes nothing.

Real Kafka and Postgres: the records are made through the API, the relay publishes their
events, the test ages them in the database (a year cannot pass in a test) and runs the
service's own purge.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.joint_planning.config import Settings
from services.joint_planning.retention.service import PURGED_CONTACT, purge_expired
from services.joint_planning.tests.helpers import (
    NOW,
    as_ngo,
    create_operation,
    iso,
    movement_body,
    staff,
)
from shared.db import unit_of_work
from shared.events.schemas.joint_planning import RETENTION_TOPIC, PlanningRetentionPurged
from shared.runtime import ServiceRuntime
from shared.testing import read_events
from shared.vocabulary import Sensitivity

pytestmark = pytest.mark.integration

PURGED_TYPE = "concord.joint_planning.retention.purged.v1"
# The county the planning tests share (the helpers' default), not an isolated one: the
# operations here are never live (draft, then cancelled), so nothing else deconflicts against
# them, and what is looked for is found by planted names, not by place.
SHARED_COUNTY = "SS0101"
SCHEMA = "joint_planning"


def plant(who: str) -> str:
    """A name someone typed, unique to this run, to look for in every table."""
    return f"{who}-{uuid.uuid4().hex[:10]}"


async def sql(runtime: ServiceRuntime, statement: str, **params: Any) -> list[Any]:
    async with unit_of_work(runtime.sessionmaker) as session:
        result = await session.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []  # type: ignore[attr-defined]


async def mentions(runtime: ServiceRuntime, needle: str) -> dict[str, int]:
    """How many rows of each table of the service's schema (the outbox included) hold
    `needle` anywhere."""
    tables = await sql(
        runtime,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = :schema AND table_type = 'BASE TABLE'",
        schema=SCHEMA,
    )
    found: dict[str, int] = {}
    for (table,) in tables:
        rows = await sql(
            runtime,
            f'SELECT count(*) FROM {SCHEMA}."{table}" t WHERE t::text LIKE :needle',
            needle=f"%{needle}%",
        )
        if rows[0][0]:
            found[table] = int(rows[0][0])
    return found


async def wait_until_sent(runtime: ServiceRuntime) -> None:
    """Wait until the relay has published every event in the outbox (a relay that never does
    fails the test with TimeoutError)."""
    unsent = "SELECT count(*) FROM outbox WHERE published_at IS NULL AND failed_at IS NULL"
    async with asyncio.timeout(60):
        while True:
            if not (await sql(runtime, unsent))[0][0]:
                return
            await asyncio.sleep(0.1)


async def row_of(runtime: ServiceRuntime, table: str, row_id: str) -> dict[str, Any]:
    rows = await sql(runtime, f"SELECT to_jsonb(t) FROM {table} t WHERE id = :id", id=row_id)
    value: dict[str, Any] = rows[0][0]
    return value


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: Any) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def restricted_operation(
    client: httpx.AsyncClient, settings: Settings, name: str, county: str
) -> dict[str, Any]:
    """A protection operation with everything in it that holds typed text: participants,
    a task with a note, a milestone, a meeting with attendees and an action item."""
    operation = await create_operation(
        client,
        settings,
        title=f"Safe house for {name}",
        objectives=[f"move {name} and her children"],
        sectors=["protection"],
        areas=[county],
        participants=[
            {
                "kind": "mission_component",
                "component": "civil_affairs",
                "name": "Civil Affairs",
                "role": "lead",
                "responsibilities": [f"escort {name}"],
            }
        ],
    )
    assert operation["sensitivity"] == "restricted"
    operation_id = operation["operation_id"]
    owner = operation["participants"][0]["participant_id"]
    due = iso(NOW + timedelta(days=5))
    headers = staff(settings)
    task = await post(
        client,
        f"/operations/{operation_id}/tasks",
        {
            "title": f"Find a room for {name}",
            "description": f"{name} cannot stay at the clinic",
            "owner_participant_id": owner,
            "due_at": due,
            "priority": "high",
        },
        headers,
    )
    await post(client, f"/tasks/{task['task_id']}/notes", {"text": f"{name} agreed"}, headers)
    await post(
        client,
        f"/operations/{operation_id}/milestones",
        {"title": f"{name} is safe", "due_at": due},
        headers,
    )
    await post(
        client,
        "/meetings",
        {
            "operation_id": operation_id,
            "title": f"Case conference on {name}",
            "held_at": iso(NOW),
            "attendees": [{"name": f"{name}'s caseworker", "organisation": "OCHA"}],
            "agenda": [f"{name}'s safety"],
            "decisions": [f"relocate {name}"],
            "action_items": [
                {
                    "action_item_id": str(uuid.uuid4()),
                    "description": f"Call {name}'s sister",
                    "owner_participant_id": owner,
                    "due_at": due,
                }
            ],
        },
        headers,
    )
    return operation


async def cancel(
    client: httpx.AsyncClient, settings: Settings, operation_id: str, reason: str
) -> dict[str, Any]:
    current = (await client.get(f"/operations/{operation_id}", headers=staff(settings))).json()
    response = await client.post(
        f"/operations/{operation_id}/status",
        json={"status": "cancelled", "reason": reason},
        headers={**staff(settings), "If-Match": f'"{current["version"]}"'},
    )
    assert response.status_code == 200, response.text
    cancelled: dict[str, Any] = response.json()
    return cancelled


async def age_operations(runtime: ServiceRuntime, ids: list[str], days: int) -> int:
    """Move the operations' last change (and their events' in the outbox) `days` back."""
    aged = await sql(
        runtime,
        "UPDATE operations SET updated_at = updated_at - make_interval(days => :days) "
        "WHERE id = ANY(CAST(:ids AS uuid[])) RETURNING id",
        ids=ids,
        days=days,
    )
    return len(aged)


async def test_an_ended_restricted_operation_loses_its_texts_everywhere_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str
) -> None:
    runtime: ServiceRuntime = app.state.runtime
    county = SHARED_COUNTY
    names = {key: plant(key) for key in ("expired", "recent", "open")}
    expired = await restricted_operation(client, settings, names["expired"], county)
    recent = await restricted_operation(client, settings, names["recent"], county)
    still_open = await restricted_operation(client, settings, names["open"], county)
    expired_id, recent_id = expired["operation_id"], recent["operation_id"]
    open_id = still_open["operation_id"]
    for operation_id, name in ((expired_id, names["expired"]), (recent_id, names["recent"])):
        await cancel(client, settings, operation_id, f"{name} left the county")
    await wait_until_sent(runtime)

    # A year passes for all but the recent one; one event of the expired operation was parked
    # by the relay meanwhile.
    assert await age_operations(runtime, [expired_id, open_id], 400) == 2
    parked = await sql(
        runtime,
        "UPDATE outbox SET published_at = NULL, failed_at = now(), failure = 'parked by the "
        "test' WHERE id = (SELECT min(id) FROM outbox WHERE message_key = :id) RETURNING id",
        id=expired_id,
    )
    assert len(parked) == 1
    before = {
        key: await row_of(runtime, "operations", key) for key in (expired_id, recent_id, open_id)
    }
    # The test sees every plant where it was typed.
    assert set(await mentions(runtime, names["expired"])) >= {
        "operations",
        "participants",
        "operation_history",
        "tasks",
        "milestones",
        "meetings",
        "outbox",
    }

    async with unit_of_work(runtime.sessionmaker) as session:
        records = await purge_expired(session, settings)
    [record] = [r for r in records if r.purged_sensitivity is Sensitivity.restricted]
    assert record.operations >= 1 and record.tasks >= 1 and record.milestones >= 1
    assert record.meetings >= 1 and record.participants >= 1 and record.history_entries >= 1
    assert record.outbox_rows >= 1

    # Nothing typed about the expired operation is left in any table ...
    assert await mentions(runtime, names["expired"]) == {}
    purged = await row_of(runtime, "operations", expired_id)
    assert purged["title"] == "protection operation (details purged)"
    assert purged["objectives"] == [] and purged["purged_at"] is not None
    # ... its figures stay ...
    kept = ("status", "sectors", "areas", "sensitivity", "starts_at", "ends_at", "version")
    assert {k: purged[k] for k in kept} == {k: before[expired_id][k] for k in kept}
    assert (purged["status"], purged["areas"]) == ("cancelled", [county])
    [meeting] = await sql(
        runtime,
        "SELECT attendees, action_items FROM meetings WHERE operation_id = :id",
        id=expired_id,
    )
    assert meeting.attendees[0]["organisation"] == "OCHA"
    assert meeting.action_items[0]["owner_participant_id"] is not None
    # ... and it still reads (the views' shapes hold).
    shown = await client.get(f"/operations/{expired_id}", headers=staff(settings))
    assert shown.status_code == 200, shown.text
    assert (await client.get(f"/operations/{expired_id}/tasks", headers=staff(settings))).json()

    # The controls are untouched: recent (not past the period), open (never purged).
    for operation_id in (recent_id, open_id):
        assert await row_of(runtime, "operations", operation_id) == before[operation_id]
    for key in ("recent", "open"):
        assert "tasks" in await mentions(runtime, names[key])

    events = await read_events(
        kafka_bootstrap,
        [RETENTION_TOPIC.name],
        where=lambda e: e.subject == str(record.purge_id),
        until=lambda found: len(found) >= 1,
    )
    assert events[0].type == PURGED_TYPE
    assert events[0].data == record.model_dump(mode="json")
    assert names["expired"] not in events[0].to_json().decode()

    # A second purge finds nothing, changes nothing and emits nothing.
    count = "SELECT count(*) FROM outbox WHERE event_type = :type"
    emitted = (await sql(runtime, count, type=PURGED_TYPE))[0][0]
    async with unit_of_work(runtime.sessionmaker) as session:
        assert await purge_expired(session, settings) == []
    assert (await sql(runtime, count, type=PURGED_TYPE))[0][0] == emitted
    assert await row_of(runtime, "operations", expired_id) == purged


async def test_a_notification_loses_its_contact_after_the_internal_period(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str
) -> None:
    runtime: ServiceRuntime = app.state.runtime
    county = SHARED_COUNTY
    names = {key: plant(key) for key in ("expired", "ongoing")}
    ngo = as_ngo(settings, uuid.uuid4())

    def body(name: str) -> dict[str, Any]:
        return movement_body(
            county,
            contact={"name": name, "phone": "+211 900 000 777"},
            escort_requested=True,
            escort_reason=f"{name} was threatened on this road",
            vehicles=[{"vehicle_type": "truck", "count": 1, "markings": f"{name}'s truck"}],
        )

    expired = await post(client, "/notifications", body(names["expired"]), ngo)
    ongoing = await post(client, "/notifications", body(names["ongoing"]), ngo)
    await wait_until_sent(runtime)
    shift = "make_interval(days => 800)"
    aged = await sql(
        runtime,
        f"UPDATE notifications SET starts_at = starts_at - {shift}, ends_at = ends_at - {shift}, "
        f"updated_at = updated_at - {shift} WHERE id = :id RETURNING id",
        id=expired["notification_id"],
    )
    assert len(aged) == 1
    before = await row_of(runtime, "notifications", ongoing["notification_id"])
    assert "outbox" in await mentions(runtime, names["expired"])  # the escort reason

    async with unit_of_work(runtime.sessionmaker) as session:
        records = await purge_expired(session, settings)
    [record] = [r for r in records if r.purged_sensitivity is Sensitivity.internal]
    assert isinstance(record, PlanningRetentionPurged)
    assert record.notifications >= 1 and record.retention_days == 730
    assert record.outbox_rows >= 1

    assert await mentions(runtime, names["expired"]) == {}
    purged = await row_of(runtime, "notifications", expired["notification_id"])
    assert purged["contact"] == PURGED_CONTACT and purged["escort_reason"] is None
    assert purged["vehicles"] == [{"vehicle_type": "truck", "count": 1, "markings": None}]
    assert purged["waypoints"] == expired["waypoints"] and purged["pcodes"] == [county]
    shown = await client.get(f"/notifications/{expired['notification_id']}", headers=ngo)
    assert shown.status_code == 200 and shown.json()["contact"]["name"] == "(contact purged)"
    assert await row_of(runtime, "notifications", ongoing["notification_id"]) == before

    async with unit_of_work(runtime.sessionmaker) as session:
        assert await purge_expired(session, settings) == []
    assert await row_of(runtime, "notifications", expired["notification_id"]) == purged
