"""Compatibility search: vetted NGOs able to do sector X near P-code/point Y with capacity ≥ Z.

Reads only `search_cells`, keyed by (sector, county), so the cost is that of the candidates
in one county, not of the registry. The score, out of 100:

- 50 if an active agreement covers the sector there (the NGO is eligible to be tasked),
- up to 30 for proximity: 30 * (1 - distance/150 km), 30 when it operates in the county,
- up to 20 for capacity when a resource is asked for: 20 * min(quantity / requested, 2) / 2.

Every result carries these parts in words, so an officer can see why it ranks where it does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.ngo.errors import check_pcodes
from services.ngo_registry.search.indexer import NEARBY_KM, counties_in
from services.ngo_registry.search.schemas import (
    CapacityMatch,
    SearchResponse,
    SearchResult,
    SearchTarget,
)
from shared.errors import Unprocessable
from shared.gazetteer import distance_km, gazetteer
from shared.vocabulary import Sector

ELIGIBLE_POINTS = 50.0
PROXIMITY_POINTS = 30.0
CAPACITY_POINTS = 20.0

_SCORE = f"""
    (CASE WHEN eligible THEN {ELIGIBLE_POINTS} ELSE 0 END
     + {PROXIMITY_POINTS} * (1 - LEAST(distance_km, {NEARBY_KM}) / {NEARBY_KM})
     + CASE WHEN CAST(:resource AS text) IS NULL THEN 0 ELSE {CAPACITY_POINTS} * LEAST(
         COALESCE(CAST(capacities -> CAST(:resource AS text) ->> 'quantity' AS float), 0)
         / GREATEST(CAST(:min_quantity AS float), 1), 2) / 2 END)
"""
_FILTER = """
    sector = :sector AND pcode = ANY(:pcodes)
    AND (CAST(:resource AS text) IS NULL
         OR CAST(capacities -> CAST(:resource AS text) ->> 'quantity' AS float)
            >= CAST(:min_quantity AS float))
"""
_COLUMNS = """ngo_id, name, pcode, distance_km, via, eligible, agreement_id,
    capacities -> CAST(:resource AS text) AS capacity"""

# Built from constants only (no input in the text; values are bound parameters).
# One county: a top-N over that county's candidates, straight off the primary key.
SINGLE_COUNTY = text(
    f"SELECT {_COLUMNS}, {_SCORE} AS score FROM search_cells WHERE {_FILTER} "  # noqa: S608
    "ORDER BY score DESC, name, ngo_id LIMIT :limit"
)
# A state or the country: each NGO once, at its best county.
MANY_COUNTIES = text(
    f"SELECT * FROM (SELECT DISTINCT ON (ngo_id) {_COLUMNS}, {_SCORE} AS score "  # noqa: S608
    f"FROM search_cells WHERE {_FILTER} ORDER BY ngo_id, score DESC) best "
    "ORDER BY score DESC, name, ngo_id LIMIT :limit"
)


def resolve_target(pcode: str | None, lat: float | None, lon: float | None) -> SearchTarget:
    if (pcode is None) == (lat is None or lon is None):
        raise Unprocessable("Give either pcode, or both lat and lon", field="pcode")
    g = gazetteer()
    if pcode is not None:
        check_pcodes([pcode], "pcode")
        area = g.areas[pcode]
        return SearchTarget(
            pcode=pcode, name=area.name, counties=counties_in(pcode), resolved_from="pcode"
        )
    assert lat is not None and lon is not None
    county = g.nearest(lat, lon)
    return SearchTarget(
        pcode=county.pcode,
        name=county.name,
        counties=[county.pcode],
        resolved_from=(
            f"point {lat:g},{lon:g}: nearest county centroid, "
            f"{distance_km(lat, lon, county.lat, county.lon):.0f} km away"
        ),
    )


def _explain(row: Any, resource: str | None, min_quantity: float | None) -> list[str]:
    parts: list[str] = []
    if row.eligible:
        parts.append(
            f"+{ELIGIBLE_POINTS:g}: active agreement {row.agreement_id} covers this sector here"
        )
    else:
        parts.append("+0: vetted, but no active agreement covers this sector here yet")
    proximity = PROXIMITY_POINTS * (1 - min(row.distance_km, NEARBY_KM) / NEARBY_KM)
    parts.append(f"+{proximity:.1f}: {row.via} ({row.distance_km:g} km from {row.pcode})")
    if resource is not None:
        quantity = float(row.capacity["quantity"]) if row.capacity else 0.0
        wanted = max(min_quantity or 0.0, 1.0)
        points = CAPACITY_POINTS * min(quantity / wanted, 2) / 2
        parts.append(
            f"+{points:.1f}: has {quantity:g} {row.capacity['unit'] if row.capacity else ''} "
            f"of {resource} against {min_quantity or 0:g} asked".replace("  ", " ")
        )
    return parts


async def search(
    session: AsyncSession,
    *,
    sector: Sector,
    pcode: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    resource: str | None = None,
    min_quantity: float | None = None,
    limit: int = 20,
) -> SearchResponse:
    if min_quantity is not None and resource is None:
        raise Unprocessable("min_quantity needs a resource", field="min_quantity")
    target = resolve_target(pcode, lat, lon)
    query = SINGLE_COUNTY if len(target.counties) == 1 else MANY_COUNTIES
    rows = (
        await session.execute(
            query,
            {
                "sector": sector.value,
                "pcodes": target.counties,
                "resource": resource,
                "min_quantity": min_quantity if min_quantity is not None else 0.0,
                "limit": limit,
            },
        )
    ).all()
    results = [
        SearchResult(
            rank=rank,
            ngo_id=row.ngo_id,
            name=row.name,
            score=round(float(row.score), 2),
            eligible=row.eligible,
            agreement_id=row.agreement_id,
            county=row.pcode,
            distance_km=row.distance_km,
            capacity=CapacityMatch(resource=resource, **row.capacity)
            if resource is not None and row.capacity
            else None,
            explanation=_explain(row, resource, min_quantity),
        )
        for rank, row in enumerate(rows, start=1)
    ]
    return SearchResponse(
        sector=sector,
        target=target,
        resource=resource,
        min_quantity=min_quantity,
        results=results,
    )
