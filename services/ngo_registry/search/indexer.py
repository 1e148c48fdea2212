"""Turning an NGO into search cells: one per (sector, county) it can serve.

Worked out when the NGO changes, not when someone searches, so that a search is one index
lookup whatever the registry's size. A county is served when it lies in one of the NGO's
operating areas (distance 0), within the radius of one of its operating points, or within
`NEARBY_KM` of a county it serves (so "near Y" finds organisations next door, ranked lower).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from services.ngo_registry.db.models.registry import Ngo
from shared.events.schemas.ngo_registry import EligibilityGrant
from shared.gazetteer import Area, distance_km, gazetteer

NEARBY_KM = 150.0
COUNTY_LEVEL = 2


@dataclass(frozen=True)
class Reach:
    distance_km: float
    via: str


@cache
def counties() -> tuple[Area, ...]:
    return tuple(gazetteer().at_level(COUNTY_LEVEL))


def counties_in(pcode: str) -> list[str]:
    """The counties an area stands for: itself if a county, its counties otherwise."""
    g = gazetteer()
    return [c.pcode for c in counties() if g.covers(pcode, c.pcode)]


def reach_of(
    operating_areas: list[str], operating_points: list[dict[str, Any]]
) -> dict[str, Reach]:
    """For each county the NGO can serve, how far it is from the NGO's presence, and why."""
    g = gazetteer()
    reach: dict[str, Reach] = {}

    def offer(pcode: str, candidate: Reach) -> None:
        current = reach.get(pcode)
        if current is None or candidate.distance_km < current.distance_km:
            reach[pcode] = candidate

    for area_code in operating_areas:
        area = g.get(area_code)
        label = f"operates in {area_code} ({area.name})" if area else f"operates in {area_code}"
        for code in counties_in(area_code):
            offer(code, Reach(0.0, label))
    for point in operating_points:
        lat, lon, radius = float(point["lat"]), float(point["lon"]), float(point["radius_km"])
        for place in counties():
            km = distance_km(lat, lon, place.lat, place.lon)
            if km <= radius:
                offer(
                    place.pcode, Reach(0.0, f"within {radius:g} km of its base at {lat:g},{lon:g}")
                )
    served = dict(reach)
    distances = county_distances()
    for place in counties():
        if place.pcode in served:
            continue
        best: tuple[float, str] | None = None
        for pcode in served:
            km = distances[place.pcode, pcode]
            if km <= NEARBY_KM and (best is None or km < best[0]):
                best = (km, pcode)
        if best is not None:
            km, pcode = best
            reach[place.pcode] = Reach(
                round(km, 1), f"{km:.0f} km from {pcode} ({g.areas[pcode].name}) where it operates"
            )
    return reach


@cache
def county_distances() -> dict[tuple[str, str], float]:
    """Centroid-to-centroid distances between all counties (a few thousand pairs)."""
    return {
        (a.pcode, b.pcode): distance_km(a.lat, a.lon, b.lat, b.lon)
        for a in counties()
        for b in counties()
    }


def capacity_map(capacities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Resource → total quantity and unit (an NGO may list one resource in several lines)."""
    totals: dict[str, dict[str, Any]] = {}
    for line in capacities:
        entry = totals.setdefault(line["resource"], {"quantity": 0.0, "unit": line["unit"]})
        entry["quantity"] = float(entry["quantity"]) + float(line["quantity"])
    return totals


def cells_for(ngo: Ngo, grants: list[EligibilityGrant], vetted: bool) -> list[dict[str, Any]]:
    """The search rows of one NGO; none unless it is vetted (the search finds vetted NGOs)."""
    if not vetted:
        return []
    g = gazetteer()
    reach = reach_of(list(ngo.operating_areas), list(ngo.operating_points))
    capacities = capacity_map(list(ngo.capacities))
    sectors = sorted(set(ngo.sectors) | {grant.sector.value for grant in grants})
    rows: list[dict[str, Any]] = []
    for sector in sectors:
        sector_grants = [grant for grant in grants if grant.sector.value == sector]
        for county, where in reach.items():
            grant = next(
                (gr for gr in sector_grants if any(g.covers(p, county) for p in gr.pcodes)), None
            )
            rows.append(
                {
                    "sector": sector,
                    "pcode": county,
                    "ngo_id": ngo.id,
                    "name": ngo.name,
                    "distance_km": where.distance_km,
                    "via": where.via,
                    "eligible": grant is not None,
                    "agreement_id": grant.agreement_id if grant else None,
                    "capacities": capacities,
                }
            )
    return rows
