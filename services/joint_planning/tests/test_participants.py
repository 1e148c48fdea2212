"""Participants: roles, who may implement (the eligibility replica), removal, losing
eligibility."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.tests.helpers import (
    as_ngo,
    create_live_operation,
    create_operation,
    fresh_county,
    lose_eligibility,
    ngo_state,
    outbox_envelopes,
    registry_says,
    staff,
)
from shared.testing import problem_of
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

REMOVED = "concord.joint_planning.operation.participant_removed.v1"


def ngo_participant(ngo_id: uuid.UUID, role: str = "implementing") -> dict[str, Any]:
    return {
        "kind": "ngo",
        "ngo_id": str(ngo_id),
        "role": role,
        "responsibilities": ["water trucking", "chlorination"],
    }


async def add(
    client: httpx.AsyncClient, settings: Settings, operation_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/operations/{operation_id}/participants", json=body, headers=staff(settings)
    )


async def test_an_eligible_ngo_implements_and_is_emitted(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state(sector=Sector.wash, pcodes=["SS01"], name="Water for Juba")
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_operation(client, settings)
    added = await add(client, settings, operation["operation_id"], ngo_participant(ngo.ngo_id))
    assert added.status_code == 201, added.text
    body = added.json()
    assert added.headers["ETag"] == '"2"'
    joined = [p for p in body["participants"] if p["ngo_id"] == str(ngo.ngo_id)]
    assert joined[0]["name"] == "Water for Juba"
    assert joined[0]["role"] == "implementing"
    envelopes = await outbox_envelopes(app, operation["operation_id"])
    assert envelopes[-1]["type"].endswith("participant_added.v1")
    assert envelopes[-1]["data"]["participant_id"] == joined[0]["participant_id"]


@pytest.mark.parametrize(
    ("sector", "pcodes", "areas"),
    [
        (Sector.health, ["SS01"], ["SS0101"]),  # wrong sector
        (Sector.wash, ["SS0102"], ["SS0101"]),  # another county
        (Sector.wash, ["SS0101"], ["SS0101", "SS0201"]),  # covers only one of the areas
    ],
)
async def test_an_ngo_without_a_covering_grant_cannot_implement(
    client: httpx.AsyncClient,
    settings: Settings,
    app: FastAPI,
    kafka_bootstrap: str,
    sector: Sector,
    pcodes: list[str],
    areas: list[str],
) -> None:
    ngo = ngo_state(sector=sector, pcodes=pcodes)
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_operation(client, settings, areas=areas)
    refused = await add(client, settings, operation["operation_id"], ngo_participant(ngo.ngo_id))
    assert refused.status_code == 422, refused.text
    problem = problem_of(refused)
    assert problem["type"].endswith("participant-not-eligible")
    assert "no agreement in force" in problem["detail"]


async def test_a_suspended_ngo_cannot_implement_but_may_be_informed(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state(eligible=False)
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_operation(client, settings)
    refused = await add(client, settings, operation["operation_id"], ngo_participant(ngo.ngo_id))
    assert refused.status_code == 422
    assert "not eligible" in problem_of(refused)["detail"]
    informed = await add(
        client, settings, operation["operation_id"], ngo_participant(ngo.ngo_id, "informed")
    )
    assert informed.status_code == 201, informed.text


async def test_an_ineligible_implementer_is_refused_at_creation_too(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state(sector=Sector.health)
    await registry_says(app, kafka_bootstrap, ngo)
    refused = await client.post(
        "/operations",
        json={
            "title": "WASH",
            "sectors": ["wash"],
            "areas": ["SS0101"],
            "starts_at": "2027-01-01T00:00:00Z",
            "ends_at": "2027-01-10T00:00:00Z",
            "participants": [ngo_participant(ngo.ngo_id)],
        },
        headers=staff(settings),
    )
    assert refused.status_code == 422
    assert problem_of(refused)["type"].endswith("participant-not-eligible")


async def test_an_unknown_ngo_or_a_malformed_participant_is_a_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    operation = await create_operation(client, settings)
    unknown = await add(client, settings, operation["operation_id"], ngo_participant(uuid.uuid4()))
    assert unknown.status_code == 422
    assert problem_of(unknown)["type"].endswith("participant-invalid")
    no_component = await add(
        client,
        settings,
        operation["operation_id"],
        {"kind": "mission_component", "name": "Force", "role": "security"},
    )
    assert no_component.status_code == 422
    bad_role = await add(
        client,
        settings,
        operation["operation_id"],
        {"kind": "mission_component", "component": "military", "name": "F", "role": "boss"},
    )
    assert bad_role.status_code == 422


async def test_the_same_ngo_twice_is_a_409(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state()
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_operation(client, settings)
    first = await add(client, settings, operation["operation_id"], ngo_participant(ngo.ngo_id))
    assert first.status_code == 201
    again = await add(
        client, settings, operation["operation_id"], ngo_participant(ngo.ngo_id, "supporting")
    )
    assert again.status_code == 409


async def test_a_participant_is_removed_with_a_reason(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    operation = await create_operation(client, settings)
    added = await add(
        client,
        settings,
        operation["operation_id"],
        {
            "kind": "mission_component",
            "component": "military",
            "name": "Force Protection Coy",
            "role": "security",
            "responsibilities": ["escort"],
        },
    )
    security = added.json()["participants"][-1]["participant_id"]
    removed = await client.post(
        f"/operations/{operation['operation_id']}/participants/{security}/remove",
        json={"reason": "redeployed to Bor"},
        headers=staff(settings),
    )
    assert removed.status_code == 200, removed.text
    assert security not in {p["participant_id"] for p in removed.json()["participants"]}
    envelope = (await outbox_envelopes(app, operation["operation_id"]))[-1]
    assert envelope["type"] == REMOVED
    assert envelope["data"]["reason"] == "redeployed to Bor"
    again = await client.post(
        f"/operations/{operation['operation_id']}/participants/{security}/remove",
        json={"reason": "twice"},
        headers=staff(settings),
    )
    assert again.status_code == 404


async def test_losing_eligibility_removes_the_implementer_with_an_event(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county = fresh_county()  # a live operation with other actors: keep it out of others' way
    ngo = ngo_state(sector=Sector.wash, pcodes=[county])
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_live_operation(
        client, settings, areas=[county], participants=[*lead(), ngo_participant(ngo.ngo_id)]
    )
    informed_in = await create_operation(
        client, settings, participants=[*lead(), ngo_participant(ngo.ngo_id, "informed")]
    )

    await registry_says(app, kafka_bootstrap, lose_eligibility(ngo, version=2))

    after = (
        await client.get(f"/operations/{operation['operation_id']}", headers=staff(settings))
    ).json()
    assert str(ngo.ngo_id) not in {p["ngo_id"] for p in after["participants"]}
    envelope = (await outbox_envelopes(app, operation["operation_id"]))[-1]
    assert envelope["type"] == REMOVED
    assert envelope["data"]["ngo_id"] == str(ngo.ngo_id)
    assert envelope["data"]["actor"] == "system"
    assert envelope["data"]["reason"].startswith("lost eligibility")
    # An informed NGO needs no eligibility: it stays.
    still = (
        await client.get(f"/operations/{informed_in['operation_id']}", headers=staff(settings))
    ).json()
    assert str(ngo.ngo_id) in {p["ngo_id"] for p in still["participants"]}


async def test_an_older_registry_event_changes_nothing(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state(version=5)
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_operation(
        client, settings, participants=[*lead(), ngo_participant(ngo.ngo_id)]
    )
    await registry_says(app, kafka_bootstrap, lose_eligibility(ngo, version=4))
    after = (
        await client.get(f"/operations/{operation['operation_id']}", headers=staff(settings))
    ).json()
    assert str(ngo.ngo_id) in {p["ngo_id"] for p in after["participants"]}


def lead() -> list[dict[str, Any]]:
    return [
        {
            "kind": "mission_component",
            "component": "civil_affairs",
            "name": "Civil Affairs",
            "role": "lead",
        }
    ]


async def test_an_ngo_sees_only_operations_it_takes_part_in_and_no_military_detail(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo, outsider = ngo_state(), ngo_state()
    await registry_says(app, kafka_bootstrap, ngo, outsider)
    security = {
        "kind": "mission_component",
        "component": "military",
        "name": "Quick Reaction Force",
        "role": "security",
        "responsibilities": ["cordon of the market at 05:00 with two APCs"],
    }
    operation = await create_operation(
        client,
        settings,
        participants=[*lead(), security, ngo_participant(ngo.ngo_id, "supporting")],
    )
    path = f"/operations/{operation['operation_id']}"
    seen = await client.get(path, headers=as_ngo(settings, ngo.ngo_id))
    assert seen.status_code == 200
    qrf = next(p for p in seen.json()["participants"] if p["role"] == "security")
    assert qrf["responsibilities"] == ["withheld"]
    assert "APC" not in seen.text
    hidden = await client.get(path, headers=as_ngo(settings, outsider.ngo_id))
    assert hidden.status_code == 404
    listed = await client.get("/operations", headers=as_ngo(settings, ngo.ngo_id))
    assert [o["operation_id"] for o in listed.json()["items"]] == [operation["operation_id"]]
    tasks = await client.get(f"{path}/tasks", headers=as_ngo(settings, outsider.ngo_id))
    assert tasks.status_code == 404
    as_staff = await client.get(path, headers=staff(settings))
    assert "APC" in as_staff.text


async def test_changing_sectors_away_from_an_implementer_is_a_422(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    ngo = ngo_state(sector=Sector.wash, pcodes=["SS01"])
    await registry_says(app, kafka_bootstrap, ngo)
    operation = await create_operation(
        client, settings, participants=[*lead(), ngo_participant(ngo.ngo_id)]
    )
    refused = await client.patch(
        f"/operations/{operation['operation_id']}",
        json={"sectors": ["health"]},
        headers={**staff(settings), "If-Match": '"1"'},
    )
    assert refused.status_code == 422
    assert problem_of(refused)["type"].endswith("participant-not-eligible")
