"""The derived minimum of NGOs, agreements, operations and notifications, and the coarsening
of NGO bases for NGO-readable payloads (pure functions, no services)."""

from __future__ import annotations

import random

import pytest

from services.ngo_registry.ngo.coarsening import GRID_DEGREES, coarse_point, coarse_points
from shared.classification import (
    agreement_floor,
    classify,
    ngo_floor,
    notification_floor,
    operation_floor,
)
from shared.events.schemas.ngo_registry import OperatingPoint
from shared.gazetteer import distance_km
from shared.vocabulary import Sector, Sensitivity

PUBLIC, INTERNAL, RESTRICTED = Sensitivity.public, Sensitivity.internal, Sensitivity.restricted


def test_fixed_floors_per_kind() -> None:
    assert ngo_floor().sensitivity is PUBLIC
    assert agreement_floor().sensitivity is INTERNAL
    assert notification_floor().sensitivity is INTERNAL
    assert all(f.reasons for f in (ngo_floor(), agreement_floor(), notification_floor()))


def test_an_agreement_or_notification_asked_public_is_raised_to_internal() -> None:
    for floor in (agreement_floor(), notification_floor()):
        assert classify(PUBLIC, floor).sensitivity is INTERNAL
        assert classify(PUBLIC, floor).raised_from is PUBLIC
        assert classify(INTERNAL, floor).raised_from is None
    assert classify(INTERNAL, ngo_floor()).sensitivity is INTERNAL


@pytest.mark.parametrize("sector", [Sector.protection, Sector.gbv, Sector.child_protection])
def test_an_operation_in_a_protection_sector_is_restricted(sector: Sector) -> None:
    floor = operation_floor([Sector.wash, sector])
    assert floor.sensitivity is RESTRICTED
    assert floor.reasons == (f"sector:{sector}",)


def test_an_operation_linked_to_a_restricted_incident_or_with_a_marker_is_restricted() -> None:
    floor = operation_floor([Sector.health], restricted_incident_ids=["i-1", "i-1"])
    assert floor.reasons == ("restricted_incident:i-1",)
    floor = operation_floor([Sector.health], texts=["Escort survivors to the clinic"])
    assert floor == operation_floor([], texts=["survivors"])
    assert floor.sensitivity is RESTRICTED and floor.reasons == ("text:survivors",)


def test_any_other_operation_is_internal_and_cannot_be_lowered() -> None:
    floor = operation_floor([Sector.food_security, Sector.logistics], texts=["Food convoy"])
    assert floor.sensitivity is INTERNAL and floor.reasons == ("kind:operation",)
    asked_public = classify(PUBLIC, floor)
    assert asked_public.sensitivity is INTERNAL and asked_public.raised_from is PUBLIC
    restricted = classify(PUBLIC, operation_floor([Sector.gbv]))
    assert restricted.sensitivity is RESTRICTED and restricted.raised_from is PUBLIC


def test_a_coarse_point_is_a_cell_centre_that_gives_the_exact_point_away() -> None:
    exact = OperatingPoint(lat=4.851234, lon=31.582345, radius_km=25)
    coarse = coarse_point(exact)
    assert (coarse.lat, coarse.lon) == (4.85, 31.55)
    # Anywhere else in the same cell gives exactly the same answer: nothing of the point.
    assert coarse_point(OperatingPoint(lat=4.80001, lon=31.59999, radius_km=25)) == coarse


def test_the_coarse_circle_contains_the_exact_one() -> None:
    rng = random.Random(13)
    for _ in range(2000):
        exact = OperatingPoint(
            lat=rng.uniform(-60, 60), lon=rng.uniform(-179, 179), radius_km=rng.uniform(0.1, 300)
        )
        coarse = coarse_point(exact)
        assert abs(coarse.lat - exact.lat) <= GRID_DEGREES / 2 + 1e-9
        assert abs(coarse.lon - exact.lon) <= GRID_DEGREES / 2 + 1e-9
        gap = distance_km(exact.lat, exact.lon, coarse.lat, coarse.lon)
        # Every place within the exact circle is within the coarse one (triangle inequality).
        assert coarse.radius_km >= exact.radius_km + gap
        # And the widening is no more than the cell's half-diagonal (plus the rounding).
        assert coarse.radius_km - exact.radius_km <= 8.1


def test_two_bases_in_one_cell_become_one_with_the_wider_radius() -> None:
    points = [
        OperatingPoint(lat=4.8512, lon=31.5823, radius_km=10),
        OperatingPoint(lat=4.8598, lon=31.5511, radius_km=40),
        OperatingPoint(lat=9.5334, lon=31.6605, radius_km=5),
    ]
    coarse = coarse_points(points)
    assert len(coarse) == 2
    assert coarse[0] == coarse_point(points[1])


def edge_distance(point: OperatingPoint, lat: float, lon: float) -> float:
    """How the requests service's matching replica ranks an NGO by a base (`ranking.py`):
    the distance from the request to the edge of the base's circle, zero inside it."""
    return max(0.0, distance_km(lat, lon, point.lat, point.lon) - point.radius_km)


def test_matching_by_distance_never_finds_a_coarsened_ngo_farther_away() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        exact = OperatingPoint(
            lat=rng.uniform(3.5, 12.2), lon=rng.uniform(24.1, 35.9), radius_km=rng.uniform(1, 80)
        )
        coarse = coarse_point(exact)
        lat, lon = exact.lat + rng.uniform(-2, 2), exact.lon + rng.uniform(-2, 2)
        exact_distance, coarse_distance = (
            edge_distance(exact, lat, lon),
            edge_distance(coarse, lat, lon),
        )
        assert coarse_distance <= exact_distance + 1e-9
        # ... and at most two half-diagonals nearer (the price of not knowing the point).
        assert coarse_distance >= exact_distance - 16.2
