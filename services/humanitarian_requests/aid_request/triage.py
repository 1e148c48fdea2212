"""Triage: the priority score and near-duplicate detection.

The score is a sum of four explainable terms (0 to 100): urgency (life-threatening 60,
urgent 35, routine 10), affected population on a log scale (up to 15, reached at 10,000
people), sector criticality (life-saving 10, essential 6, other 3) and vulnerability factors
(3 each, up to 15). The weights make any life-threatening request outrank any routine one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.db.models.tables import AidRequest, Incident
from shared.events.schemas.humanitarian_requests import RequestStatus
from shared.gazetteer import distance_km
from shared.vocabulary import Sector, Urgency

PlacedT = TypeVar("PlacedT", AidRequest, Incident)

URGENCY_POINTS = {Urgency.life_threatening: 60.0, Urgency.urgent: 35.0, Urgency.routine: 10.0}
LIFE_SAVING_SECTORS = frozenset(
    {
        Sector.health,
        Sector.wash,
        Sector.food_security,
        Sector.nutrition,
        Sector.protection,
        Sector.gbv,
        Sector.child_protection,
    }
)
ESSENTIAL_SECTORS = frozenset({Sector.shelter_nfi, Sector.cccm, Sector.mine_action})


def priority_score(
    *, urgency: Urgency, affected_total: int, sector: Sector, vulnerability_count: int
) -> float:
    population = 15.0 * min(1.0, math.log10(affected_total + 1) / 4.0)
    if sector in LIFE_SAVING_SECTORS:
        sector_points = 10.0
    elif sector in ESSENTIAL_SECTORS:
        sector_points = 6.0
    else:
        sector_points = 3.0
    vulnerability = min(15.0, 3.0 * vulnerability_count)
    return round(URGENCY_POINTS[urgency] + population + sector_points + vulnerability, 2)


def _box(lat: float, radius_km: float) -> tuple[float, float]:
    """Degrees of latitude and longitude that contain `radius_km` around `lat`."""
    d_lat = radius_km / 111.0
    d_lon = radius_km / (111.0 * max(0.1, math.cos(math.radians(lat))))
    return d_lat, d_lon


async def find_request_duplicate(
    session: AsyncSession,
    row: AidRequest,
    *,
    radius_km: float,
    window: timedelta,
) -> AidRequest | None:
    """The earliest live request for the same sector within the distance and time window."""
    d_lat, d_lon = _box(row.lat, radius_km)
    candidates = (
        await session.scalars(
            select(AidRequest)
            .where(
                AidRequest.sector == row.sector,
                AidRequest.id != row.id,
                AidRequest.observed_at.between(row.observed_at - window, row.observed_at + window),
                # Live: a fulfilled request's need was met, so a report next to it is a new
                # need; linked into the finished cluster it would never be offered. And
                # triaged: requests are triaged in submission order, so one still waiting
                # will search for this one, not the other way round (never two clusters
                # each inside the other).
                AidRequest.status.not_in(
                    [
                        RequestStatus.submitted,
                        RequestStatus.cancelled,
                        RequestStatus.closed,
                        RequestStatus.fulfilled,
                    ]
                ),
                AidRequest.lat.between(row.lat - d_lat, row.lat + d_lat),
                AidRequest.lon.between(row.lon - d_lon, row.lon + d_lon),
            )
            .order_by(AidRequest.submitted_at, AidRequest.id)
            .limit(50)
        )
    ).all()
    return _nearest_first(row.lat, row.lon, candidates, radius_km)


async def find_incident_duplicate(
    session: AsyncSession, row: Incident, *, radius_km: float, window: timedelta
) -> Incident | None:
    d_lat, d_lon = _box(row.lat, radius_km)
    candidates = (
        await session.scalars(
            select(Incident)
            .where(
                Incident.incident_type == row.incident_type,
                Incident.id != row.id,
                Incident.occurred_at.between(row.occurred_at - window, row.occurred_at + window),
                Incident.lat.between(row.lat - d_lat, row.lat + d_lat),
                Incident.lon.between(row.lon - d_lon, row.lon + d_lon),
            )
            .order_by(Incident.reported_at, Incident.id)
            .limit(50)
        )
    ).all()
    return _nearest_first(row.lat, row.lon, candidates, radius_km)


def _nearest_first(
    lat: float, lon: float, candidates: Sequence[PlacedT], radius_km: float
) -> PlacedT | None:
    """The first (earliest) candidate within the radius."""
    for candidate in candidates:
        if distance_km(lat, lon, candidate.lat, candidate.lon) <= radius_km:
            return candidate
    return None
