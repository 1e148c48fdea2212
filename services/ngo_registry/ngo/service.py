"""Use cases on NGO profiles: register, read, update, list the directory."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import Ngo, VettingDecision
from services.ngo_registry.ngo import repository
from services.ngo_registry.ngo.errors import check_pcodes
from services.ngo_registry.ngo.projection import publish
from services.ngo_registry.ngo.schemas import (
    Contact,
    NgoCreate,
    NgoPage,
    NgoPrivate,
    NgoPublic,
    NgoUpdate,
    RegistrationIn,
    RegistrationOut,
)
from services.ngo_registry.ngo.state import to_state
from shared.auth import Principal, Role
from shared.classification import Classification, classify, ngo_floor
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events.schemas.ngo_registry import (
    NgoRegistered,
    NgoUpdated,
    NgoVettingChanged,
    PublishedSensitivity,
    VettingStatus,
)
from shared.http import check_if_match
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

# What makes a vetted NGO go back to review when the NGO itself changes it: vetting
# looked at where and in what it works, so the mission must look again.
REVIEWED_FIELDS = ("sectors", "operating_areas")


def public_view(ngo: Ngo) -> NgoPublic:
    """What everyone may read, NGOs included: the NGO topic's state (coarsened bases)."""
    return NgoPublic(**to_state(ngo).model_dump(), operational_approach=ngo.operational_approach)


def _classification(requested: PublishedSensitivity | None) -> Classification:
    # Raise-only against the profile's floor; nothing asked is the floor itself (public):
    # a directory entry is what the profile is for.
    floor = ngo_floor()
    return classify(Sensitivity(requested or floor.sensitivity), floor)


async def private_view(
    session: AsyncSession, ngo: Ngo, *, raised_from: Sensitivity | None = None
) -> NgoPrivate:
    """The full profile with the exact operating points: staff and the NGO itself."""
    registrations = await repository.registrations_of(session, ngo.id)
    floor = ngo_floor()
    return NgoPrivate(
        **to_state(ngo, exact_points=True).model_dump(),
        operational_approach=ngo.operational_approach,
        sensitivity_floor=PublishedSensitivity(floor.sensitivity),
        sensitivity_reasons=list(floor.reasons),
        sensitivity_raised_from=PublishedSensitivity(raised_from) if raised_from else None,
        contacts=[Contact.model_validate(c) for c in ngo.contacts],
        registrations=[
            RegistrationOut(
                country=r.country,
                registration_number=r.registration_number,
                legal_status=r.legal_status,
                issued_on=r.issued_on,
                expires_on=r.expires_on,
            )
            for r in registrations
        ],
        created_at=ngo.created_at,
    )


async def load_for(
    session: AsyncSession, principal: Principal, ngo_id: uuid.UUID, *, lock: bool = False
) -> Ngo:
    """The NGO if this principal may see its private profile; another tenant's is 404."""
    if not principal.is_staff:
        if not principal.has_any(Role.ngo):
            raise Forbidden("Private profiles are for mission staff and the NGO itself")
        if principal.ngo_id != ngo_id:
            raise NotFound(f"No NGO {ngo_id}")
    ngo = await repository.get(session, ngo_id, lock=lock)
    if ngo is None:
        raise NotFound(f"No NGO {ngo_id}")
    return ngo


def _check_registrations(registrations: list[RegistrationIn]) -> None:
    counts = Counter((r.country, r.registration_number) for r in registrations)
    repeated = [f"{c}/{n}" for (c, n), k in counts.items() if k > 1]
    if repeated:
        raise Unprocessable(f"registrations: listed twice: {', '.join(repeated)}")


def _dump_list(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in items]


