"""The derived minimum sensitivity and the raise-only rule (pure functions, no services)."""

from __future__ import annotations

import pytest

from shared.classification import (
    Floor,
    aid_request_floor,
    classify,
    incident_floor,
    text_markers,
)
from shared.events.schemas.humanitarian_requests import (
    PROTECTION_INCIDENT_TYPES,
    IncidentType,
    VulnerabilityFactor,
)
from shared.vocabulary import Sector, Sensitivity

RESTRICTED = Sensitivity.restricted


@pytest.mark.parametrize("sector", [Sector.protection, Sector.gbv, Sector.child_protection])
def test_protection_sectors_are_restricted(sector: Sector) -> None:
    floor = aid_request_floor(sector)
    assert floor.sensitivity is RESTRICTED
    assert floor.reasons == (f"sector:{sector}",)


@pytest.mark.parametrize(
    "sector",
    [s for s in Sector if s not in (Sector.protection, Sector.gbv, Sector.child_protection)],
)
def test_other_sectors_have_no_floor(sector: Sector) -> None:
    assert aid_request_floor(sector, texts=["Sorghum for 300 households"]) == Floor(
        Sensitivity.public, ()
    )


def test_reporter_flags_and_vulnerability_restrict_any_sector() -> None:
    assert aid_request_floor(Sector.food_security, names_survivor=True).reasons == (
        "names_survivor",
    )
    assert aid_request_floor(Sector.health, involves_child=True).reasons == ("involves_child",)
    floor = aid_request_floor(
        Sector.shelter_nfi, vulnerability=[VulnerabilityFactor.unaccompanied_children]
    )
    assert floor.sensitivity is RESTRICTED
    assert floor.reasons == ("vulnerability:unaccompanied_children",)
    counted = aid_request_floor(Sector.nutrition, vulnerability=[VulnerabilityFactor.displaced])
    assert counted.sensitivity is Sensitivity.public


def test_free_text_markers_restrict() -> None:
    floor = aid_request_floor(
        Sector.health, texts=["Clinic visit", "Two SURVIVORS of sexual violence need care"]
    )
    assert floor.sensitivity is RESTRICTED
    assert floor.reasons == ("text:survivors", "text:sexual violence")
    assert text_markers(["children under five", "a childcare kit", None]) == []


@pytest.mark.parametrize("incident_type", list(IncidentType))
def test_incident_types(incident_type: IncidentType) -> None:
    floor = incident_floor(incident_type)
    expected = RESTRICTED if incident_type in PROTECTION_INCIDENT_TYPES else Sensitivity.public
    assert floor.sensitivity is expected


def test_incident_flags_and_text() -> None:
    assert (
        incident_floor(IncidentType.looting_of_aid, involves_child=True).sensitivity is RESTRICTED
    )
    assert incident_floor(IncidentType.other, names_survivor=True).sensitivity is RESTRICTED
    assert incident_floor(
        IncidentType.displacement, texts=["an abducted boy was seen"]
    ).reasons == ("text:abducted",)


def test_classify_raises_a_lower_request_to_the_floor_and_says_so() -> None:
    floor = aid_request_floor(Sector.gbv)
    result = classify(Sensitivity.public, floor)
    assert result.sensitivity is RESTRICTED
    assert result.raised_from is Sensitivity.public
    assert result.floor is RESTRICTED
    assert result.reasons == ("sector:gbv",)


def test_classify_keeps_a_higher_request_and_defaults_to_internal() -> None:
    plain = aid_request_floor(Sector.wash)
    assert classify(Sensitivity.restricted, plain).sensitivity is RESTRICTED
    assert classify(Sensitivity.restricted, plain).raised_from is None
    assert classify(Sensitivity.public, plain).sensitivity is Sensitivity.public
    assert classify(None, plain).sensitivity is Sensitivity.internal
    assert classify(None, aid_request_floor(Sector.protection)).sensitivity is RESTRICTED
