"""Classification of NGOs and agreements, and NGO bases kept off NGO-readable payloads."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import (
    TODAY,
    agreement_body,
    create_active_agreement,
    create_ngo,
    create_vetted_ngo,
    ngo_profile,
    outbox_events,
    staff,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

# A planted exact base: these digits must never reach anything an NGO can read.
BASE = {"lat": 4.851234, "lon": 31.582345, "radius_km": 25}
BASE_DIGITS = ("4.851234", "31.582345", "4.85123", "31.58234")


def carries_base(payload: Any) -> bool:
    text = json.dumps(payload)
    return any(digits in text for digits in BASE_DIGITS)


def ngo_headers(settings: Settings, ngo_id: str) -> dict[str, str]:
    return bearer(settings, "ngo", subject=f"user-{ngo_id[:8]}", ngo_id=ngo_id)


async def test_an_ngo_profile_is_public_and_may_be_raised_to_internal(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    assert ngo["sensitivity"] == "public" and ngo["sensitivity_floor"] == "public"
    assert ngo["sensitivity_reasons"] == ["kind:ngo_public_profile"]
    assert ngo["sensitivity_raised_from"] is None
    raised = await create_ngo(client, settings, sensitivity="internal")
    assert raised["sensitivity"] == "internal"
    events = await outbox_events(app, raised["ngo_id"])
    assert events[-1]["data"]["sensitivity"] == "internal"
    directory = await client.get(f"/directory/{raised['ngo_id']}", headers=staff(settings))
    assert directory.json()["sensitivity"] == "internal"


async def test_an_ngo_profile_cannot_be_restricted(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo_id = str(uuid.uuid4())
    response = await client.post(
        "/ngos", json=ngo_profile(ngo_id=ngo_id, sensitivity="restricted"), headers=staff(settings)
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/ngos/{ngo_id}", headers=staff(settings))).status_code == 404
    assert await outbox_events(app, ngo_id) == []
    ngo = await create_ngo(client, settings)
    patched = await client.patch(
        f"/ngos/{ngo['ngo_id']}",
        json={"sensitivity": "restricted"},
        headers={**staff(settings), "If-Match": f'"{ngo["version"]}"'},
    )
    assert patched.status_code == 422
    assert "sensitivity" in json.dumps(problem_of(patched))


async def test_exact_bases_stay_off_the_ngo_topic_and_the_ngo_views(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings, operating_points=[BASE])
    ngo_id = ngo["ngo_id"]
    # Staff views keep the exact point (the positive control: the digits are findable).
    full = (await client.get(f"/ngos/{ngo_id}", headers=staff(settings))).json()
    assert full["operating_points"] == [BASE] and carries_base(full)
    assert full["operating_points_grid_degrees"] is None

    events = await outbox_events(app, ngo_id)
    assert len(events) >= 3
    for event in events:
        assert not carries_base(event), event["type"]
        assert event["data"]["operating_points_grid_degrees"] == 0.1
        [point] = event["data"]["operating_points"]
        assert (point["lat"], point["lon"]) == (4.85, 31.55)
        assert point["radius_km"] > BASE["radius_km"]

    other = await create_ngo(client, settings)
    for headers in (ngo_headers(settings, other["ngo_id"]), bearer(settings, "field_unit")):
        entry = await client.get(f"/directory/{ngo_id}", headers=headers)
        assert entry.status_code == 200 and not carries_base(entry.json())
        page = await client.get("/directory", params={"limit": 200}, headers=headers)
        assert page.status_code == 200 and not carries_base(page.json())
        assert (
            ngo_id in {item["ngo_id"] for item in page.json()["items"]}
            or page.json()["total"] > 200
        )
    own_entry = await client.get(f"/directory/{ngo_id}", headers=ngo_headers(settings, ngo_id))
    assert own_entry.json()["operating_points"] == events[-1]["data"]["operating_points"]


async def test_an_agreement_is_internal_and_a_lower_class_is_raised(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    asked_public = await client.post(
        "/agreements",
        json=agreement_body([ngo["ngo_id"]], sensitivity="public"),
        headers=staff(settings),
    )
    assert asked_public.status_code == 201, asked_public.text
    body = asked_public.json()
    assert body["sensitivity"] == "internal" and body["sensitivity_raised_from"] == "public"
    assert body["sensitivity_floor"] == "internal"
    assert body["sensitivity_reasons"] == ["kind:agreement"]
    [event] = await outbox_events(app, body["agreement_id"])
    assert event["data"]["sensitivity"] == "internal"
    again = await client.get(f"/agreements/{body['agreement_id']}", headers=staff(settings))
    assert again.json()["sensitivity_raised_from"] is None
    restricted = await client.post(
        "/agreements",
        json=agreement_body([ngo["ngo_id"]], sensitivity="restricted"),
        headers=staff(settings),
    )
    assert restricted.status_code == 422


async def test_an_ngo_party_reads_no_officer_identity_or_typed_reason(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    agreement = await create_active_agreement(client, settings, [ngo["ngo_id"]])
    agreement_id = agreement["agreement_id"]
    report = await client.post(
        f"/agreements/{agreement_id}/reports",
        json={"obligation": "activity report", "period_end": str(TODAY), "summary": "done"},
        headers=staff(settings),
    )
    assert report.status_code == 201, report.text
    assert report.json()["submitted_by"] == "officer-amina"
    terminated = await client.post(
        f"/agreements/{agreement_id}/terminate",
        json={"reason": "Officer Amina found the partner misreporting"},
        headers=staff(settings),
    )
    assert terminated.status_code == 200
    assert terminated.json()["terminated_by"] == "officer-amina"

    party = ngo_headers(settings, ngo["ngo_id"])
    read = (await client.get(f"/agreements/{agreement_id}", headers=party)).json()
    listed = (await client.get("/agreements", headers=party)).json()
    reports = (await client.get(f"/agreements/{agreement_id}/reports", headers=party)).json()
    for payload in (read, listed, reports):
        assert "officer-amina" not in json.dumps(payload)
        assert "misreporting" not in json.dumps(payload)
    assert read["terminated_by"] == "mission" and read["termination_reason"] is None
    assert reports[0]["submitted_by"] == "mission"
    # Staff still read both in full.
    full = (await client.get(f"/agreements/{agreement_id}", headers=staff(settings))).json()
    assert full["terminated_by"] == "officer-amina" and "misreporting" in full["termination_reason"]
