"""The demo mission's data is plausible and matches what the services accept.

Every body the seeder and the simulator send is validated here against the services' own
HTTP schemas, so an API change that would break `make run` fails fast, without a stack.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from deploy.demo.data import AGREEMENTS, FIELD_UNITS, NGOS, profile
from deploy.demo.generate import aid_request, incident
from deploy.demo.seed import REQUESTS_REPLICA_GROUP
from services.humanitarian_requests.aid_request.schemas import AidRequestIn
from services.humanitarian_requests.app import REPLICA_GROUP
from services.humanitarian_requests.incident.schemas import IncidentIn
from services.ngo_registry.agreement.schemas import AgreementCreate
from services.ngo_registry.config import DEFAULT_SANCTIONS_FILE
from services.ngo_registry.ngo.schemas import NgoCreate
from shared.gazetteer import gazetteer


def test_the_mission_has_a_plausible_mix_of_ngos() -> None:
    assert 25 <= len(NGOS) <= 40
    assert len({n.name for n in NGOS}) == len({n.acronym for n in NGOS}) == len(NGOS)
    assert len({n.ngo_id for n in NGOS}) == len(NGOS)
    types = Counter(n.ngo_type for n in NGOS)
    assert set(types) == {"international", "national", "local", "un_agency",
                          "red_cross_red_crescent"}  # fmt: skip
    statuses = Counter(n.target_status for n in NGOS)
    assert set(statuses) == {"submitted", "under_review", "vetted", "rejected", "suspended"}
    assert statuses["vetted"] > len(NGOS) / 2
    assert len({s for n in NGOS for s in n.sectors}) >= 15


def test_every_ngo_profile_is_what_the_registry_accepts() -> None:
    gaz = gazetteer()
    numbers = set()
    for ngo in NGOS:
        body = NgoCreate.model_validate(profile(ngo))
        assert gaz.unknown(body.operating_areas) == []
        numbers.add(body.registrations[0].registration_number)
    assert len(numbers) == len(NGOS)  # the registry refuses a number held by another NGO


def test_the_sanctioned_organisation_is_in_the_demo_to_be_refused() -> None:
    sanctions = DEFAULT_SANCTIONS_FILE.read_text(encoding="utf-8").splitlines()[1:]
    listed = {line.split(",")[0] for line in sanctions}
    assert [n.name for n in NGOS if n.name in listed] == ["Horizon Relief Front"]
    assert next(n for n in NGOS if n.name in listed).target_status == "rejected"


def test_agreements_cover_every_vetted_ngo_and_some_expire_soon() -> None:
    today = datetime.now(UTC).date()
    bodies = [AgreementCreate.model_validate(a.body(today)) for a in AGREEMENTS]
    assert len({b.agreement_id for b in bodies}) == len(AGREEMENTS)
    active = [(a, b) for a, b in zip(AGREEMENTS, bodies, strict=True) if a.activate]
    for _, body in active:
        assert body.starts_on <= today <= body.ends_on  # activation needs today in range
    in_force = {p.ngo_id for _, b in active for p in b.parties}
    assert {n.ngo_id for n in NGOS if n.target_status in ("vetted", "suspended")} <= in_force
    assert sum(b.ends_on <= today + timedelta(days=30) for _, b in active) >= 3
    assert any(not a.activate for a in AGREEMENTS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_reports_are_what_the_requests_service_accepts(seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    units, sectors, states = Counter[str](), Counter[str](), Counter[str]()
    for index in range(200):
        unit, body = aid_request(rng, f"t-{index}", now=now, max_age_hours=72)
        request = AidRequestIn.model_validate(body)
        assert request.observed_at is not None and request.observed_at <= now
        units[unit] += 1
        sectors[request.sector] += 1
        states[gazetteer().admin1(request.location.pcode or "") or ""] += 1
        unit, body = incident(rng, f"i-{index}", now=now)
        report = IncidentIn.model_validate(body)
        assert report.occurred_at <= now and unit in FIELD_UNITS
    assert set(units) <= set(FIELD_UNITS) and len(units) >= 8
    assert len(sectors) >= 10 and len(states) >= 8  # spread, not one place


def test_a_report_with_an_unknown_field_would_be_refused() -> None:
    """The schemas forbid extra fields: this test is what makes the ones above meaningful."""
    _, body = aid_request(random.Random(0), "x", now=datetime.now(UTC))
    with pytest.raises(ValidationError):
        AidRequestIn.model_validate({**body, "unexpected": 1})


def test_the_seeder_waits_on_the_requests_services_replica_group() -> None:
    assert REQUESTS_REPLICA_GROUP == REPLICA_GROUP
