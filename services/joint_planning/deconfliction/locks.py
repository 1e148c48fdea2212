"""Advisory locks that keep a check and a re-check from missing each other.

The race they close: an NGO submits a movement while, in another transaction, the ops centre
plans an operation in the same county. The submission's check reads the operations committed
so far (not the new one); the operation's re-check reads the notifications committed so far
(not the new one). Both commit, and nobody flagged the conflict.

So every writer takes transaction-scoped advisory locks on the places it touches before it
reads: a notification takes *shared* locks on its counties and on the coarse (1°) cells of its
corridor; an operation change takes *exclusive* locks on its counties and on the coarse cells
its polygons reach; an incident an exclusive lock on its coarse cell. Notifications never
wait for each other; an operation or an incident waits for the notifications in flight
there to commit (and they for it), so whichever commits second sees the first. Keys are
taken in sorted order, which rules out deadlocks between two such writers. The locks end
with the transaction.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.deconfliction.geometry import Point, samples

COUNTY = zlib.crc32(b"joint_planning.county") & 0x7FFFFFFF
REGION = zlib.crc32(b"joint_planning.region") & 0x7FFFFFFF


_ORDERED_KEYS = "FROM (SELECT k FROM unnest(CAST(:keys AS integer[])) AS k ORDER BY k) AS ordered"
_SHARED = text("SELECT pg_advisory_xact_lock_shared(:space, k) " + _ORDERED_KEYS)
_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:space, k) " + _ORDERED_KEYS)


def _county_key(pcode: str) -> int:
    return zlib.crc32(pcode.encode()) & 0x7FFFFFFF


def region_of(point: Point) -> int:
    return (math.floor(point.lat) + 90) * 1000 + math.floor(point.lon) + 180


def regions_near(route: Iterable[Point], radius_km: float) -> set[int]:
    """The 1° regions any point within `radius_km` of the route lies in."""
    margin = (radius_km + 10.0) / 105.0  # the radius, the sample spacing, and some
    found: set[int] = set()
    for point in samples(list(route), 10.0):
        for d_lat in (-margin, 0.0, margin):
            for d_lon in (-margin, 0.0, margin):
                found.add(region_of(Point(point.lat + d_lat, point.lon + d_lon)))
    return found


async def _take(session: AsyncSession, space: int, keys: Iterable[int], *, shared: bool) -> None:
    """Take the locks in one round trip; the sorted subquery fixes the order they are taken in."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    statement = _SHARED if shared else _EXCLUSIVE
    await session.execute(statement, {"space": space, "keys": ordered})


async def for_notification(
    session: AsyncSession, counties: Iterable[str], route: Iterable[Point], radius_km: float
) -> None:
    await _take(session, COUNTY, (_county_key(c) for c in counties), shared=True)
    await _take(session, REGION, regions_near(route, radius_km), shared=True)


async def for_operation(
    session: AsyncSession, counties: Iterable[str], regions: Iterable[int] = ()
) -> None:
    """Counties of its P-code areas, then the regions its polygons' cells lie in."""
    await _take(session, COUNTY, (_county_key(c) for c in counties), shared=False)
    await _take(session, REGION, regions, shared=False)


async def for_incident(session: AsyncSession, point: Point) -> None:
    await _take(session, REGION, [region_of(point)], shared=False)
