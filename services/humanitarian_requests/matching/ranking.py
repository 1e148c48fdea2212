"""Ranking eligible NGOs for an aid request, explainably.

Eligibility is a gate, not a score: the NGO must be vetted and hold a current grant for the
request's sector covering its P-code (the registry computes grants from active agreements).
Among the eligible, the score (0 to 100) is a weighted sum of six factors, each stored with
the offer so the ops centre can see why an NGO was picked:

| factor         | weight | value (0 to 1)                                                   |
|----------------|--------|------------------------------------------------------------------|
| sector_fit     | 20     | 1 if the sector is among the NGO's declared sectors, else 0.5    |
| area_coverage  | 15     | 1 county-level grant, 0.7 state-level, 0.4 country-wide          |
| distance       | 20     | 1 at the NGO's nearest operating point/area, 0 at 500 km or more |
| spare_capacity | 15     | declared capacities not yet tied up by open assignments          |
| open_load      | 15     | 1 / (1 + assignments accepted or in progress)                    |
| track_record   | 15     | past acceptance rate and answering before half the deadline      |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from services.humanitarian_requests.db.models.tables import AidRequest, NgoReplica
from shared.events.schemas.humanitarian_requests import RankingFactor
from shared.events.schemas.ngo_registry import VettingStatus
from shared.gazetteer import distance_km, gazetteer
from shared.vocabulary import Sensitivity

WEIGHTS = {
    "sector_fit": 20.0,
    "area_coverage": 15.0,
    "distance": 20.0,
    "spare_capacity": 15.0,
    "open_load": 15.0,
    "track_record": 15.0,
}
MAX_DISTANCE_KM = 500.0
ASSIGNMENTS_PER_CAPACITY = 5  # how many concurrent assignments one declared capacity carries


@dataclass(frozen=True)
class TrackRecord:
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    timely: int = 0  # answered before half the response window


@dataclass
class Candidate:
    ngo_id: uuid.UUID
    name: str
    score: float
    factors: list[RankingFactor] = field(default_factory=list)


def covering_grant_level(ngo: NgoReplica, sector: str, pcode: str, today: date) -> int | None:
    """The level of the most specific current grant covering (sector, pcode), or None."""
    gaz = gazetteer()
    best: int | None = None
    for grant in ngo.eligibility:
        if grant["sector"] != sector or date.fromisoformat(grant["valid_until"]) < today:
            continue
        for area in grant["pcodes"]:
            if area in gaz and gaz.covers(area, pcode):
                level = gaz.areas[area].level
                best = level if best is None else max(best, level)
    return best


def is_eligible(ngo: NgoReplica, sector: str, pcode: str, today: date) -> bool:
    return (
        ngo.eligible
        and ngo.vetting_status == VettingStatus.vetted
        and covering_grant_level(ngo, sector, pcode, today) is not None
    )


def rank(
    request: AidRequest,
    ngos: list[NgoReplica],
    *,
    open_load: dict[uuid.UUID, int],
    records: dict[uuid.UUID, TrackRecord],
    today: date,
) -> list[Candidate]:
    """Eligible NGOs, best first (ties broken by id so the order is stable)."""
    ranked = []
    for ngo in ngos:
        level = covering_grant_level(ngo, request.sector, request.pcode, today)
        if not ngo.eligible or ngo.vetting_status != VettingStatus.vetted or level is None:
            continue
        factors = _factors(request, ngo, level, open_load.get(ngo.ngo_id, 0), records)
        score = round(sum(f.value * f.weight for f in factors), 2)
        ranked.append(Candidate(ngo.ngo_id, ngo.name, score, factors))
    ranked.sort(key=lambda c: (-c.score, str(c.ngo_id)))
    return ranked


def _factors(
    request: AidRequest,
    ngo: NgoReplica,
    level: int,
    load: int,
    records: dict[uuid.UUID, TrackRecord],
) -> list[RankingFactor]:
    declared = request.sector in ngo.sectors
    # The factors go to the NGO with the offer (API and NGO-readable topic). Of a restricted
    # request an NGO may learn only the state: measure from the state's centre, and do not let
    # the grant level (county or state) tell which county it is in.
    restricted = request.sensitivity == Sensitivity.restricted
    if restricted:
        gaz = gazetteer()
        state = gaz.areas[gaz.admin1(request.pcode) or request.pcode]
        distance = _distance_to(ngo, state.lat, state.lon, state.pcode)
    else:
        distance = _distance_to(ngo, request.lat, request.lon, request.pcode)
    capacity_slots = max(1, len(ngo.capacities)) * ASSIGNMENTS_PER_CAPACITY
    record = records.get(ngo.ngo_id, TrackRecord())
    answered = record.accepted + record.declined + record.expired
    if answered:
        track = 0.7 * record.accepted / answered + 0.3 * record.timely / answered
        track_note = f"{record.accepted}/{answered} accepted, {record.timely} answered promptly"
    else:
        track, track_note = 0.5, "no offers yet: neutral"

    def factor(name: str, value: float, note: str) -> RankingFactor:
        return RankingFactor(factor=name, value=round(value, 3), weight=WEIGHTS[name], note=note)

    return [
        factor(
            "sector_fit",
            1.0 if declared else 0.5,
            "declared sector" if declared else "granted only",
        ),
        factor("area_coverage", 0.7, "withheld: restricted request")
        if restricted
        else factor(
            "area_coverage",
            {2: 1.0, 1: 0.7}.get(level, 0.4),
            f"grant at admin level {level}",
        ),
        factor(
            "distance",
            0.0 if distance is None else max(0.0, 1.0 - distance / MAX_DISTANCE_KM),
            "no operating point or area"
            if distance is None
            else f"{distance:.0f} km from the state's centre (restricted request)"
            if restricted
            else f"{distance:.0f} km",
        ),
        factor(
            "spare_capacity",
            max(0.0, 1.0 - load / capacity_slots),
            f"{len(ngo.capacities)} declared capacities, {load} open assignments",
        ),
        factor("open_load", 1.0 / (1 + load), f"{load} open assignments"),
        factor("track_record", track, track_note),
    ]


def _distance_to(ngo: NgoReplica, lat: float, lon: float, pcode: str) -> float | None:
    """From the request to the NGO's nearest operating point (edge of its radius) or area;
    zero when one of its operating areas contains the request."""
    gaz = gazetteer()
    if any(a in gaz and gaz.covers(a, pcode) for a in ngo.operating_areas):
        return 0.0
    distances = [
        max(0.0, distance_km(lat, lon, p["lat"], p["lon"]) - p["radius_km"])
        for p in ngo.operating_points
    ]
    distances += [
        distance_km(lat, lon, gaz.areas[a].lat, gaz.areas[a].lon)
        for a in ngo.operating_areas
        if a in gaz
    ]
    return min(distances) if distances else None
