"""Classification of operations and notifications: the derived minimum, raise-only,
reclassification by staff with a reason (422 below the minimum), and an operation raised
when a linked incident is (or turns) restricted."""

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
    incident_reported,
    incident_state,
    iso,
    ngo_state,
    outbox_envelopes,
    point_of,
    registry_says,
    site_body,
    staff,
)
from shared.events.schemas.humanitarian_requests import IncidentType, IncidentUpdated
from shared.testing import bearer, problem_of
from shared.vocabulary import Sensitivity

pytestmark = pytest.mark.integration

UPDATED = "concord.joint_planning.operation.updated.v1"
NOW_PLUS_2 = NOW + timedelta(days=2)


async def reclassify(
    client: httpx.AsyncClient,
    settings: Settings,
    operation_id: str,
    sensitivity: str,
    *,
    headers: dict[str, str] | None = None,
    reason: str = "need to know: the plan names the safe house",
) -> httpx.Response:
    return await client.post(
        f"/operations/{operation_id}/classification",
        json={"sensitivity": sensitivity, "reason": reason},
        headers=headers or staff(settings),
    )


async def history_rows(
    client: httpx.AsyncClient, settings: Settings, operation_id: str
) -> list[dict[str, Any]]:
    """The operation's own history rows (the audit staff read), their detail flattened."""
    response = await client.get(f"/operations/{operation_id}/history", headers=staff(settings))
    assert response.status_code == 200, response.text
    return [
        {"event_type": h["event_type"], "actor": h["actor"], **h["detail"]}
        for h in response.json()
        if h["entity_type"] == "operation"
    ]


