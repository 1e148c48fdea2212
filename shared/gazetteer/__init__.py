"""The bundled gazetteer: administrative areas with OCHA-style P-codes and centroids.

One list, used everywhere a P-code is validated, a point is placed in an area, or a map is
drawn. The demo mission's areas are in `south_sudan.json` (country `SS`, states `SSnn`,
counties `SSnnnn`). Points are matched to the county whose centroid is nearest, which is what
an offline field office can do without boundary polygons.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Area:
    pcode: str
    name: str
    level: int  # 0 country, 1 state (admin1), 2 county (admin2)
    parent: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Gazetteer:
    mission: str
    areas: dict[str, Area]
    bounds: dict[str, float]

    def get(self, pcode: str) -> Area | None:
        return self.areas.get(pcode)

    def __contains__(self, pcode: object) -> bool:
        return pcode in self.areas

    def unknown(self, pcodes: list[str]) -> list[str]:
        """The P-codes of `pcodes` that are not in the gazetteer."""
        return [p for p in pcodes if p not in self.areas]

    def at_level(self, level: int) -> list[Area]:
        return [a for a in self.areas.values() if a.level == level]

    def admin1(self, pcode: str) -> str | None:
        """The state (admin1) containing an area, or the area itself if it is a state."""
        area = self.areas.get(pcode)
        while area is not None and area.level > 1:
            area = self.areas.get(area.parent or "")
        return area.pcode if area is not None and area.level == 1 else None

    def ancestors(self, pcode: str) -> list[str]:
        """The area itself and every area above it, nearest first."""
        chain: list[str] = []
        area = self.areas.get(pcode)
        while area is not None:
            chain.append(area.pcode)
            area = self.areas.get(area.parent or "")
        return chain

    def covers(self, container: str, pcode: str) -> bool:
        """True when `pcode` is `container` or lies inside it."""
        return container in self.ancestors(pcode)

    def centre_of(self, pcode: str, lat: float, lon: float) -> tuple[float, float]:
        """The centroid of `pcode`'s area, to stand for a point inside it that may no longer
        be kept (retention): it says no more than the P-code. A P-code the gazetteer does not
        know gives the point rounded to 0.1° (about 11 km)."""
        area = self.areas.get(pcode)
        if area is None:
            return round(lat, 1), round(lon, 1)
        return area.lat, area.lon

    def nearest(self, lat: float, lon: float, *, level: int = 2) -> Area:
        return min(self.at_level(level), key=lambda a: distance_km(lat, lon, a.lat, a.lon))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@cache
def gazetteer() -> Gazetteer:
    """The demo mission's gazetteer, loaded once."""
    raw = json.loads(resources.files(__package__).joinpath("south_sudan.json").read_text())
    areas = {a["pcode"]: Area(**a) for a in raw["areas"]}
    return Gazetteer(mission=raw["mission"], areas=areas, bounds=raw["bounds"])