async def create_ngo(session: AsyncSession, principal: Principal, body: NgoCreate) -> NgoPrivate:
    check_pcodes(body.operating_areas, "operating_areas")
    _check_registrations(body.registrations)
    ngo_id = body.ngo_id or uuid.uuid4()
    if await repository.get(session, ngo_id) is not None:
        raise Conflict(f"NGO {ngo_id} already exists", existing_ngo_id=str(ngo_id))
    now = datetime.now(UTC)
    classification = _classification(body.sensitivity)
    ngo = Ngo(
        id=ngo_id,
        name=body.name,
        acronym=body.acronym,
        ngo_type=body.ngo_type.value,
        hq_country=body.hq_country,
        website=body.website,
        contacts=_dump_list(body.contacts),
        sectors=[s.value for s in body.sectors],
        capacities=_dump_list(body.capacities),
        operating_areas=list(dict.fromkeys(body.operating_areas)),
        operating_points=_dump_list(body.operating_points),
        languages=list(body.languages),
        operational_approach=body.operational_approach,
        vetting_status=VettingStatus.submitted,
        vetted_until=None,
        eligibility=[],
        eligible=False,
        version=0,
        created_at=now,
        updated_at=now,
        sensitivity=classification.sensitivity.value,
    )
    session.add(ngo)
    await session.flush()
    await repository.replace_registrations(session, ngo.id, body.registrations)
    session.add(
        VettingDecision(
            ngo_id=ngo.id,
            action="submit",
            from_status=None,
            to_status=VettingStatus.submitted,
            decided_by=principal.subject,
            decided_at=now,
            reason="registered",
            checks={},
        )
    )
    await publish(session, ngo, NgoRegistered)
    log.info("ngo.registered", ngo_id=str(ngo.id), by=principal.subject)
    return await private_view(session, ngo, raised_from=classification.raised_from)


async def update_ngo(
    session: AsyncSession,
    principal: Principal,
    ngo_id: uuid.UUID,
    body: NgoUpdate,
    if_match: str | None,
) -> NgoPrivate:
    ngo = await load_for(session, principal, ngo_id, lock=True)
    check_if_match(if_match, ngo.version)
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "ngo_type", "hq_country", "sectors"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be removed", field=required)
    if body.operating_areas is not None:
        check_pcodes(body.operating_areas, "operating_areas")
    if body.registrations is not None:
        _check_registrations(body.registrations)
        await repository.replace_registrations(session, ngo.id, body.registrations)
    before = {field: list(getattr(ngo, field)) for field in REVIEWED_FIELDS}
    for field in ("name", "acronym", "hq_country", "website", "operational_approach"):
        if field in changes:
            setattr(ngo, field, changes[field])
    if body.ngo_type is not None:
        ngo.ngo_type = body.ngo_type.value
    if body.contacts is not None:
        ngo.contacts = _dump_list(body.contacts)
    if body.sectors is not None:
        ngo.sectors = [s.value for s in body.sectors]
    if body.capacities is not None:
        ngo.capacities = _dump_list(body.capacities)
    if body.operating_areas is not None:
        ngo.operating_areas = list(dict.fromkeys(body.operating_areas))
    if body.operating_points is not None:
        ngo.operating_points = _dump_list(body.operating_points)
    if body.languages is not None:
        ngo.languages = list(body.languages)
    raised_from = None
    if body.sensitivity is not None:
        classification = _classification(body.sensitivity)
        ngo.sensitivity, raised_from = classification.sensitivity.value, classification.raised_from

    scope_changed = any(
        sorted(before[field]) != sorted(getattr(ngo, field)) for field in REVIEWED_FIELDS
    )
    back_to_review = (
        scope_changed and not principal.is_staff and ngo.vetting_status == VettingStatus.vetted
    )
    if back_to_review:
        reason = "the NGO changed its sectors or operating areas; vetting must look again"
        session.add(
            VettingDecision(
                ngo_id=ngo.id,
                action="scope_changed",
                from_status=VettingStatus.vetted,
                to_status=VettingStatus.under_review,
                decided_by=principal.subject,
                decided_at=datetime.now(UTC),
                reason=reason,
                checks={},
            )
        )
        ngo.vetting_status = VettingStatus.under_review
        await publish(
            session,
            ngo,
            NgoVettingChanged,
            previous_status=VettingStatus.vetted,
            decided_by="ngo",  # the NGO's own change; its user's name stays in the history
            reason=reason,
        )
    else:
        await publish(session, ngo, NgoUpdated)
    log.info("ngo.updated", ngo_id=str(ngo.id), by=principal.subject, back_to_review=back_to_review)
    return await private_view(session, ngo, raised_from=raised_from)


async def get_public(session: AsyncSession, ngo_id: uuid.UUID) -> NgoPublic:
    ngo = await repository.get(session, ngo_id)
    if ngo is None:
        raise NotFound(f"No NGO {ngo_id}")
    return public_view(ngo)


async def list_directory(
    session: AsyncSession,
    *,
    sector: str | None,
    pcode: str | None,
    status: VettingStatus | None,
    limit: int,
    offset: int,
) -> NgoPage:
    if pcode is not None:
        check_pcodes([pcode], "pcode")
    rows, total = await repository.list_directory(
        session, sector=sector, pcode=pcode, status=status, limit=limit, offset=offset
    )
    return NgoPage(items=[public_view(n) for n in rows], total=total, limit=limit, offset=offset)
