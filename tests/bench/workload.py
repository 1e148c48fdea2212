"""What the bench submits: aid requests at distinct places, and NGOs eligible for all of them.

Request *i* sits on its own point of a 0.1° grid over the mission's bounding box (about 11 km
apart, more than the service's 5 km duplicate radius), in a seeded order, so no submission of
a run is linked as a near-duplicate of another and every one goes through the whole intake:
triage, the duplicate search that finds nothing, matching, the offer. The NGOs hold a grant
for their sector in every state, so every request has an eligible NGO and gets an offer.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from shared.gazetteer import gazetteer
from shared.vocabulary import Sector

SECTORS = (Sector.health, Sector.wash, Sector.food_security, Sector.shelter_nfi)
NGOS_PER_SECTOR = 3
GRID_STEP = 0.1


@cache
def _grid() -> list[tuple[float, float]]:
    bounds = gazetteer().bounds
    rows = int((bounds["max_lat"] - bounds["min_lat"]) / GRID_STEP) - 1
    columns = int((bounds["max_lon"] - bounds["min_lon"]) / GRID_STEP) - 1
    points = [
        (
            round(bounds["min_lat"] + GRID_STEP * (1 + r), 4),
            round(bounds["min_lon"] + GRID_STEP * (1 + c), 4),
        )
        for r in range(rows)
        for c in range(columns)
    ]
    random.Random(15).shuffle(points)
    return points


def capacity() -> int:
    """How many distinct places a run can use."""
    return len(_grid())


def aid_request_body(index: int, *, client_id: str | None = None) -> dict[str, Any]:
    lat, lon = _grid()[index % len(_grid())]
    return {
        "client_id": client_id,
        "sector": SECTORS[index % len(SECTORS)].value,
        "urgency": ("life_threatening", "urgent", "routine")[index % 3],
        "title": f"Bench request {index}: water trucking for displaced families",
        "description": "Borehole broken; families at the school compound",
        "items": [{"item": "water", "quantity": 10 + index % 90, "unit": "m3"}],
        "affected_population": {"total": 100 + index % 2000, "women": 40, "girls": 30},
        "vulnerability": ["displaced", "children_under_five"],
        "location": {"lat": lat, "lon": lon},
        "access_constraints": ["road flooded after rain"],
        "security_constraints": [],
        "contact": "Capt. A. Example +211 900 000 000",
        "sensitivity": "internal",
    }


def batch_item(index: int) -> dict[str, Any]:
    body = aid_request_body(index, client_id=f"batch-{index}")
    return {"kind": "aid_request", **body, "observed_at": "2026-11-28T06:00:00Z"}
