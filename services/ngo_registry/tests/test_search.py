"""Compatibility search: only vetted NGOs, ranked, explained, filtered by capacity."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import (
    create_active_agreement,
    create_ngo,
    create_vetted_ngo,
    staff,
    vetting,
)
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

COUNTY = "SS0801"  # Gogrial East, Warrap: far from the other tests' NGOs around Juba
NEIGHBOUR = "SS0802"  # Gogrial West, 56 km away


def deminers(teams: float) -> list[dict[str, object]]:
    return [{"resource": "demining_teams", "quantity": teams, "unit": "teams"}]


async def test_ranked_and_explained(client: httpx.AsyncClient, settings: Settings) -> None:
    tag = uuid.uuid4().hex[:6]
    common = {"sectors": ["mine_action"], "operating_areas": [COUNTY]}
    eligible = await create_vetted_ngo(
        client, settings, name=f"A-eligible {tag}", capacities=deminers(10), **common
    )
    await create_active_agreement(
        client, settings, [eligible["ngo_id"]], sectors=["mine_action"], pcodes=["SS08"]
    )
    in_county = await create_vetted_ngo(
        client, settings, name=f"B-in-county {tag}", capacities=deminers(30), **common
    )
    nearby = await create_vetted_ngo(
        client,
        settings,
        name=f"C-nearby {tag}",
        capacities=deminers(30),
        sectors=["mine_action"],
        operating_areas=[NEIGHBOUR],
    )
    unvetted = await create_ngo(client, settings, name=f"D-unvetted {tag}", **common)
    no_resource = await create_vetted_ngo(client, settings, name=f"E-none {tag}", **common)
    ours = {
        eligible["ngo_id"]: "eligible",
        in_county["ngo_id"]: "in_county",
        nearby["ngo_id"]: "nearby",
        unvetted["ngo_id"]: "unvetted",
        no_resource["ngo_id"]: "no_resource",
    }

    params: dict[str, str | int] = {
        "sector": "mine_action",
        "pcode": COUNTY,
        "resource": "demining_teams",
        "min_quantity": 5,
        "limit": 100,
    }
    response = await client.get("/search/ngos", params=params, headers=staff(settings))
    assert response.status_code == 200
    body = response.json()
    assert body["target"]["pcode"] == COUNTY
    results = [r for r in body["results"] if r["ngo_id"] in ours]
    assert [ours[r["ngo_id"]] for r in results] == ["eligible", "in_county", "nearby"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)

    first, second, third = results
    assert first["eligible"] is True and first["agreement_id"]
    assert "active agreement" in first["explanation"][0]
    assert second["eligible"] is False and "no active agreement" in second["explanation"][0]
    assert any("operates in SS0801" in part for part in second["explanation"])
    assert third["distance_km"] > 0 and "km from SS0802" in third["explanation"][1]
    assert second["capacity"] == {"resource": "demining_teams", "quantity": 30.0, "unit": "teams"}
    assert second["score"] > third["score"]  # same capacity, closer

    # A point in the county resolves to it; a state covers its counties.
    by_point = await client.get(
        "/search/ngos",
        params={"sector": "mine_action", "lat": 8.6, "lon": 28.5, "limit": 100},
        headers=staff(settings),
    )
    assert by_point.json()["target"]["pcode"] == COUNTY
    found = {r["ngo_id"] for r in by_point.json()["results"]}
    assert {eligible["ngo_id"], in_county["ngo_id"], no_resource["ngo_id"]} <= found
    assert unvetted["ngo_id"] not in found
    by_state = await client.get(
        "/search/ngos",
        params={"sector": "mine_action", "pcode": "SS08", "limit": 100},
        headers=staff(settings),
    )
    state_ids = [r["ngo_id"] for r in by_state.json()["results"]]
    assert len(state_ids) == len(set(state_ids))  # each NGO once, at its best county
    assert nearby["ngo_id"] in state_ids

    # Suspended: out of the search.
    await vetting(client, settings, eligible["ngo_id"], "suspend", reason="audit")
    after = await client.get("/search/ngos", params=params, headers=staff(settings))
    assert eligible["ngo_id"] not in {r["ngo_id"] for r in after.json()["results"]}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"sector": "mine_action"}, 422),
        ({"sector": "mine_action", "pcode": COUNTY, "lat": 8.6, "lon": 28.5}, 422),
        ({"sector": "mine_action", "pcode": "XX01"}, 422),
        ({"sector": "telepathy", "pcode": COUNTY}, 422),
        ({"sector": "mine_action", "pcode": COUNTY, "min_quantity": 3}, 422),
        ({"sector": "mine_action", "lat": 95, "lon": 28.5}, 422),
    ],
)
async def test_bad_search_input(
    client: httpx.AsyncClient, settings: Settings, params: dict[str, str | float], status: int
) -> None:
    response = await client.get("/search/ngos", params=params, headers=staff(settings))
    assert response.status_code == status
    problem_of(response)


async def test_search_is_for_operations_staff(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    params = {"sector": "wash", "pcode": COUNTY}
    for role in ("ngo", "field_unit"):
        headers = bearer(settings, role, ngo_id=uuid.uuid4() if role == "ngo" else None)
        assert (await client.get("/search/ngos", params=params, headers=headers)).status_code == 403
    admin = bearer(settings, "admin")
    assert (await client.get("/search/ngos", params=params, headers=admin)).status_code == 200
