"""Operation areas drawn as polygons: what is refused, and deconfliction through one.

A polygon covers the grid cells it intersects; a movement whose route passes through one of
them, in the operation's timeframe, conflicts with it — whatever county names say.
"""

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
    fresh_county,
    iso,
    move,
    movement_body,
    ngo_state,
    operation_body,
    outbox_envelopes,
    registry_says,
    staff,
)
from shared.gazetteer import gazetteer
from shared.testing import problem_of

pytestmark = pytest.mark.integration

START = NOW + timedelta(days=2)


def square(lat: float, lon: float, half: float) -> list[list[list[float]]]:
    """A closed square ring of [lon, lat] around a point."""
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return [ring]


def window() -> dict[str, str]:
    return {"starts_at": iso(START), "ends_at": iso(START + timedelta(hours=12))}


BAD_POLYGONS: list[tuple[str, Any, str]] = [
    ("not closed", [[[31.0, 6.0], [31.2, 6.0], [31.2, 6.2], [31.0, 6.2]]], "not closed"),
    ("too few positions", [[[31.0, 6.0], [31.2, 6.0], [31.0, 6.0]]], "at least 4 positions"),
    (
        "too many vertices",
        [[[31.0 + i * 0.001, 6.0 + (i % 2) * 0.01] for i in range(201)] + [[31.0, 6.0]]],
        "at most 200 vertices",
    ),
    ("longitude out of range", [[[200.0, 6.0], [31.2, 6.0], [31.2, 6.2], [200.0, 6.0]]], "not a"),
    ("latitude out of range", [[[31.0, -95.0], [31.2, 6.0], [31.2, 6.2], [31.0, -95.0]]], "not a"),
    (
        "outside the mission area",
        [[[40.0, 6.0], [40.2, 6.0], [40.2, 6.2], [40.0, 6.0]]],
        "outside the mission area",
    ),
    (
        "a position of three numbers",
        [[[31.0, 6.0, 1.0], [31.2, 6.0], [31.2, 6.2], [31.0, 6.0]]],
        "",
    ),
    ("no rings", [], "at least one ring"),
    ("degenerate", [[[31.0, 6.0], [31.2, 6.0], [31.0, 6.0], [31.0, 6.0]]], "3 distinct"),
]


@pytest.mark.parametrize(
    ("case", "polygon", "reason"), BAD_POLYGONS, ids=[c[0] for c in BAD_POLYGONS]
)
async def test_bad_polygons_are_refused_with_the_reason(
    client: httpx.AsyncClient, settings: Settings, case: str, polygon: Any, reason: str
) -> None:
    body = operation_body(areas=[], polygons=[polygon])
    response = await client.post("/operations", json=body, headers=staff(settings))
    assert response.status_code == 422, (case, response.text)
    problem = problem_of(response)
    assert reason in problem["detail"], (case, problem["detail"])
    assert any(e["location"][:2] == ["body", "polygons"] for e in problem["errors"]), problem


async def test_an_operation_needs_areas_or_polygons(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/operations", json=operation_body(areas=[]), headers=staff(settings)
    )
    assert response.status_code == 422
    assert "areas (P-codes) or polygons" in problem_of(response)["detail"]
    operation = await create_operation(client, settings)
    emptied = await client.patch(
        f"/operations/{operation['operation_id']}",
        json={"areas": []},
        headers={**staff(settings), "If-Match": f'"{operation["version"]}"'},
    )
    assert emptied.status_code == 422, emptied.text
    problem_of(emptied)


