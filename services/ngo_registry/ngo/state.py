"""The NGO's public state and its eligibility, derived from its row and its agreements.

Pure functions: the rule lives here once, and both the HTTP views and the events use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.ngo_registry.db.models.registry import Agreement, Ngo
from services.ngo_registry.ngo.coarsening import GRID_DEGREES, coarse_points
from shared.events.schemas.ngo_registry import (
    AgreementStatus,
    Capacity,
    EligibilityGrant,
    NgoState,
    NgoType,
    OperatingPoint,
    PublishedSensitivity,
    VettingStatus,
)
from shared.vocabulary import Sector


def is_vetted_on(ngo: Ngo, today: date) -> bool:
    """Vetted, not suspended, and the vetting has not run out."""
    return ngo.vetting_status == VettingStatus.vetted and (
        ngo.vetted_until is None or ngo.vetted_until >= today
    )


def compute_grants(
    ngo: Ngo, agreements: Iterable[Agreement], today: date
) -> list[EligibilityGrant]:
    """What the NGO may be tasked for today: for every agreement in force that it is party to,
    each sector of the agreement's scope in the agreement's areas, until the earlier of the
    agreement's end and the vetting's expiry. Nothing at all unless it is vetted."""
    if not is_vetted_on(ngo, today):
        return []
    grants: list[EligibilityGrant] = []
    for agreement in sorted(agreements, key=lambda a: (a.starts_on, str(a.id))):
        if (
            agreement.status != AgreementStatus.active
            or not agreement.starts_on <= today <= agreement.ends_on
        ):
            continue
        if ngo.id not in agreement.ngo_ids:
            continue
        valid_until = agreement.ends_on
        if ngo.vetted_until is not None:
            valid_until = min(valid_until, ngo.vetted_until)
        grants.extend(
            EligibilityGrant(
                sector=Sector(sector),
                pcodes=list(agreement.pcodes),
                agreement_id=agreement.id,
                valid_until=valid_until,
            )
            for sector in agreement.sectors
        )
    return grants


def to_state(ngo: Ngo, *, exact_points: bool = False) -> NgoState:
    """The row as the contract's NgoState (eligibility as last computed and stored).

    The operating points are coarsened to the grid (what the NGO topic and the public
    directory carry) unless `exact_points` (staff views)."""
    points = [OperatingPoint.model_validate(p) for p in ngo.operating_points]
    return NgoState(
        ngo_id=ngo.id,
        name=ngo.name,
        acronym=ngo.acronym,
        ngo_type=NgoType(ngo.ngo_type),
        hq_country=ngo.hq_country,
        website=ngo.website,
        sectors=[Sector(s) for s in ngo.sectors],
        capacities=[Capacity.model_validate(c) for c in ngo.capacities],
        operating_areas=list(ngo.operating_areas),
        operating_points=points if exact_points else coarse_points(points),
        languages=list(ngo.languages),
        vetting_status=ngo.vetting_status,
        vetted_until=ngo.vetted_until,
        eligibility=[EligibilityGrant.model_validate(g) for g in ngo.eligibility],
        eligible=ngo.eligible,
        version=ngo.version,
        updated_at=ngo.updated_at,
        sensitivity=PublishedSensitivity(ngo.sensitivity),
        operating_points_grid_degrees=None if exact_points else GRID_DEGREES,
    )
