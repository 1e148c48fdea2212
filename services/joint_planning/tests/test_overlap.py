"""Overlap detection: two actors planning the same sector in the same area and period get a
duplication warning each, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.tests.helpers import (
    NOW,
    create_live_operation,
    create_operation,
    fresh_county,
    iso,
    move,
    outbox_envelopes,
    staff,
)
from shared.gazetteer import gazetteer

pytestmark = pytest.mark.integration

WARNED = "concord.joint_planning.operation.duplication_warned.v1"
SLOT = NOW + timedelta(days=200)  # a period no other test plans in


def led_by(name: str) -> list[dict[str, Any]]:
    return [
        {"kind": "mission_component", "component": "civil_affairs", "name": name, "role": "lead"}
    ]


def period(start_days: float, end_days: float, *, base: float = 0) -> dict[str, str]:
    return {
        "starts_at": iso(SLOT + timedelta(days=base + start_days)),
        "ends_at": iso(SLOT + timedelta(days=base + end_days)),
    }


STATE_WIDE = 100.0  # the state-wide test's own period: its operation covers other counties


async def warnings_of(app: FastAPI, operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in await outbox_envelopes(app, operation["operation_id"])
        if e["type"] == WARNED
    ]


async def test_the_same_sector_area_and_period_warns_both_sides_once(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county = fresh_county()
    state = gazetteer().admin1(county)
    first = await create_live_operation(
        client,
        settings,
        areas=[county],
        participants=led_by("Team Alpha"),
        **period(0, 10, base=STATE_WIDE),
    )
    second = await create_live_operation(
        client,
        settings,
        areas=[state],
        sectors=["wash", "health"],
        participants=led_by("Team Bravo"),
        **period(5, 15, base=STATE_WIDE),
    )
    (to_first,) = await warnings_of(app, first)
    (to_second,) = await warnings_of(app, second)
    assert to_first["other_operation_id"] == second["operation_id"]
    assert to_second["other_operation_id"] == first["operation_id"]
    assert to_first["sector"] == "wash"
    assert to_first["areas"] == [county]
    assert to_first["actors"] == ["civil_affairs:Team Alpha"]
    assert to_first["other_actors"] == ["civil_affairs:Team Bravo"]
    expected_start = period(5, 10, base=STATE_WIDE)["starts_at"]
    assert to_first["overlap_starts_at"].startswith(expected_start[:16])
    # Changing the second again does not repeat the warning.
    touched = await client.patch(
        f"/operations/{second['operation_id']}",
        json={"title": "WASH and health, renamed"},
        headers={**staff(settings), "If-Match": f'"{second["version"]}"'},
    )
    assert touched.status_code == 200
    assert len(await warnings_of(app, first)) == 1
    assert len(await warnings_of(app, second)) == 1


@pytest.mark.parametrize(
    "second",
    [
        {"participants": led_by("Team Same")},  # the same actor twice is not a duplication
        {"participants": led_by("Team Other"), "sectors": ["health"]},
        {"participants": led_by("Team Other"), **period(20, 30)},
    ],
)
async def test_no_warning_without_two_actors_a_shared_sector_and_period(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, second: dict[str, Any]
) -> None:
    county = fresh_county()
    first = await create_live_operation(
        client, settings, areas=[county], participants=led_by("Team Same"), **period(0, 10)
    )
    other = await create_live_operation(
        client, settings, **{"areas": [county], **period(0, 10), **second}
    )
    assert await warnings_of(app, first) == []
    assert await warnings_of(app, other) == []


async def test_a_draft_is_checked_once_it_is_planned(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county = fresh_county()
    first = await create_live_operation(
        client, settings, areas=[county], participants=led_by("Team One"), **period(0, 10)
    )
    draft = await create_operation(
        client, settings, areas=[county], participants=led_by("Team Two"), **period(0, 10)
    )
    assert await warnings_of(app, first) == []
    await move(client, settings, draft, "planned")
    assert [w["other_operation_id"] for w in await warnings_of(app, first)] == [
        draft["operation_id"]
    ]


POLYGONS = 300.0  # the polygon test's own period: its polygons reach past its county


def square_around(pcode: str, half: float = 0.03) -> list[list[list[float]]]:
    """A closed square ring of [lon, lat] around a county's centre."""
    centre = gazetteer().areas[pcode]
    lat, lon = centre.lat, centre.lon
    corners = [(-half, -half), (half, -half), (half, half), (-half, half), (-half, -half)]
    return [[[round(lon + dx, 5), round(lat + dy, 5)] for dx, dy in corners]]


async def test_an_operation_drawn_as_a_polygon_overlaps_like_one_named_by_p_code(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    county = fresh_county()
    by_pcode = await create_live_operation(
        client,
        settings,
        areas=[county],
        participants=led_by("Team Pcode"),
        **period(0, 10, base=POLYGONS),
    )
    drawn = await create_live_operation(
        client,
        settings,
        areas=[],
        polygons=[square_around(county)],
        participants=led_by("Team Polygon"),
        **period(2, 12, base=POLYGONS),
    )
    (to_drawn,) = await warnings_of(app, drawn)
    (to_pcode,) = await warnings_of(app, by_pcode)
    assert to_drawn["other_operation_id"] == by_pcode["operation_id"]
    assert to_pcode["other_operation_id"] == drawn["operation_id"]
    assert to_drawn["areas"] == [county]
    # Two polygons over the same place, both drawn: warned as well.
    also_drawn = await create_live_operation(
        client,
        settings,
        areas=[],
        polygons=[square_around(county, half=0.02)],
        participants=led_by("Team Second Polygon"),
        **period(4, 6, base=POLYGONS),
    )
    others = {w["other_operation_id"] for w in await warnings_of(app, also_drawn)}
    assert others == {by_pcode["operation_id"], drawn["operation_id"]}
