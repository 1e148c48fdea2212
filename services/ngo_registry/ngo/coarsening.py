"""NGO bases as NGO-readable payloads carry them: a 0.1° grid cell, never the exact point.

An NGO's operating points are where its staff, stores and vehicles are. Mission staff see
them exactly (the staff views, the compatibility search); the NGO topic, the public
directory and anything else NGO-readable carry the centre of the 0.1° cell (about 11 km)
the point lies in, with the radius widened by the farthest the exact point can be from that
centre. The coarse circle therefore contains the exact one, so a consumer that asks "does
this NGO reach here?" (the requests service's matching replica ranks by the distance to the
edge of the circle) never finds an NGO out of reach that is in reach; it may find one a
little nearer than it is. The widening depends on the cell only, never on where in the cell
the point is, so the radius does not give the point away either.
"""

from __future__ import annotations

import math

from shared.events.schemas.ngo_registry import OperatingPoint
from shared.gazetteer import distance_km

GRID_DEGREES = 0.1
"""The size of a cell, in degrees of latitude and longitude."""

_CELLS_LAT = round(180 / GRID_DEGREES)
_CELLS_LON = round(360 / GRID_DEGREES)


def _cell(value: float, low: float, cells: int) -> int:
    return min(max(math.floor((value - low) / GRID_DEGREES), 0), cells - 1)


def _round_up(value: float, places: int = 1) -> float:
    factor = float(10**places)
    return math.ceil(value * factor) / factor


def coarse_point(point: OperatingPoint) -> OperatingPoint:
    """The centre of the point's grid cell, and a radius that covers the exact circle."""
    row = _cell(point.lat, -90.0, _CELLS_LAT)
    column = _cell(point.lon, -180.0, _CELLS_LON)
    south, west = -90.0 + row * GRID_DEGREES, -180.0 + column * GRID_DEGREES
    north, east = south + GRID_DEGREES, west + GRID_DEGREES
    lat, lon = round(south + GRID_DEGREES / 2, 2), round(west + GRID_DEGREES / 2, 2)
    # The farthest any point of the cell is from its centre: one of the corners (the
    # equator-side ones are the farther on a sphere), plus a margin for rounding.
    reach = max(
        distance_km(lat, lon, c_lat, c_lon) for c_lat in (south, north) for c_lon in (west, east)
    )
    return OperatingPoint(lat=lat, lon=lon, radius_km=_round_up(point.radius_km + reach + 0.05))


def coarse_points(points: list[OperatingPoint]) -> list[OperatingPoint]:
    """Every point coarsened; two bases in one cell become one entry with the wider radius."""
    by_cell: dict[tuple[float, float], OperatingPoint] = {}
    for point in points:
        coarse = coarse_point(point)
        held = by_cell.get((coarse.lat, coarse.lon))
        if held is None or held.radius_km < coarse.radius_km:
            by_cell[(coarse.lat, coarse.lon)] = coarse
    return list(by_cell.values())
