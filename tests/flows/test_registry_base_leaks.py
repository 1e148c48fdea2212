"""Leak scan for NGO bases: an NGO registered with a planted exact base, vetted and made
eligible through the registry's API; the real relay publishes it on the NGO-readable topic and
the requests service's matching replica consumes it. Nothing an NGO can read (every event on
every NGO-readable topic, the directory as another NGO) carries the planted digits; the
replica holds the coarse base, whose circle contains the exact one, so matching by distance
still reaches the NGO. The positive control: the staff view carries the digits, and the scan
finds them there."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app as create_requests_app
from services.humanitarian_requests.config import Settings as RequestsSettings
from services.humanitarian_requests.tests.helpers import fetch, wait_for_replica
from services.ngo_registry.app import create_app as create_registry_app
from services.ngo_registry.config import Settings as RegistrySettings
from shared.events.catalog import Audience
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import NGO_TOPIC, NgoState
from shared.gazetteer import distance_km
from shared.testing import bearer, read_events, serve_in_process

pytestmark = pytest.mark.integration

NGO_TOPICS = sorted(t.name for t in CATALOG.topics() if t.audience is Audience.ngo)
CHECKS = {
    name: {"passed": True}
    for name in (
        "registration_valid",
        "neutrality_declaration",
        "safeguarding_policy",
        "references",
    )
}


def planted_base(seed: int) -> dict[str, float]:
    """Seven decimals nothing else in a run produces (and never on a 0.05 grid centre)."""
    rng = random.Random(seed)
    lat = round(4.8213 + rng.randrange(1, 9999) / 10**7, 7)
    lon = round(31.5127 + rng.randrange(1, 9999) / 10**7, 7)
    return {"lat": lat, "lon": lon, "radius_km": 12.5}


def leaks(texts: Iterable[str], base: dict[str, float]) -> list[str]:
    digits = [f"{base['lat']:.7f}"[:8], f"{base['lon']:.7f}"[:9]]  # 5 decimals of each
    return [text for text in texts for d in digits if d in text]


async def test_no_exact_base_reaches_ngos_and_matching_still_reaches_the_ngo(
    stack: LocalStack, kafka_bootstrap: str, database_url: str
) -> None:
    base = planted_base(seed=uuid.uuid4().int % 10**6)
    registry_settings = RegistrySettings()
    officer = bearer(registry_settings, "ops_centre", subject="flow-officer")
    today = date.today()
    async with (
        serve_in_process(create_requests_app(RequestsSettings())),
        serve_in_process(create_registry_app(registry_settings)) as registry,
    ):
        registered = await registry.post(
            "/ngos",
            json={
                "name": f"Base Leak Partners {uuid.uuid4().hex[:6]}",
                "ngo_type": "national",
                "hq_country": "SS",
                "sectors": ["wash"],
                "operating_areas": [],
                "operating_points": [base],
            },
            headers=officer,
        )
        assert registered.status_code == 201, registered.text
        ngo_id = registered.json()["ngo_id"]
        for step in (
            {"action": "start_review"},
            {"action": "vet", "checks": CHECKS, "vetted_until": str(today + timedelta(days=90))},
        ):
            response = await registry.post(f"/ngos/{ngo_id}/vetting", json=step, headers=officer)
            assert response.status_code == 200, response.text
        staff_view = await registry.get(f"/ngos/{ngo_id}", headers=officer)
        version = staff_view.json()["version"]
        # Positive control: the scan finds the planted base where it is meant to be.
        assert leaks([staff_view.text], base)
        assert staff_view.json()["operating_points"] == [base]

        other = bearer(registry_settings, "ngo", ngo_id=uuid.uuid4())
        directory = [
            (await registry.get(f"/directory/{ngo_id}", headers=other)).text,
            (await registry.get("/directory", params={"limit": 200}, headers=other)).text,
        ]

        def reached(found: list[CloudEvent]) -> bool:
            return any(e.subject == ngo_id and e.data.get("version") == version for e in found)

        events = await read_events(kafka_bootstrap, NGO_TOPICS, until=reached)
        await wait_for_replica(database_url, uuid.UUID(ngo_id), version)

    texts = [e.model_dump_json() for e in events] + directory
    assert not leaks(texts, base), leaks(texts, base)[:3]
    mine = [NgoState.model_validate(e.data) for e in events if e.subject == ngo_id]
    assert mine and all(s.operating_points_grid_degrees == 0.1 for s in mine)
    assert {e.type for e in events if e.subject == ngo_id} <= {
        t.name for t in CATALOG if t.topic is NGO_TOPIC
    }

    [[replica_points]] = await fetch(
        database_url,
        "SELECT operating_points FROM humanitarian_requests.ngo_replica WHERE ngo_id = :id",
        id=uuid.UUID(ngo_id),
    )
    assert not leaks([str(replica_points)], base)
    [coarse] = replica_points
    covers_base(coarse, base)


def covers_base(coarse: dict[str, Any], base: dict[str, float]) -> None:
    """The replica's circle contains the exact one: every place within the NGO's stated reach
    is within the reach matching computes."""
    gap = distance_km(base["lat"], base["lon"], coarse["lat"], coarse["lon"])
    assert coarse["radius_km"] >= base["radius_km"] + gap