async def test_a_movement_through_a_polygon_area_conflicts(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county = fresh_county()
    centre = gazetteer().areas[county]
    lat, lon = centre.lat, centre.lon
    polygon = square(lat, lon, 0.08)

    def route(d_lon: float) -> list[dict[str, float]]:
        return [
            {"lat": round(lat - 0.03, 5), "lon": round(lon + d_lon, 5)},
            {"lat": round(lat + 0.03, 5), "lon": round(lon + d_lon, 5)},
        ]

    # Notified before the operation is planned: the re-check flags it.
    before = await client.post(
        "/notifications",
        json=movement_body(county, route(0.0), starts_at=START + timedelta(hours=1)),
        headers=as_ngo(settings, uuid.uuid4()),
    )
    assert before.status_code == 201, before.text
    assert before.json()["conflicts"] == []
    drafted = await create_operation(
        client, settings, areas=[], polygons=[polygon], title="Polygon op", **window()
    )
    assert drafted["areas"] == [] and drafted["polygons"] == [polygon]
    operation = (await move(client, settings, drafted, "planned")).json()
    operation_id = operation["operation_id"]

    def from_operation(notification: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            c
            for c in notification["conflicts"]
            if c.get("source_id") == operation_id and c["cleared_at"] is None
        ]

    flagged = (
        await client.get(
            f"/notifications/{before.json()['notification_id']}", headers=staff(settings)
        )
    ).json()
    (conflict,) = from_operation(flagged)
    assert conflict["source"] == "mission_activity" and conflict["near_pcode"] == county

    # Notified while it is planned: flagged at once. A route of the same county that
    # passes beside the polygon is not.
    crossing = await client.post(
        "/notifications",
        json=movement_body(county, route(0.05), starts_at=START + timedelta(hours=2)),
        headers=as_ngo(settings, uuid.uuid4()),
    )
    assert crossing.status_code == 201, crossing.text
    crossing_seen = await client.get(
        f"/notifications/{crossing.json()['notification_id']}", headers=staff(settings)
    )
    assert len(from_operation(crossing_seen.json())) == 1
    beside = await client.post(
        "/notifications",
        json=movement_body(county, route(0.25), starts_at=START + timedelta(hours=2)),
        headers=as_ngo(settings, uuid.uuid4()),
    )
    assert beside.status_code == 201, beside.text
    beside_seen = await client.get(
        f"/notifications/{beside.json()['notification_id']}", headers=staff(settings)
    )
    assert from_operation(beside_seen.json()) == []

    # The polygon travels in the operation's events.
    (created, *_) = await outbox_envelopes(app, operation_id)
    assert created["data"]["polygons"] == [polygon] and created["data"]["areas"] == []

    # Cancelled: the conflicts it caused are cleared.
    cancelled = await move(client, settings, operation, "cancelled")
    assert cancelled.status_code == 200, cancelled.text
    cleared = (
        await client.get(
            f"/notifications/{before.json()['notification_id']}", headers=staff(settings)
        )
    ).json()
    assert from_operation(cleared) == []


async def test_an_implementer_must_cover_the_counties_a_polygon_reaches(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, kafka_bootstrap: str
) -> None:
    county = fresh_county()
    centre = gazetteer().areas[county]
    elsewhere = ngo_state(pcodes=["SS01"])  # wash, but in another state
    here = ngo_state(pcodes=[gazetteer().areas[county].parent or county])
    await registry_says(app, kafka_bootstrap, elsewhere, here)
    polygon = square(centre.lat, centre.lon, 0.05)

    def implementer(ngo_id: uuid.UUID) -> dict[str, Any]:
        return {"kind": "ngo", "ngo_id": str(ngo_id), "role": "implementing"}

    refused = await client.post(
        "/operations",
        json=operation_body(
            areas=[],
            polygons=[polygon],
            participants=[operation_body()["participants"][0], implementer(elsewhere.ngo_id)],
        ),
        headers=staff(settings),
    )
    assert refused.status_code == 422, refused.text
    assert problem_of(refused)["type"].endswith("participant-not-eligible")
    accepted = await client.post(
        "/operations",
        json=operation_body(
            areas=[],
            polygons=[polygon],
            participants=[operation_body()["participants"][0], implementer(here.ngo_id)],
        ),
        headers=staff(settings),
    )
    assert accepted.status_code == 201, accepted.text