async def test_an_operation_is_internal_and_a_lower_class_is_raised(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    plain = await create_operation(client, settings)
    assert plain["sensitivity"] == "internal" and plain["sensitivity_floor"] == "internal"
    assert plain["sensitivity_reasons"] == ["kind:operation"]
    assert plain["sensitivity_raised_from"] is None
    asked_public = await create_operation(client, settings, sensitivity="public")
    assert asked_public["sensitivity"] == "internal"
    assert asked_public["sensitivity_raised_from"] == "public"
    [created] = await outbox_envelopes(app, asked_public["operation_id"])
    assert created["data"]["sensitivity"] == "internal"
    assert created["data"]["sensitivity_floor"] == "internal"
    raised = await create_operation(client, settings, sensitivity="restricted")
    assert raised["sensitivity"] == "restricted" and raised["sensitivity_floor"] == "internal"


@pytest.mark.parametrize("sector", ["protection", "gbv", "child_protection"])
async def test_a_protection_operation_is_restricted_whatever_was_asked(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, sector: str
) -> None:
    operation = await create_operation(
        client, settings, sectors=["health", sector], sensitivity="internal"
    )
    assert operation["sensitivity"] == "restricted"
    assert operation["sensitivity_raised_from"] == "internal"
    assert operation["sensitivity_reasons"] == [f"sector:{sector}"]
    [created] = await outbox_envelopes(app, operation["operation_id"])
    assert created["data"]["sensitivity"] == "restricted"


async def test_adding_a_protection_sector_raises_the_operation_at_once(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    changed = await client.patch(
        f"/operations/{operation['operation_id']}",
        json={"sectors": ["wash", "gbv"]},
        headers={**staff(settings), "If-Match": f'"{operation["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["sensitivity"] == "restricted"
    events = await outbox_envelopes(app, operation["operation_id"])
    assert events[-1]["data"]["sensitivity"] == "restricted"
    rows = await history_rows(client, settings, operation["operation_id"])
    assert rows[-1]["sensitivity_raised_from"] == "internal"


async def test_staff_reclassify_with_a_reason_never_below_the_minimum(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    operation_id = operation["operation_id"]
    up = await reclassify(client, settings, operation_id, "restricted")
    assert up.status_code == 200, up.text
    assert up.json()["sensitivity"] == "restricted"
    event = (await outbox_envelopes(app, operation_id))[-1]
    assert event["type"] == UPDATED
    assert event["data"]["changed"] == ["sensitivity"]
    assert event["data"]["previous_sensitivity"] == "internal"
    assert event["data"]["reason"] == "need to know: the plan names the safe house"
    assert event["data"]["actor"].startswith("ops_centre:")
    rows = await history_rows(client, settings, operation_id)
    assert rows[-1]["from"] == "internal" and rows[-1]["to"] == "restricted"

    same = await reclassify(client, settings, operation_id, "restricted")
    assert same.status_code == 422
    down = await reclassify(
        client, settings, operation_id, "internal", headers=bearer(settings, "protection_officer")
    )
    assert down.status_code == 200 and down.json()["sensitivity"] == "internal"
    assert (await outbox_envelopes(app, operation_id))[-1]["data"]["actor"].startswith(
        "protection_officer:"
    )

    before = len(await outbox_envelopes(app, operation_id))
    below = await reclassify(client, settings, operation_id, "public")
    assert below.status_code == 422
    problem = problem_of(below)
    assert problem["type"].endswith("operation-reclassification-refused")
    assert problem["sensitivity_floor"] == "internal"
    assert len(await outbox_envelopes(app, operation_id)) == before

    gbv = await create_operation(client, settings, sectors=["gbv"])
    refused = await reclassify(client, settings, gbv["operation_id"], "internal")
    assert refused.status_code == 422
    assert problem_of(refused)["sensitivity_reasons"] == ["sector:gbv"]


async def test_reclassification_bad_input_and_access(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    operation_id = operation["operation_id"]
    route = f"/operations/{operation_id}/classification"
    for body in (
        {"sensitivity": "secret", "reason": "x"},
        {"sensitivity": "restricted"},
        {"sensitivity": "restricted", "reason": ""},
        {"sensitivity": "restricted", "reason": "x", "extra": 1},
    ):
        response = await client.post(route, json=body, headers=staff(settings))
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    stale = await client.post(
        route,
        json={"sensitivity": "restricted", "reason": "x"},
        headers={**staff(settings), "If-Match": '"999"'},
    )
    assert stale.status_code == 412
    assert (
        await client.post(route, json={"sensitivity": "restricted", "reason": "x"})
    ).status_code == 401
    ngo = as_ngo(settings, uuid.uuid4())
    for headers in (ngo, bearer(settings, "field_unit")):
        response = await reclassify(client, settings, operation_id, "restricted", headers=headers)
        assert response.status_code == 403
    missing = await reclassify(client, settings, str(uuid.uuid4()), "restricted")
    assert missing.status_code == 404
    assert len(await outbox_envelopes(app, operation_id)) == 1


async def test_an_operation_linking_a_restricted_incident_is_restricted(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, kafka_bootstrap: str
) -> None:
    point = point_of("SS0101")
    known = incident_state(lat=point["lat"], lon=point["lon"])
    await incident_reported(app, kafka_bootstrap, known)
    linked = await create_operation(client, settings, linked_incident_ids=[str(known.incident_id)])
    assert linked["sensitivity"] == "restricted"
    assert linked["sensitivity_reasons"] == [f"restricted_incident:{known.incident_id}"]

    # Linked before the replica knows the incident, or while it is not restricted: the
    # consumer raises the operation when the incident arrives or turns restricted.
    later = incident_state(
        lat=point["lat"],
        lon=point["lon"],
        incident_type=IncidentType.looting_of_aid,
        sensitivity=Sensitivity.internal,
    )
    operation = await create_operation(
        client, settings, linked_incident_ids=[str(later.incident_id)]
    )
    assert operation["sensitivity"] == "internal"
    await incident_reported(app, kafka_bootstrap, later)
    got = await client.get(f"/operations/{operation['operation_id']}", headers=staff(settings))
    assert got.json()["sensitivity"] == "internal"

    turned = IncidentUpdated.model_validate(
        {
            **later.model_dump(),
            "sensitivity": Sensitivity.restricted,
            "version": 2,
            "change": "reclassified",
            "actor": "protection_officer:po-1",
        }
    )
    await incident_reported(app, kafka_bootstrap, turned, turned)
    got = await client.get(f"/operations/{operation['operation_id']}", headers=staff(settings))
    assert got.json()["sensitivity"] == "restricted"
    assert got.json()["sensitivity_reasons"] == [f"restricted_incident:{later.incident_id}"]
    events = await outbox_envelopes(app, operation["operation_id"])
    raises = [e for e in events if e["type"] == UPDATED]
    assert len(raises) == 1  # the redelivery raised nothing more
    assert raises[0]["data"]["actor"] == "system"
    assert raises[0]["data"]["previous_sensitivity"] == "internal"
    assert raises[0]["data"]["reason"] == "a linked incident is restricted"


async def test_a_notification_is_internal_and_its_ngo_reads_no_officer(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, kafka_bootstrap: str
) -> None:
    state = ngo_state()
    await registry_says(app, kafka_bootstrap, state)
    ngo = as_ngo(settings, state.ngo_id)
    created = await client.post("/notifications", json=site_body(), headers=ngo)
    assert created.status_code == 201, created.text
    notification = created.json()
    assert notification["sensitivity"] == "internal"
    events = await outbox_envelopes(app, notification["notification_id"])
    submitted = [e for e in events if e["type"].endswith("notification.submitted.v1")]
    assert [e["data"]["sensitivity"] for e in submitted] == ["internal"]
    acknowledged = await client.post(
        f"/notifications/{notification['notification_id']}/acknowledge", headers=staff(settings)
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_by"] not in (None, "mission")
    mine = await client.get(f"/notifications/{notification['notification_id']}", headers=ngo)
    assert mine.json()["acknowledged_by"] == "mission"
    listed = await client.get("/notifications", headers=ngo)
    assert {n["acknowledged_by"] for n in listed.json()["items"]} <= {None, "mission"}


async def test_tasks_milestones_and_meetings_inherit_the_operations_class(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    operation_id = operation["operation_id"]
    owner = operation["participants"][0]["participant_id"]
    task = await client.post(
        f"/operations/{operation_id}/tasks",
        json={"title": "Map the route", "owner_participant_id": owner, "due_at": iso(NOW_PLUS_2)},
        headers=staff(settings),
    )
    milestone = await client.post(
        f"/operations/{operation_id}/milestones",
        json={"title": "route mapped", "due_at": iso(NOW_PLUS_2)},
        headers=staff(settings),
    )
    meeting = await client.post(
        "/meetings",
        json={
            "operation_id": operation_id,
            "title": "Planning call",
            "held_at": iso(NOW_PLUS_2),
            "attendees": [{"name": "Amina", "organisation": "OCHA"}],
        },
        headers=staff(settings),
    )
    for created in (task, milestone, meeting):
        assert created.status_code == 201, created.text
        assert created.json()["sensitivity"] == "internal"
    task_id = task.json()["task_id"]
    assert [e["data"]["sensitivity"] for e in await outbox_envelopes(app, task_id)] == ["internal"]

    assert (await reclassify(client, settings, operation_id, "restricted")).status_code == 200
    # Each part's new class is on Kafka at once, in the reclassification's transaction: one
    # `reclassified` event each, with the class it had.
    parts = {
        "task": task.json()["task_id"],
        "milestone": milestone.json()["milestone_id"],
        "meeting": meeting.json()["meeting_id"],
    }
    for kind, part_id in parts.items():
        *_, last = await outbox_envelopes(app, part_id)
        assert last["type"] == f"concord.joint_planning.{kind}.reclassified.v1"
        assert last["data"]["sensitivity"] == "restricted"
        assert last["data"]["previous_sensitivity"] == "internal"
        assert last["data"]["version"] == 2
    task_view = (await client.get(f"/tasks/{task_id}", headers=staff(settings))).json()
    assert (task_view["sensitivity"], task_view["version"]) == ("restricted", 2)
    # A change of the operation that leaves its class as it is publishes no part again.
    renamed = await client.patch(
        f"/operations/{operation_id}",
        json={"title": "Route mapping, Juba"},
        headers={**staff(settings), "If-Match": '"2"'},
    )
    assert renamed.status_code == 200, renamed.text
    assert len(await outbox_envelopes(app, task_id)) == 2
    milestones = await client.get(f"/operations/{operation_id}/milestones", headers=staff(settings))
    assert [m["sensitivity"] for m in milestones.json()] == ["restricted"]
    meeting_view = await client.get(
        f"/meetings/{meeting.json()['meeting_id']}", headers=staff(settings)
    )
    assert meeting_view.json()["sensitivity"] == "restricted"
    noted = await client.post(
        f"/tasks/{task_id}/notes", json={"text": "route checked"}, headers=staff(settings)
    )
    assert noted.status_code in (200, 201), noted.text
    assert (await outbox_envelopes(app, task_id))[-1]["data"]["sensitivity"] == "restricted"

    alone = await client.post(
        "/meetings",
        json={
            "operation_id": None,
            "title": "Area security briefing",
            "held_at": iso(NOW_PLUS_2),
            "attendees": [{"name": "Amina", "organisation": "OCHA"}],
        },
        headers=staff(settings),
    )
    assert alone.status_code == 201, alone.text
    assert alone.json()["sensitivity"] == "internal"
