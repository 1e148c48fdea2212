"""Report submissions under agreements: recording, bad input, idempotent repeats, access."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import (
    TODAY,
    agreement_body,
    count,
    create_active_agreement,
    create_ngo,
    outbox_events,
    staff,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

SUBMITTED = "concord.ngo_registry.agreement.report_submitted.v1"


def report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "obligation": "activity report",
        "period_end": str(TODAY - timedelta(days=5)),
        "summary": "12 water points rehabilitated",
    }
    body.update(overrides)
    return body


async def _agreement(
    client: httpx.AsyncClient, settings: Settings, parties: int = 1
) -> tuple[dict[str, Any], list[str]]:
    ngo_ids = [(await create_ngo(client, settings))["ngo_id"] for _ in range(parties)]
    agreement = await create_active_agreement(
        client, settings, ngo_ids, starts_on=str(TODAY - timedelta(days=95))
    )
    return agreement, ngo_ids


async def _submitted_events(app: FastAPI, agreement_id: str) -> list[dict[str, Any]]:
    return [e for e in await outbox_events(app, agreement_id) if e["type"] == SUBMITTED]


async def test_party_submits_a_report_and_a_repeat_returns_it_without_a_second_event(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    agreement, (ngo_id,) = await _agreement(client, settings)
    url = f"/agreements/{agreement['agreement_id']}/reports"
    party = bearer(settings, "ngo", ngo_id=ngo_id, subject="ngo-reporter")

    created = await client.post(url, json=report(), headers=party)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["agreement_id"] == agreement["agreement_id"]
    assert body["ngo_id"] == ngo_id
    assert body["obligation"] == "activity report"
    assert body["frequency_days"] == 30
    assert body["period_end"] == str(TODAY - timedelta(days=5))
    assert body["submitted_on"] == str(TODAY)
    assert body["submitted_by"] == "ngo-reporter"
    assert body["version"] == 1

    events = await _submitted_events(app, agreement["agreement_id"])
    assert len(events) == 1
    assert events[0]["subject"] == agreement["agreement_id"]
    assert events[0]["data"]["submission_id"] == body["submission_id"]
    assert events[0]["data"]["ngo_id"] == ngo_id
    assert events[0]["data"]["period_end"] == body["period_end"]

    again = await client.post(url, json=report(summary="sent twice"), headers=party)
    assert again.status_code == 200
    assert again.json() == body
    assert len(await _submitted_events(app, agreement["agreement_id"])) == 1
    assert (
        await count(
            app,
            "SELECT count(*) FROM report_submissions WHERE agreement_id = :a",
            a=uuid.UUID(agreement["agreement_id"]),
        )
        == 1
    )

    # Staff record another period; the single party is the reporting one.
    earlier = await client.post(
        url,
        json=report(period_end=str(TODAY - timedelta(days=35)), submitted_on=str(TODAY)),
        headers=staff(settings),
    )
    assert earlier.status_code == 201, earlier.text
    assert earlier.json()["ngo_id"] == ngo_id
    assert earlier.json()["submitted_by"] == "officer-amina"

    listed = await client.get(url, headers=party)
    assert listed.status_code == 200
    assert [r["period_end"] for r in listed.json()] == [
        str(TODAY - timedelta(days=35)),
        str(TODAY - timedelta(days=5)),
    ]
    assert len(await _submitted_events(app, agreement["agreement_id"])) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"obligation": "financial report"}, "obligation"),
        ({"period_end": str(TODAY + timedelta(days=1))}, "period_end"),
        ({"period_end": str(TODAY - timedelta(days=400))}, "period_end"),
        ({"submitted_on": str(TODAY + timedelta(days=2))}, "submitted_on"),
        ({"summary": ""}, None),
        ({"period_end": "not-a-date"}, None),
        ({"extra": 1}, None),
    ],
)
async def test_bad_report_input_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    overrides: dict[str, Any],
    field: str | None,
) -> None:
    agreement, (ngo_id,) = await _agreement(client, settings)
    response = await client.post(
        f"/agreements/{agreement['agreement_id']}/reports",
        json=report(**overrides),
        headers=bearer(settings, "ngo", ngo_id=ngo_id),
    )
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    if field is not None:
        assert problem["field"] == field
    if field == "obligation":
        assert problem["allowed"] == ["activity report"]
    assert await _submitted_events(app, agreement["agreement_id"]) == []
    assert (
        await count(
            app,
            "SELECT count(*) FROM report_submissions WHERE agreement_id = :a",
            a=uuid.UUID(agreement["agreement_id"]),
        )
        == 0
    )


async def test_reporting_party_must_be_a_party(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    agreement, ngo_ids = await _agreement(client, settings, parties=2)
    url = f"/agreements/{agreement['agreement_id']}/reports"
    unnamed = await client.post(url, json=report(), headers=staff(settings))
    assert unnamed.status_code == 422
    assert sorted(problem_of(unnamed)["allowed"]) == sorted(ngo_ids)
    stranger = await client.post(
        url, json=report(ngo_id=str(uuid.uuid4())), headers=staff(settings)
    )
    assert stranger.status_code == 422
    for_other = await client.post(
        url, json=report(ngo_id=ngo_ids[1]), headers=bearer(settings, "ngo", ngo_id=ngo_ids[0])
    )
    assert for_other.status_code == 422
    named = await client.post(url, json=report(ngo_id=ngo_ids[1]), headers=staff(settings))
    assert named.status_code == 201
    assert named.json()["ngo_id"] == ngo_ids[1]
    assert len(await _submitted_events(app, agreement["agreement_id"])) == 1


async def test_reports_need_an_active_agreement(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    draft = await client.post(
        "/agreements", json=agreement_body([ngo["ngo_id"]]), headers=staff(settings)
    )
    assert draft.status_code == 201
    agreement_id = draft.json()["agreement_id"]
    response = await client.post(
        f"/agreements/{agreement_id}/reports",
        json=report(period_end=str(TODAY)),
        headers=bearer(settings, "ngo", ngo_id=ngo["ngo_id"]),
    )
    assert response.status_code == 409
    assert problem_of(response)["current_status"] == "draft"

    active, (ngo_id,) = await _agreement(client, settings)
    terminated = await client.post(
        f"/agreements/{active['agreement_id']}/terminate",
        json={"reason": "ended"},
        headers=staff(settings),
    )
    assert terminated.status_code == 200
    late = await client.post(
        f"/agreements/{active['agreement_id']}/reports",
        json=report(),
        headers=bearer(settings, "ngo", ngo_id=ngo_id),
    )
    assert late.status_code == 409
    assert await _submitted_events(app, active["agreement_id"]) == []


async def test_report_access(client: httpx.AsyncClient, settings: Settings) -> None:
    agreement, (ngo_id,) = await _agreement(client, settings)
    url = f"/agreements/{agreement['agreement_id']}/reports"
    outsider = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    assert (await client.post(url, json=report())).status_code == 401
    assert (
        await client.post(url, json=report(), headers=bearer(settings, "field_unit"))
    ).status_code == 403
    for response in (
        await client.post(url, json=report(), headers=outsider),
        await client.get(url, headers=outsider),
        await client.post(
            f"/agreements/{uuid.uuid4()}/reports", json=report(), headers=staff(settings)
        ),
        await client.get(f"/agreements/{uuid.uuid4()}/reports", headers=staff(settings)),
    ):
        assert response.status_code == 404
        problem_of(response)
    assert (await client.get(url, headers=bearer(settings, "field_unit"))).status_code == 403
    listed = await client.get(url, headers=bearer(settings, "ngo", ngo_id=ngo_id))
    assert listed.status_code == 200 and listed.json() == []


async def test_concurrent_identical_submissions_record_one(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    agreement, (ngo_id,) = await _agreement(client, settings)
    url = f"/agreements/{agreement['agreement_id']}/reports"
    party = bearer(settings, "ngo", ngo_id=ngo_id)
    responses = await asyncio.gather(
        *(client.post(url, json=report(), headers=party) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["submission_id"] for r in responses}) == 1
    assert len(await _submitted_events(app, agreement["agreement_id"])) == 1
