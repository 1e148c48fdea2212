"""Plausible field reports: aid requests and incidents with a realistic spread.

Most needs arise where some eligible NGO works (so matching has someone to offer them to);
the rest fall where nobody does, which is what the coverage-gap matrix is for. Urgency and
incidents concentrate in the hotspot states. The same `rng` gives the same reports, which
keeps the seeded history idempotent.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from deploy.demo.data import (
    FIELD_UNITS,
    HOTSPOT_STATES,
    ITEMS_BY_SECTOR,
    NGOS,
    counties_of,
    point_in,
)
from shared.gazetteer import distance_km, gazetteer

URGENCIES = ("life_threatening", "urgent", "routine")
VULNERABILITIES = (
    "children_under_five",
    "pregnant_or_lactating",
    "older_persons",
    "persons_with_disabilities",
    "displaced",
    "female_headed_households",
)
INCIDENT_TYPES = (
    ("displacement", "internal"),
    ("attack_on_civilians", "internal"),
    ("explosive_hazard", "internal"),
    ("disease_outbreak", "internal"),
    ("access_denial", "internal"),
    ("looting_of_aid", "internal"),
    ("demonstration_unrest", "public"),
    ("sgbv", "restricted"),
    ("human_rights_violation", "restricted"),
)
SEVERITIES = ("low", "moderate", "high", "critical")


def _covered_pairs() -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for ngo in NGOS:
        if ngo.target_status != "vetted":
            continue
        for county in counties_of(ngo.areas):
            pairs.extend((sector, county) for sector in ngo.sectors)
    return sorted(set(pairs))


COVERED = _covered_pairs()
ALL_COUNTIES = [a.pcode for a in gazetteer().at_level(2)]


def nearest_unit(pcode: str) -> str:
    gaz = gazetteer()
    area = gaz.areas[pcode]
    return min(
        FIELD_UNITS,
        key=lambda unit: distance_km(
            area.lat, area.lon, gaz.areas[FIELD_UNITS[unit]].lat, gaz.areas[FIELD_UNITS[unit]].lon
        ),
    )


def _urgency(rng: random.Random, pcode: str) -> str:
    hot = gazetteer().admin1(pcode) in HOTSPOT_STATES
    weights = (0.25, 0.45, 0.30) if hot else (0.10, 0.40, 0.50)
    return rng.choices(URGENCIES, weights=weights)[0]


def aid_request(
    rng: random.Random, client_id: str, *, now: datetime, max_age_hours: float = 2.0
) -> tuple[str, dict[str, object]]:
    """(unit id, `POST /aid-requests` body) for one plausible need."""
    if rng.random() < 0.85:
        sector, pcode = rng.choice(COVERED)
    else:
        sector, pcode = rng.choice(sorted(ITEMS_BY_SECTOR)), rng.choice(ALL_COUNTIES)
    item, unit, low, high = rng.choice(ITEMS_BY_SECTOR[sector])
    quantity = rng.randint(low, high)
    people = rng.choice((40, 120, 300, 850, 2400, 6000))
    women = int(people * rng.uniform(0.2, 0.35))
    area_name = gazetteer().areas[pcode].name
    observed = now - timedelta(hours=rng.uniform(0.05, max_age_hours))
    body: dict[str, object] = {
        "client_id": client_id,
        "observed_at": observed.isoformat(),
        "sector": sector,
        "urgency": _urgency(rng, pcode),
        "title": f"{item.replace('_', ' ').capitalize()} needed near {area_name}",
        "description": f"{people} people affected; reported by a patrol from the nearest site.",
        "items": [{"item": item, "quantity": quantity, "unit": unit}],
        "affected_population": {"total": people, "women": women, "girls": people // 5},
        "vulnerability": rng.sample(VULNERABILITIES, k=rng.randint(0, 3)),
        "location": point_in(pcode, rng),
        "access_constraints": rng.choice(([], [], ["road flooded"], ["river crossing only"])),
        "security_constraints": rng.choice(([], [], ["armed group active nearby"])),
        "sensitivity": "restricted" if sector in ("gbv", "child_protection") else "internal",
    }
    return nearest_unit(pcode), body


def incident(
    rng: random.Random, client_id: str, *, now: datetime, max_age_hours: float = 2.0
) -> tuple[str, dict[str, object]]:
    """(unit id, `POST /incidents` body) for one incident report, mostly in hotspots."""
    if rng.random() < 0.7:
        state = rng.choice(HOTSPOT_STATES)
        pcode = rng.choice(counties_of([state]))
    else:
        pcode = rng.choice(ALL_COUNTIES)
    incident_type, sensitivity = rng.choice(INCIDENT_TYPES)
    severity = rng.choices(SEVERITIES, weights=(0.3, 0.35, 0.25, 0.1))[0]
    occurred = now - timedelta(hours=rng.uniform(0.1, max_age_hours))
    injured = rng.choice((0, 0, 1, 3, 8)) if severity in ("high", "critical") else 0
    return nearest_unit(pcode), {
        "client_id": client_id,
        "incident_type": incident_type,
        "severity": severity,
        "sensitivity": sensitivity,
        "casualties": {"killed": 0, "injured": injured, "missing": 0},
        "occurred_at": occurred.isoformat(),
        "observed_at": (occurred + timedelta(minutes=rng.randint(5, 90))).isoformat(),
        "location": point_in(pcode, rng),
        "description": f"{incident_type.replace('_', ' ').capitalize()} reported by patrol.",
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
