"""Coordination meetings: the record, amendments, and an action item becoming a task."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
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
from shared.testing import problem_of

pytestmark = pytest.mark.integration

MEETING = "concord.joint_planning.meeting."


def meeting_body(operation: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    owner = operation["participants"][0]["participant_id"] if operation else None
    body: dict[str, Any] = {
        "operation_id": operation["operation_id"] if operation else None,
        "title": "Weekly WASH coordination",
        "held_at": iso(NOW),
        "attendees": [{"name": "Amina", "organisation": "OCHA"}],
        "agenda": ["cholera caseload", "water point access"],
        "decisions": ["prioritise the school compound"],
        "action_items": [
            {
                "action_item_id": str(uuid.uuid4()),
                "description": "Map broken boreholes in Juba town",
                "owner_participant_id": owner,
                "due_at": iso(NOW + timedelta(days=4)),
            }
        ],
    }
    body.update(overrides)
    return body


async def record(
    client: httpx.AsyncClient, settings: Settings, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/meetings", json=body, headers=staff(settings))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_an_action_item_becomes_a_task_in_one_step(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    meeting = await record(client, settings, meeting_body(operation))
    item = meeting["action_items"][0]
    path = f"/meetings/{meeting['meeting_id']}/action-items/{item['action_item_id']}/task"
    converted = await client.post(path, json={"priority": "critical"}, headers=staff(settings))
    assert converted.status_code == 201, converted.text
    task = converted.json()
    assert task["owner_participant_id"] == item["owner_participant_id"]
    assert task["priority"] == "critical"
    assert task["source_meeting_id"] == meeting["meeting_id"]
    assert task["source_action_item_id"] == item["action_item_id"]
    after = (await client.get(f"/meetings/{meeting['meeting_id']}", headers=staff(settings))).json()
    assert after["action_items"][0]["task_id"] == task["task_id"]
    assert await outbox_types(app, meeting["meeting_id"]) == [
        MEETING + "recorded.v1",
        MEETING + "action_item_converted.v1",
    ]
    assert await outbox_types(app, task["task_id"]) == ["concord.joint_planning.task.created.v1"]
    again = await client.post(path, json={}, headers=staff(settings))
    assert again.status_code == 409
    assert problem_of(again)["task_id"] == task["task_id"]


async def test_converting_needs_an_owner_a_due_date_and_an_operation(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    body = meeting_body(operation)
    body["action_items"][0].update(owner_participant_id=None, due_at=None)
    meeting = await record(client, settings, body)
    item_id = meeting["action_items"][0]["action_item_id"]
    path = f"/meetings/{meeting['meeting_id']}/action-items/{item_id}/task"
    no_owner = await client.post(path, json={}, headers=staff(settings))
    assert no_owner.status_code == 422
    late = await client.post(
        path,
        json={
            "owner_participant_id": operation["participants"][0]["participant_id"],
            "due_at": iso(NOW + timedelta(days=60)),
        },
        headers=staff(settings),
    )
    assert late.status_code == 422
    assert "after the operation ends" in problem_of(late)["detail"]
    loose = await record(client, settings, meeting_body(None))
    loose_item = loose["action_items"][0]["action_item_id"]
    refused = await client.post(
        f"/meetings/{loose['meeting_id']}/action-items/{loose_item}/task",
        json={},
        headers=staff(settings),
    )
    assert refused.status_code == 422
    missing = await client.post(
        f"/meetings/{meeting['meeting_id']}/action-items/{uuid.uuid4()}/task",
        json={},
        headers=staff(settings),
    )
    assert missing.status_code == 404


async def test_an_action_item_owner_must_take_part_in_the_operation(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    body = meeting_body(operation)
    body["action_items"][0]["owner_participant_id"] = str(uuid.uuid4())
    refused = await client.post("/meetings", json=body, headers=staff(settings))
    assert refused.status_code == 422


async def test_amending_needs_if_match_and_keeps_converted_items(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    meeting = await record(client, settings, meeting_body(operation))
    path = f"/meetings/{meeting['meeting_id']}"
    item = meeting["action_items"][0]
    assert (
        await client.patch(path, json={"decisions": ["x"]}, headers=staff(settings))
    ).status_code == 428
    amended = await client.patch(
        path,
        json={"decisions": ["prioritise the school", "ask for an escort"]},
        headers={**staff(settings), "If-Match": '"1"'},
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["decisions"][1] == "ask for an escort"
    await client.post(
        f"{path}/action-items/{item['action_item_id']}/task", json={}, headers=staff(settings)
    )
    dropping = await client.patch(
        path, json={"action_items": []}, headers={**staff(settings), "If-Match": '"3"'}
    )
    assert dropping.status_code == 409


async def test_an_ngo_sees_meetings_of_its_operations_only(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state()
    await registry_says(app, kafka_bootstrap, ngo)
    lead = {"kind": "mission_component", "component": "civil_affairs", "name": "CA", "role": "lead"}
    mine = await create_operation(
        client,
        settings,
        participants=[lead, {"kind": "ngo", "ngo_id": str(ngo.ngo_id), "role": "supporting"}],
    )
    other = await create_operation(client, settings)
    seen = await record(client, settings, meeting_body(mine))
    hidden = await record(client, settings, meeting_body(other))
    headers = as_ngo(settings, ngo.ngo_id)
    assert (await client.get(f"/meetings/{seen['meeting_id']}", headers=headers)).status_code == 200
    assert (
        await client.get(f"/meetings/{hidden['meeting_id']}", headers=headers)
    ).status_code == 404
    listed = {m["meeting_id"] for m in (await client.get("/meetings", headers=headers)).json()}
    assert seen["meeting_id"] in listed and hidden["meeting_id"] not in listed
    refused = await client.post("/meetings", json=meeting_body(mine), headers=headers)
    assert refused.status_code == 403


async def test_bad_meeting_input_is_a_422(client: httpx.AsyncClient, settings: Settings) -> None:
    for change in ({"held_at": "2026-12-01T10:00:00"}, {"agenda": [""]}, {"minutes": "x"}):
        refused = await client.post(
            "/meetings", json={**meeting_body(None), **change}, headers=staff(settings)
        )
        assert refused.status_code == 422, change
