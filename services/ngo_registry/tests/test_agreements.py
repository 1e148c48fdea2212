"""Agreements: drafting, bad input, activation and termination, eligibility, access."""

from __future__ import annotations

import uuid
from datetime import timedelta

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
    outbox_events,
    staff,
    vetting,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration


async def test_activation_makes_a_vetted_party_eligible_and_termination_undoes_it(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    assert ngo["eligible"] is False
    agreement = await create_active_agreement(client, settings, [ngo["ngo_id"]])
    assert agreement["status"] == "active"

    profile = (await client.get(f"/directory/{ngo['ngo_id']}", headers=staff(settings))).json()
    assert profile["eligible"] is True
    assert profile["eligibility"] == [
        {
            "sector": "wash",
            "pcodes": ["SS01"],
            "agreement_id": agreement["agreement_id"],
            "valid_until": agreement["ends_on"],
        }
    ]
    ngo_events = await outbox_events(app, ngo["ngo_id"])
    assert ngo_events[-1]["type"] == "concord.ngo_registry.ngo.eligibility_changed.v1"
    assert ngo_events[-1]["data"]["eligible"] is True
    types = [e["type"] for e in await outbox_events(app, agreement["agreement_id"])]
    assert types == [
        "concord.ngo_registry.agreement.created.v1",
        "concord.ngo_registry.agreement.activated.v1",
    ]

    terminated = await client.post(
        f"/agreements/{agreement['agreement_id']}/terminate",
        json={"reason": "partner withdrew"},
        headers=staff(settings),
    )
    assert terminated.status_code == 200
    assert terminated.json()["status"] == "terminated"
    assert terminated.json()["terminated_by"] == "officer-amina"
    last = (await outbox_events(app, ngo["ngo_id"]))[-1]
    assert last["data"]["eligible"] is False and last["data"]["eligibility"] == []
    agreement_events = await outbox_events(app, agreement["agreement_id"])
    assert agreement_events[-1]["data"]["reason"] == "partner withdrew"

    again = await client.post(
        f"/agreements/{agreement['agreement_id']}/terminate",
        json={"reason": "twice"},
        headers=staff(settings),
    )
    assert again.status_code == 409


async def test_unvetted_party_gets_no_eligibility(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    await create_active_agreement(client, settings, [ngo["ngo_id"]])
    profile = (await client.get(f"/directory/{ngo['ngo_id']}", headers=staff(settings))).json()
    assert profile["eligible"] is False and profile["eligibility"] == []


async def test_suspension_removes_eligibility(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    await create_active_agreement(client, settings, [ngo["ngo_id"]])
    suspended = await vetting(client, settings, ngo["ngo_id"], "suspend", reason="audit")
    assert suspended.json()["eligible"] is False
    reinstated = await vetting(client, settings, ngo["ngo_id"], "reinstate", reason="cleared")
    assert reinstated.json()["eligible"] is True
    flags = [e["data"]["eligible"] for e in await outbox_events(app, ngo["ngo_id"])]
    assert flags[-3:] == [True, False, True]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ends_on": str(TODAY - timedelta(days=10))}, "ends_on"),
        ({"pcodes": ["SS01", "MARS"]}, "MARS"),
        ({"sectors": ["wash", "knitting"]}, "sectors"),
    ],
)
async def test_bad_agreement_input_is_422(
    client: httpx.AsyncClient, settings: Settings, overrides: dict[str, object], expected: str
) -> None:
    ngo = await create_ngo(client, settings)
    response = await client.post(
        "/agreements", json=agreement_body([ngo["ngo_id"]], **overrides), headers=staff(settings)
    )
    assert response.status_code == 422
    assert expected in str(problem_of(response))


async def test_unknown_party_is_422(client: httpx.AsyncClient, settings: Settings) -> None:
    ghost = str(uuid.uuid4())
    response = await client.post(
        "/agreements", json=agreement_body([ghost]), headers=staff(settings)
    )
    assert response.status_code == 422
    assert problem_of(response)["unknown"] == [ghost]


async def test_draft_amendments_need_if_match_and_stay_ordered(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    created = await client.post(
        "/agreements", json=agreement_body([ngo["ngo_id"]]), headers=staff(settings)
    )
    url = f"/agreements/{created.json()['agreement_id']}"
    etag = created.headers["ETag"]
    assert (
        await client.patch(url, json={"title": "x"}, headers=staff(settings))
    ).status_code == 428
    reversed_dates = await client.patch(
        url,
        json={"ends_on": str(TODAY - timedelta(days=30))},
        headers={**staff(settings), "If-Match": etag},
    )
    assert reversed_dates.status_code == 422
    ok = await client.patch(
        url, json={"title": "Amended"}, headers={**staff(settings), "If-Match": etag}
    )
    assert ok.status_code == 200 and ok.json()["title"] == "Amended"
    stale = await client.patch(
        url, json={"title": "Lost"}, headers={**staff(settings), "If-Match": etag}
    )
    assert stale.status_code == 412

    activated = await client.post(f"{url}/activate", headers=staff(settings))
    assert activated.status_code == 200
    amend_active = await client.patch(
        url,
        json={"title": "late"},
        headers={**staff(settings), "If-Match": activated.headers["ETag"]},
    )
    assert amend_active.status_code == 409
    assert (await client.post(f"{url}/activate", headers=staff(settings))).status_code == 409


async def test_activation_outside_dates_or_unsigned_is_409(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    future = agreement_body(
        [ngo["ngo_id"]],
        starts_on=str(TODAY + timedelta(days=10)),
        ends_on=str(TODAY + timedelta(days=20)),
    )
    unsigned = agreement_body([ngo["ngo_id"]], signatories=[])
    for body in (future, unsigned):
        created = await client.post("/agreements", json=body, headers=staff(settings))
        agreement_id = created.json()["agreement_id"]
        response = await client.post(
            f"/agreements/{agreement_id}/activate", headers=staff(settings)
        )
        assert response.status_code == 409
        assert response.json()["status"] == 409


async def test_agreement_access(client: httpx.AsyncClient, settings: Settings) -> None:
    ngo = await create_ngo(client, settings)
    created = await client.post(
        "/agreements", json=agreement_body([ngo["ngo_id"]]), headers=staff(settings)
    )
    url = f"/agreements/{created.json()['agreement_id']}"
    party = bearer(settings, "ngo", ngo_id=ngo["ngo_id"])
    outsider = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    field = bearer(settings, "field_unit")

    assert (await client.get(url, headers=party)).status_code == 200
    assert (await client.get(url, headers=outsider)).status_code == 404
    assert (await client.get(url, headers=field)).status_code == 403
    mine = (await client.get("/agreements", headers=party)).json()
    assert [a["agreement_id"] for a in mine] == [created.json()["agreement_id"]]
    assert (await client.get("/agreements", headers=outsider)).json() == []
    assert (await client.post(f"{url}/activate", headers=party)).status_code == 403
    body = agreement_body([ngo["ngo_id"]])
    assert (await client.post("/agreements", json=body, headers=party)).status_code == 403
