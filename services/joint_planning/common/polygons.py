"""Operation areas drawn as polygons: GeoJSON-like, a list of rings of [lon, lat] positions.

The first ring is the outline, any further ring a hole. A ring is closed (its last position
repeats its first) and has at least three corners; a polygon has at most `MAX_VERTICES`
corners over all its rings; every position is a real longitude and latitude inside the
gazetteer's bounding box (the mission area). Anything else is a 422 naming the ring.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from shared.gazetteer import gazetteer

MAX_VERTICES = 200
MAX_POLYGONS = 20

Coordinate = Annotated[float, Field(allow_inf_nan=False)]
Position = tuple[Coordinate, Coordinate]  # [lon, lat], in GeoJSON order


def check_polygon(rings: list[list[Position]]) -> list[list[Position]]:
    if not rings:
        raise ValueError("a polygon has at least one ring (its outline)")
    bounds = gazetteer().bounds
    corners = 0
    for index, ring in enumerate(rings):
        name = "the outline" if index == 0 else f"hole {index}"
        if len(ring) < 4:
            raise ValueError(
                f"{name}: a ring has at least 4 positions (3 corners, then the first again)"
            )
        for lon, lat in ring:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"{name}: [{lon}, {lat}] is not a [longitude, latitude]")
            if not (
                bounds["min_lon"] <= lon <= bounds["max_lon"]
                and bounds["min_lat"] <= lat <= bounds["max_lat"]
            ):
                raise ValueError(
                    f"{name}: [{lon}, {lat}] is outside the mission area "
                    f"(lon {bounds['min_lon']}..{bounds['max_lon']}, "
                    f"lat {bounds['min_lat']}..{bounds['max_lat']})"
                )
        if ring[0] != ring[-1]:
            raise ValueError(f"{name} is not closed: its last position must repeat its first")
        if len(set(ring)) < 3:
            raise ValueError(f"{name} has fewer than 3 distinct corners")
        corners += len(ring) - 1
    if corners > MAX_VERTICES:
        raise ValueError(f"a polygon has at most {MAX_VERTICES} vertices ({corners} given)")
    return rings


MAX_RINGS = 50

PolygonIn = Annotated[
    # Schema bounds, loose enough that `check_polygon` gives the precise reason first.
    list[Annotated[list[Position], Field(max_length=2 * MAX_VERTICES)]],
    Field(max_length=MAX_RINGS),
    AfterValidator(check_polygon),
]
"""One polygon as the API takes it."""
