"""NGO movement notifications for the field simulator.

A vetted NGO notifies joint planning of a road movement in its own operating area: two to
four waypoints from one of its counties towards a neighbouring one, a window some hours
ahead, a few vehicles, now and then an escort request. Joint planning checks each against
live operations and recent incidents; the answer's `conflicts` say whether it met one.

The notifier draws from its own random generator, so adding movements does not change the
field reports a seeded simulation sends.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from deploy.demo.client import PLANNING, ConcordClient, ServiceError, ServiceUnreachable
from deploy.demo.data import NGOS, DemoNgo, counties_of
from shared.auth import Role
from shared.gazetteer import distance_km, gazetteer

VEHICLES = (("truck", 1, 6), ("land cruiser", 1, 3), ("water truck", 1, 4), ("motorbike", 1, 4))
MOVING_NGOS = [n for n in NGOS if n.target_status == "vetted"]


def _neighbour(pcode: str, rng: random.Random) -> str:
    """One of the three counties nearest to `pcode` (not itself)."""
    gaz = gazetteer()
    here = gaz.areas[pcode]
    others = sorted(
        (a for a in gaz.at_level(2) if a.pcode != pcode),
        key=lambda a: distance_km(here.lat, here.lon, a.lat, a.lon),
    )
    return rng.choice(others[:3]).pcode


def movement(rng: random.Random, *, now: datetime) -> tuple[DemoNgo, dict[str, Any]]:
    """(the notifying NGO, `POST /notifications` body) for one plausible road movement."""
    ngo = rng.choice(MOVING_NGOS)
    gaz = gazetteer()
    start = gaz.areas[rng.choice(counties_of(ngo.areas))]
    end = gaz.areas[_neighbour(start.pcode, rng)]
    stops = rng.randint(2, 4)

    def between(a: float, b: float, i: int) -> float:
        return round(a + (b - a) * i / (stops - 1) + rng.uniform(-0.02, 0.02), 5)

    waypoints = [
        {"lat": between(start.lat, end.lat, i), "lon": between(start.lon, end.lon, i)}
        for i in range(stops)
    ]
    starts = now + timedelta(hours=rng.uniform(0.5, 24))
    vehicle, low, high = rng.choice(VEHICLES)
    body: dict[str, Any] = {
        "notification_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "kind": "movement",
        "waypoints": waypoints,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=rng.uniform(2, 10))).isoformat(),
        "vehicles": [{"vehicle_type": vehicle, "count": rng.randint(low, high)}],
        "contact": {"name": f"{ngo.acronym} convoy lead", "radio": f"{ngo.acronym} base"},
    }
    if rng.random() < 0.15:
        body |= {
            "escort_requested": True,
            "escort_reason": f"Armed group reported near {end.name} this week",
        }
    return ngo, body


@dataclass
class MovementNotifier:
    """Sends a movement on the first tick, then on a share `every` of the ticks."""

    client: ConcordClient
    rng: random.Random = field(default_factory=random.Random)
    every: float = 0.08
    started: bool = False

    async def tick(self, now: datetime) -> str | None:
        """An outcome label when a movement was sent this tick, None otherwise."""
        if self.started and self.rng.random() >= self.every:
            return None
        self.started = True
        ngo, body = movement(self.rng, now=now)
        try:
            response = await self.client.call(
                PLANNING,
                "POST",
                "/notifications",
                role=Role.ngo,
                ngo_id=ngo.ngo_id,
                json=body,
                allow=(409, 422),
            )
        except ServiceError as exc:
            return f"movement error {exc.status_code}"
        except (ServiceUnreachable, httpx.HTTPError):
            return "movement no answer"
        if response.status_code != 201:
            return f"movement refused {response.status_code}"
        conflicts = response.json().get("conflicts") or []
        return "movement in conflict" if conflicts else "movement clear"
