"""Routes, grid cells and distances: the geometry deconfliction needs, without PostGIS.

Why a grid: "incidents near this route" and "notifications near this incident" must be index
lookups, not scans over every row. The mission area is cut into cells of 0.1° (about 11 km).
A notification stores the cells of its corridor — every cell within the incident radius of
its route or site — so an incident finds the notifications it may touch by its own single
cell, and a notification finds the incidents that may touch it by its corridor cells. The
exact distance is then computed only for those few candidates.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.gazetteer import gazetteer

CELL_DEGREES = 0.1
KM_PER_DEGREE_LAT = 110.57
KM_PER_DEGREE_LON_AT_EQUATOR = 111.32
SAMPLE_KM = 5.0  # step along a route when tracing its corridor and the counties it crosses


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


def cell_of(lat: float, lon: float) -> int:
    row = math.floor(lat / CELL_DEGREES) + 900
    column = math.floor(lon / CELL_DEGREES) + 1800
    return row * 4000 + column


def _km_per_degree_lon(lat: float) -> float:
    return max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat)), 1e-6)


def samples(route: Sequence[Point], step_km: float = SAMPLE_KM) -> list[Point]:
    """Points along the route no further than `step_km` apart, waypoints included."""
    if len(route) == 1:
        return [route[0]]
    points: list[Point] = [route[0]]
    for start, end in itertools.pairwise(route):
        length = _flat_km(start, end)
        steps = max(1, math.ceil(length / step_km))
        for i in range(1, steps + 1):
            t = i / steps
            points.append(
                Point(start.lat + (end.lat - start.lat) * t, start.lon + (end.lon - start.lon) * t)
            )
    return points


def corridor_cells(route: Sequence[Point], radius_km: float) -> set[int]:
    """Every cell with a point within `radius_km` of the route (a little more at corners)."""
    cells: set[int] = set()
    for point in samples(route, min(SAMPLE_KM, radius_km)):
        d_lat = radius_km / KM_PER_DEGREE_LAT
        d_lon = radius_km / _km_per_degree_lon(point.lat)
        row_low = math.floor((point.lat - d_lat) / CELL_DEGREES)
        row_high = math.floor((point.lat + d_lat) / CELL_DEGREES)
        col_low = math.floor((point.lon - d_lon) / CELL_DEGREES)
        col_high = math.floor((point.lon + d_lon) / CELL_DEGREES)
        for row in range(row_low, row_high + 1):
            for column in range(col_low, col_high + 1):
                cells.add((row + 900) * 4000 + column + 1800)
    return cells


def counties_along(route: Sequence[Point]) -> list[str]:
    """The counties (admin2 P-codes) the route passes through, in travel order."""
    gaz = gazetteer()
    seen: dict[str, None] = {}
    for point in samples(route, 2 * SAMPLE_KM):
        seen.setdefault(gaz.nearest(point.lat, point.lon).pcode, None)
    return list(seen)


def _flat_km(a: Point, b: Point) -> float:
    """Distance on a local flat projection; accurate to well under 1% at these scales."""
    mid = (a.lat + b.lat) / 2
    dx = (b.lon - a.lon) * _km_per_degree_lon(mid)
    dy = (b.lat - a.lat) * KM_PER_DEGREE_LAT
    return math.hypot(dx, dy)


def distance_to_route_km(point: Point, route: Sequence[Point]) -> float:
    """Shortest distance from `point` to the route (a polyline, or a single site)."""
    if len(route) == 1:
        return _flat_km(point, route[0])
    kx = _km_per_degree_lon(point.lat)
    best = math.inf
    for start, end in itertools.pairwise(route):
        ax, ay = (start.lon - point.lon) * kx, (start.lat - point.lat) * KM_PER_DEGREE_LAT
        bx, by = (end.lon - point.lon) * kx, (end.lat - point.lat) * KM_PER_DEGREE_LAT
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def nearest_county(point: Point, among: Sequence[str] | None = None) -> str:
    """The county nearest the point (optionally among some counties only)."""
    gaz = gazetteer()
    candidates = [gaz.areas[p] for p in among if p in gaz.areas] if among else []
    if not candidates:
        return gaz.nearest(point.lat, point.lon).pcode
    return min(candidates, key=lambda a: _flat_km(point, Point(a.lat, a.lon))).pcode
