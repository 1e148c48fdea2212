"""Joint operations: drafting, the lifecycle, optimistic concurrency, links and history."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.tests.helpers import (
    NOW,
    create_live_operation,
    create_operation,
    iso,
    move,
    operation_body,
    outbox_types,
    staff,
)
from shared.testing import problem_of

pytestmark = pytest.mark.integration

PREFIX = "concord.joint_planning.operation."


async def test_an_operation_is_drafted_with_its_participants_and_emitted(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    request_id, incident_id = uuid.uuid4(), uuid.uuid4()
    response = await client.post(
        "/operations",
        json=operation_body(
            linked_request_ids=[str(request_id)], linked_incident_ids=[str(incident_id)]
        ),
        headers=staff(settings),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/operations/{body['operation_id']}"
    assert [p["role"] for p in body["participants"]] == ["lead"]
    assert body["linked_request_ids"] == [str(request_id)]
    assert body["linked_incident_ids"] == [str(incident_id)]
    assert body["created_by"] == "ops_centre:planner-amina"
    assert await outbox_types(app, body["operation_id"]) == [PREFIX + "created.v1"]


async def test_the_lifecycle_runs_draft_planned_active_completed(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    for status in ("planned", "active", "completed"):
        moved = await move(client, settings, operation, status)
        assert moved.status_code == 200, moved.text
        operation = moved.json()
        assert operation["status"] == status
    types = await outbox_types(app, operation["operation_id"])
    assert types == [PREFIX + "created.v1"] + [PREFIX + "status_changed.v1"] * 3


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), "active"),  # draft cannot skip planning
        ((), "completed"),
        (("planned",), "draft"),
        (("planned", "active"), "planned"),
        (("cancelled",), "planned"),
        (("planned", "active", "completed"), "cancelled"),
    ],
)
async def test_an_illegal_transition_is_a_409(
    client: httpx.AsyncClient, settings: Settings, path: tuple[str, ...], target: str
) -> None:
    operation = await create_operation(client, settings)
    for status in path:
        operation = (await move(client, settings, operation, status)).json()
    refused = await move(client, settings, operation, target)
    assert refused.status_code == 409, refused.text
    problem = problem_of(refused)
    assert problem["type"].endswith("operation-invalid-transition")
    assert problem["requested"] == target


async def test_planning_needs_a_lead(client: httpx.AsyncClient, settings: Settings) -> None:
    operation = await create_operation(client, settings, participants=[])
    refused = await move(client, settings, operation, "planned")
    assert refused.status_code == 409
    assert problem_of(refused)["type"].endswith("operation-lead-required")


async def test_cancelling_from_draft_planned_or_active_is_allowed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for path in ((), ("planned",), ("planned", "active")):
        operation = await create_operation(client, settings)
        for status in path:
            operation = (await move(client, settings, operation, status)).json()
        cancelled = await move(client, settings, operation, "cancelled")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"


async def test_concurrent_edits_need_if_match_and_a_stale_one_is_a_412(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    path = f"/operations/{operation['operation_id']}"
    missing = await client.patch(path, json={"title": "New"}, headers=staff(settings))
    assert missing.status_code == 428
    assert problem_of(missing)["current_etag"] == '"1"'
    first = await client.patch(
        path, json={"title": "First"}, headers={**staff(settings), "If-Match": '"1"'}
    )
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"2"'
    second = await client.patch(
        path, json={"title": "Second"}, headers={**staff(settings), "If-Match": '"1"'}
    )
    assert second.status_code == 412
    assert problem_of(second)["current_etag"] == '"2"'
    stale_move = await client.post(
        f"{path}/status", json={"status": "planned"}, headers={**staff(settings), "If-Match": '"1"'}
    )
    assert stale_move.status_code == 412
    assert (await client.get(path, headers=staff(settings))).json()["title"] == "First"


async def test_an_update_changes_only_the_fields_sent_and_is_emitted(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    path = f"/operations/{operation['operation_id']}"
    updated = await client.patch(
        path,
        json={"objectives": ["restore the borehole"], "areas": ["SS0101", "SS0103"]},
        headers={**staff(settings), "If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["objectives"] == ["restore the borehole"]
    assert body["areas"] == ["SS0101", "SS0103"]
    assert body["title"] == operation["title"]
    assert (await outbox_types(app, operation["operation_id"]))[-1] == PREFIX + "updated.v1"


async def test_a_completed_operation_cannot_change(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_live_operation(client, settings)
    for status in ("active", "completed"):
        operation = (await move(client, settings, operation, status)).json()
    refused = await client.patch(
        f"/operations/{operation['operation_id']}",
        json={"title": "Too late"},
        headers={**staff(settings), "If-Match": f'"{operation["version"]}"'},
    )
    assert refused.status_code == 409
    assert problem_of(refused)["type"].endswith("operation-closed")


async def test_links_to_requests_and_incidents_are_added_and_removed(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    requests = [str(uuid.uuid4()) for _ in range(20)]
    path = f"/operations/{operation['operation_id']}/links"
    linked = await client.post(path, json={"add_request_ids": requests}, headers=staff(settings))
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked_request_ids"] == requests
    unlinked = await client.post(
        path, json={"remove_request_ids": requests[:5]}, headers=staff(settings)
    )
    assert unlinked.json()["linked_request_ids"] == requests[5:]
    assert (await outbox_types(app, operation["operation_id"]))[-1] == PREFIX + "links_changed.v1"


async def test_the_history_is_append_only_and_ordered(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_live_operation(client, settings)
    history = await client.get(
        f"/operations/{operation['operation_id']}/history", headers=staff(settings)
    )
    assert history.status_code == 200
    entries = history.json()
    assert [e["event_type"] for e in entries] == [
        PREFIX + "created.v1",
        PREFIX + "status_changed.v1",
    ]
    assert entries[1]["detail"]["from"] == "draft"
    assert entries[1]["actor"] == "ops_centre:planner-amina"


async def test_lists_are_filtered_by_status(client: httpx.AsyncClient, settings: Settings) -> None:
    live = await create_live_operation(client, settings)
    listed = await client.get(
        "/operations", params={"status": "planned", "limit": 200}, headers=staff(settings)
    )
    assert listed.status_code == 200
    body = listed.json()
    assert all(o["status"] == "planned" for o in body["items"])
    assert live["operation_id"] in {o["operation_id"] for o in body["items"]} or body["total"] > 200


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"areas": ["SS9999"]}, "unknown P-code(s) SS9999"),
        ({"areas": []}, "needs areas (P-codes) or polygons"),
        ({"sectors": ["knitting"]}, "Input should be"),
        ({"ends_at": iso(NOW)}, "ends_at must be after starts_at"),
        ({"starts_at": "2027-01-01T00:00:00"}, "timezone"),
        ({"budget": 1000}, "Extra inputs are not permitted"),
        ({"title": ""}, "at least 1 character"),
    ],
)
async def test_bad_operation_input_is_a_422(
    client: httpx.AsyncClient, settings: Settings, change: dict[str, object], needle: str
) -> None:
    refused = await client.post(
        "/operations", json=operation_body(**change), headers=staff(settings)
    )
    assert refused.status_code == 422, refused.text
    assert needle in problem_of(refused)["detail"]


async def test_an_update_ending_before_the_start_is_a_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    refused = await client.patch(
        f"/operations/{operation['operation_id']}",
        json={"ends_at": iso(NOW)},
        headers={**staff(settings), "If-Match": '"1"'},
    )
    assert refused.status_code == 422
    unknown = await client.get(f"/operations/{uuid.uuid4()}", headers=staff(settings))
    assert unknown.status_code == 404
