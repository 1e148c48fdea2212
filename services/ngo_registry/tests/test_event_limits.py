"""The registry refuses what its events could not carry: numbers out of range are 422 naming
the field, a profile whose event would be over the broker's limit is 413; nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ngo_registry.config import Settings
from services.ngo_registry.db.models import outbox
from services.ngo_registry.tests.helpers import (
    agreement_body,
    count,
    create_ngo,
    ngo_profile,
    outbox_events,
    staff,
)
from shared.testing import problem_of

pytestmark = pytest.mark.integration

OUT_OF_RANGE: list[tuple[dict[str, Any], str]] = [
    ({"capacities": [{"resource": "staff", "quantity": 1e20, "unit": "persons"}]}, "quantity"),
    ({"operating_points": [{"lat": 4.85, "lon": 31.6, "radius_km": 1e20}]}, "radius_km"),
]


def _field_named(response: httpx.Response, field: str) -> bool:
    return any(error["location"][-1] == field for error in problem_of(response)["errors"])


async def test_numbers_out_of_range_are_422_naming_the_field(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    for overrides, field in OUT_OF_RANGE:
        name = f"Out of range {uuid.uuid4().hex[:8]}"
        created = await client.post(
            "/ngos", json=ngo_profile(name=name, **overrides), headers=staff(settings)
        )
        assert created.status_code == 422, (overrides, created.text)
        assert _field_named(created, field)
        assert await count(app, "SELECT count(*) FROM ngos WHERE name = :n", n=name) == 0

    ngo = await create_ngo(client, settings)
    updated = await client.patch(
        f"/ngos/{ngo['ngo_id']}",
        json=OUT_OF_RANGE[0][0],
        headers={**staff(settings), "If-Match": f'"{ngo["version"]}"'},
    )
    assert updated.status_code == 422, updated.text
    assert _field_named(updated, "quantity")
    assert len(await outbox_events(app, ngo["ngo_id"])) == 1

    title = f"Forever {uuid.uuid4().hex[:8]}"
    agreement = await client.post(
        "/agreements",
        json=agreement_body(
            [ngo["ngo_id"]],
            title=title,
            reporting_obligations=[{"what": "activity report", "frequency_days": 10**20}],
        ),
        headers=staff(settings),
    )
    assert agreement.status_code == 422, agreement.text
    assert _field_named(agreement, "frequency_days")
    assert await count(app, "SELECT count(*) FROM agreements WHERE title = :t", t=title) == 0


async def test_a_profile_whose_event_is_over_the_limit_is_413_and_nothing_is_written(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every field of a profile is bounded now, so no profile reaches the broker's 1 MB: the
    # guard is proved against a lowered limit (the same code path, a smaller number).
    monkeypatch.setattr(outbox, "max_message_bytes", 1_500)
    name = f"Many languages {uuid.uuid4().hex[:8]}"
    languages = [
        f"{i:02d}" + "x" * 18 for i in range(50)
    ]  # with the rest, over 1.5 kB in the public event
    created = await client.post(
        "/ngos", json=ngo_profile(name=name, languages=languages), headers=staff(settings)
    )
    assert created.status_code == 413, created.text[:500]
    assert problem_of(created)["type"].endswith("/event-too-large")
    assert await count(app, "SELECT count(*) FROM ngos WHERE name = :n", n=name) == 0
    assert (
        await count(app, "SELECT count(*) FROM outbox WHERE envelope->'data'->>'name' = :n", n=name)
        == 0
    )
