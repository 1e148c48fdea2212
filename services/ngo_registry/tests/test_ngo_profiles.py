"""NGO profiles: registration, bad input, ETag/If-Match, access per role, events."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI

from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import (
    count,
    create_ngo,
    create_vetted_ngo,
    ngo_profile,
    outbox_events,
    staff,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration


async def test_register_emits_full_public_state_without_confidential_fields(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    response = await client.post("/ngos", json=ngo_profile(), headers=staff(settings))
    assert response.status_code == 201
    body = response.json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert body["vetting_status"] == "submitted"
    assert body["eligible"] is False and body["eligibility"] == []
    assert body["registrations"][0]["country"] == "SS"

    events = await outbox_events(app, body["ngo_id"])
    assert [e["type"] for e in events] == ["concord.ngo_registry.ngo.registered.v1"]
    data = events[0]["data"]
    assert data["ngo_id"] == body["ngo_id"] and data["version"] == body["version"]
    assert data["sectors"] == ["wash", "health"]
    assert "contacts" not in data and "registrations" not in data


async def test_duplicate_registration_names_the_holder_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    first = await create_ngo(client, settings)
    number = first["registrations"][0]["registration_number"]
    new_id = str(uuid.uuid4())
    outbox_before = await count(app, "SELECT count(*) FROM outbox")
    duplicate = ngo_profile(
        ngo_id=new_id,
        registrations=[{"country": "SS", "registration_number": number, "legal_status": "x"}],
    )
    response = await client.post("/ngos", json=duplicate, headers=staff(settings))
    assert response.status_code == 409
    problem = problem_of(response)
    assert problem["existing_ngo_id"] == first["ngo_id"]
    assert first["name"] in problem["detail"]
    # The NGO row was flushed before the clash: the rollback must have taken it back out.
    assert await count(app, "SELECT count(*) FROM ngos WHERE id = :id", id=uuid.UUID(new_id)) == 0
    assert await count(app, "SELECT count(*) FROM outbox") == outbox_before
    assert await outbox_events(app, new_id) == []

    # The same number in another country is another organisation's business: allowed.
    elsewhere = ngo_profile(
        registrations=[{"country": "UG", "registration_number": number, "legal_status": "x"}]
    )
    assert (await client.post("/ngos", json=elsewhere, headers=staff(settings))).status_code == 201


async def test_unknown_sector_is_422_listing_the_allowed_ones(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/ngos", json=ngo_profile(sectors=["wash", "astrology"]), headers=staff(settings)
    )
    assert response.status_code == 422
    errors = problem_of(response)["errors"]
    assert any("health" in str(e.get("allowed", "")) for e in errors)


async def test_unknown_pcode_is_422_listing_the_allowed_ones(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    body = ngo_profile(operating_areas=["SS0101", "XX99"])
    response = await client.post("/ngos", json=body, headers=staff(settings))
    assert response.status_code == 422
    problem = problem_of(response)
    assert problem["unknown"] == ["XX99"]
    assert "SS0101" in problem["allowed"] and "SS01" in problem["allowed"]


async def test_registration_dates_out_of_order_is_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    registration = {
        "country": "SS",
        "registration_number": f"R-{uuid.uuid4().hex[:6]}",
        "legal_status": "ngo",
        "issued_on": "2024-05-01",
        "expires_on": "2023-05-01",
    }
    response = await client.post(
        "/ngos", json=ngo_profile(registrations=[registration]), headers=staff(settings)
    )
    assert response.status_code == 422
    assert "expires_on" in problem_of(response)["detail"]


async def test_update_needs_current_etag(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    url = f"/ngos/{ngo['ngo_id']}"
    read = await client.get(url, headers=staff(settings))
    etag = read.headers["ETag"]

    missing = await client.patch(url, json={"website": "https://a.org"}, headers=staff(settings))
    assert missing.status_code == 428
    assert problem_of(missing)["current_etag"] == etag

    first = await client.patch(
        url, json={"website": "https://a.org"}, headers={**staff(settings), "If-Match": etag}
    )
    assert first.status_code == 200
    assert first.headers["ETag"] != etag

    stale = await client.patch(
        url, json={"website": "https://b.org"}, headers={**staff(settings), "If-Match": etag}
    )
    assert stale.status_code == 412
    assert problem_of(stale)["current_etag"] == first.headers["ETag"]
    after = (await client.get(url, headers=staff(settings))).json()
    assert after["website"] == "https://a.org"  # the stale write changed nothing
    types = [e["type"] for e in await outbox_events(app, ngo["ngo_id"])]
    assert types == [
        "concord.ngo_registry.ngo.registered.v1",
        "concord.ngo_registry.ngo.updated.v1",
    ]


async def test_update_with_unknown_pcode_is_422_and_changes_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    url = f"/ngos/{ngo['ngo_id']}"
    response = await client.patch(
        url,
        json={"operating_areas": ["NOPE"], "website": "https://c.org"},
        headers={**staff(settings), "If-Match": f'"{ngo["version"]}"'},
    )
    assert response.status_code == 422
    assert (await client.get(url, headers=staff(settings))).json()["version"] == ngo["version"]


async def test_ngo_updates_its_own_capacities(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    own = bearer(settings, "ngo", ngo_id=ngo["ngo_id"])
    url = f"/ngos/{ngo['ngo_id']}"
    read = await client.get(url, headers=own)
    assert read.status_code == 200 and read.json()["contacts"]
    capacities = [{"resource": "beds", "quantity": 25, "unit": "beds"}]
    response = await client.patch(
        url, json={"capacities": capacities}, headers={**own, "If-Match": read.headers["ETag"]}
    )
    assert response.status_code == 200
    assert response.json()["vetting_status"] == "vetted"  # capacities alone: no re-review
    last = (await outbox_events(app, ngo["ngo_id"]))[-1]
    assert last["type"] == "concord.ngo_registry.ngo.updated.v1"
    assert last["data"]["capacities"] == [{"resource": "beds", "quantity": 25.0, "unit": "beds"}]


async def test_vetted_ngo_changing_its_areas_goes_back_to_review(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    own = bearer(settings, "ngo", ngo_id=ngo["ngo_id"], subject="ngo-user-1")
    response = await client.patch(
        f"/ngos/{ngo['ngo_id']}",
        json={"operating_areas": ["SS0101", "SS0102"]},
        headers={**own, "If-Match": f'"{ngo["version"]}"'},
    )
    assert response.status_code == 200
    assert response.json()["vetting_status"] == "under_review"
    last = (await outbox_events(app, ngo["ngo_id"]))[-1]
    assert last["type"] == "concord.ngo_registry.ngo.vetting_changed.v1"
    assert last["data"]["previous_status"] == "vetted"
    assert last["data"]["decided_by"] == "ngo"  # no person's name on the NGO topic
    assert last["data"]["eligible"] is False


async def test_access_rules_per_role(client: httpx.AsyncClient, settings: Settings) -> None:
    ngo = await create_ngo(client, settings)
    url = f"/ngos/{ngo['ngo_id']}"
    other_ngo = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    field = bearer(settings, "field_unit", unit_id="team-site-7")
    admin = bearer(settings, "admin")

    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=admin)).status_code == 200
    assert (await client.get(url, headers=field)).status_code == 403
    hidden = await client.get(url, headers=other_ngo)
    assert hidden.status_code == 404
    assert problem_of(hidden)["status"] == 404
    patch = await client.patch(
        url, json={"website": "https://evil.org"}, headers={**other_ngo, "If-Match": "*"}
    )
    assert patch.status_code == 404
    assert (await client.post("/ngos", json=ngo_profile(), headers=other_ngo)).status_code == 403
    assert (await client.post("/ngos", json=ngo_profile(), headers=field)).status_code == 403

    for who in (field, other_ngo):
        entry = await client.get(f"/directory/{ngo['ngo_id']}", headers=who)
        assert entry.status_code == 200
        assert "contacts" not in entry.json() and "registrations" not in entry.json()
        listing = await client.get("/directory", params={"pcode": "SS01"}, headers=who)
        assert listing.status_code == 200
        assert ngo["ngo_id"] in [n["ngo_id"] for n in listing.json()["items"]]
        assert all("contacts" not in n for n in listing.json()["items"])


async def test_directory_rejects_unknown_pcode(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/directory", params={"pcode": "ZZ"}, headers=staff(settings))
    assert response.status_code == 422
    assert problem_of(response)["unknown"] == ["ZZ"]


async def test_concurrent_registrations_of_one_number_one_wins(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    number = f"RACE-{uuid.uuid4().hex[:8]}"
    registration = [{"country": "SS", "registration_number": number, "legal_status": "ngo"}]
    responses = await asyncio.gather(
        *(
            client.post(
                "/ngos", json=ngo_profile(registrations=registration), headers=staff(settings)
            )
            for _ in range(2)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    winner = next(r for r in responses if r.status_code == 201).json()
    loser = next(r for r in responses if r.status_code == 409)
    assert problem_of(loser)["existing_ngo_id"] == winner["ngo_id"]


async def test_failed_update_writes_neither_state_nor_event(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    holder = await create_ngo(client, settings)
    ngo = await create_ngo(client, settings)
    taken = holder["registrations"][0]
    url = f"/ngos/{ngo['ngo_id']}"
    response = await client.patch(
        url,
        json={"name": "Renamed", "registrations": [taken]},
        headers={**staff(settings), "If-Match": f'"{ngo["version"]}"'},
    )
    assert response.status_code == 409
    assert problem_of(response)["existing_ngo_id"] == holder["ngo_id"]
    after = (await client.get(url, headers=staff(settings))).json()
    assert after["name"] == ngo["name"] and after["version"] == ngo["version"]
    assert after["registrations"] == ngo["registrations"]  # the delete was rolled back too
    assert len(await outbox_events(app, ngo["ngo_id"])) == 1
