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


# ---- grid cells of routes and polygons (positions of polygons are [lon, lat]) ----

Polygon = list[list[list[float]]]


def _cell_id(row: int, column: int) -> int:
    return (row + 900) * 4000 + column + 1800


def cell_centre(cell: int) -> Point:
    row, column = divmod(cell, 4000)
    return Point((row - 900 + 0.5) * CELL_DEGREES, (column - 1800 + 0.5) * CELL_DEGREES)


def _segment_cells(x0: float, y0: float, x1: float, y1: float, into: set[tuple[int, int]]) -> None:
    """Every cell (row, column) the segment touches, in cell units (x = lon/0.1, y = lat/0.1):
    column by column, the rows between the segment's heights at that column's two sides."""
    if x0 > x1:
        x0, y0, x1, y1 = x1, y1, x0, y0
    for column in range(math.floor(x0), math.floor(x1) + 1):
        xa, xb = max(x0, column), min(x1, column + 1)
        if x1 == x0:
            ya, yb = y0, y1
        else:
            ya = y0 + (y1 - y0) * (xa - x0) / (x1 - x0)
            yb = y0 + (y1 - y0) * (xb - x0) / (x1 - x0)
        for row in range(math.floor(min(ya, yb)), math.floor(max(ya, yb)) + 1):
            into.add((row, column))


def route_cells(route: Sequence[Point]) -> set[int]:
    """The cells the route itself passes through (a site: its own cell)."""
    found: set[tuple[int, int]] = set()
    if len(route) == 1:
        return {cell_of(route[0].lat, route[0].lon)}
    for start, end in itertools.pairwise(route):
        _segment_cells(
            start.lon / CELL_DEGREES,
            start.lat / CELL_DEGREES,
            end.lon / CELL_DEGREES,
            end.lat / CELL_DEGREES,
            found,
        )
    return {_cell_id(row, column) for row, column in found}


def polygon_cells(polygons: Sequence[Polygon]) -> set[int]:
    """Every cell a polygon intersects: the cells its rings pass through, and the cells whose
    centre lies inside it (even-odd rule, so holes stay out), found row by row from where
    the rings cross the row's middle line. The cost grows with rows x edges, not with area."""
    found: set[tuple[int, int]] = set()
    for rings in polygons:
        edges = [
            (a[0] / CELL_DEGREES, a[1] / CELL_DEGREES, b[0] / CELL_DEGREES, b[1] / CELL_DEGREES)
            for ring in rings
            for a, b in itertools.pairwise(ring)
        ]
        for x0, y0, x1, y1 in edges:
            _segment_cells(x0, y0, x1, y1, found)
        low = math.floor(min(min(e[1], e[3]) for e in edges))
        high = math.floor(max(max(e[1], e[3]) for e in edges))
        for row in range(low, high + 1):
            middle = row + 0.5
            crossings = sorted(
                x0 + (middle - y0) * (x1 - x0) / (y1 - y0)
                for x0, y0, x1, y1 in edges
                if (y0 <= middle < y1) or (y1 <= middle < y0)
            )
            for left, right in zip(crossings[::2], crossings[1::2], strict=False):
                for column in range(math.ceil(left - 0.5), math.floor(right - 0.5) + 1):
                    found.add((row, column))
    return {_cell_id(row, column) for row, column in found}


def polygon_counties(polygons: Sequence[Polygon]) -> list[str]:
    """The counties a polygon reaches: the nearest county of each of its cells' centres."""
    gaz = gazetteer()
    counties = {
        gaz.nearest(centre.lat, centre.lon).pcode
        for centre in (cell_centre(c) for c in polygon_cells(polygons))
    }
    return sorted(counties)
