"""Placing a reported point in the gazetteer, and refusing what is not in the mission area."""

from __future__ import annotations

from pydantic import Field

from services.humanitarian_requests.common.errors import LocationOutOfBounds, UnknownPcode
from shared.events.schemas.humanitarian_requests import Location
from shared.gazetteer import gazetteer
from shared.inputs import StrictInput


class LocationIn(StrictInput):
    """A point, and optionally the P-code the unit believes it is in (else the nearest county)."""

    lat: float = Field(ge=-90, le=90, description="WGS84 latitude")
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude")
    pcode: str | None = Field(
        None, max_length=20, description="OCHA P-code of the area (county or state)"
    )


def resolve_location(location: LocationIn) -> Location:
    """The point with its P-code and admin1; 422 naming what is allowed otherwise."""
    gaz = gazetteer()
    bounds = gaz.bounds
    inside = (
        bounds["min_lat"] <= location.lat <= bounds["max_lat"]
        and bounds["min_lon"] <= location.lon <= bounds["max_lon"]
    )
    if not inside:
        raise LocationOutOfBounds(
            f"({location.lat}, {location.lon}) is outside the mission area",
            allowed_bounds=bounds,
        )
    if location.pcode is None:
        pcode = gaz.nearest(location.lat, location.lon).pcode
    elif location.pcode not in gaz or gaz.areas[location.pcode].level == 0:
        allowed = sorted(a.pcode for a in gaz.areas.values() if a.level > 0)
        raise UnknownPcode(f"Unknown P-code {location.pcode!r}", allowed=allowed)
    else:
        pcode = location.pcode
    return Location(lat=location.lat, lon=location.lon, pcode=pcode, admin1=gaz.admin1(pcode))


def coarse_pcode(pcode: str, *, restricted: bool) -> str:
    """The area an NGO may see: the county, or only the state for a restricted request."""
    if restricted:
        return gazetteer().admin1(pcode) or pcode
    return pcode
