"""Use cases on agreements: draft, amend, activate, terminate, expire.

    draft ──activate──▶ active ──(ends_on passed: the sweep)──▶ expired
                          └──────────terminate──────────────▶ terminated

Activation, expiry and termination change what the parties may be tasked for, so each also
re-derives the parties' eligibility and emits it, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.agreement import repository
from services.ngo_registry.agreement.schemas import (
    AgreementCreate,
    AgreementOut,
    AgreementTermination,
    AgreementUpdate,
)
from services.ngo_registry.db.models import outbox
from services.ngo_registry.db.models.registry import Agreement
from services.ngo_registry.ngo import repository as ngos
from services.ngo_registry.ngo.errors import check_pcodes
from services.ngo_registry.ngo.projection import refresh_eligibility, utc_today
from shared.auth import Principal
from shared.classification import agreement_floor, classify
from shared.errors import Conflict, InvalidTransition, NotFound, Unprocessable
from shared.events.schemas.ngo_registry import (
    AgreementActivated,
    AgreementCreated,
    AgreementExpired,
    AgreementExpiring,
    AgreementParty,
    AgreementState,
    AgreementStatus,
    AgreementTerminated,
    AgreementUpdated,
    PublishedSensitivity,
    ReportingObligation,
)
from shared.http import check_if_match
from shared.logging import get_logger
from shared.vocabulary import Sector, Sensitivity

log = get_logger(__name__)


def to_state(agreement: Agreement) -> AgreementState:
    return AgreementState(
        agreement_id=agreement.id,
        title=agreement.title,
        parties=[AgreementParty.model_validate(p) for p in agreement.parties],
        sectors=[Sector(s) for s in agreement.sectors],
        pcodes=list(agreement.pcodes),
        mission_responsibilities=list(agreement.mission_responsibilities),
        reporting_obligations=[
            ReportingObligation.model_validate(r) for r in agreement.reporting_obligations
        ],
        starts_on=agreement.starts_on,
        ends_on=agreement.ends_on,
        status=agreement.status,
        signatories=list(agreement.signatories),
        version=agreement.version,
        updated_at=agreement.updated_at,
        sensitivity=PublishedSensitivity(agreement.sensitivity),
    )


MISSION = "mission"
"""Who terminated an agreement, as an NGO party reads it: the mission, not the officer."""


def to_view(
    agreement: Agreement, principal: Principal, *, raised_from: Sensitivity | None = None
) -> AgreementOut:
    """The agreement for this reader: staff in full; an NGO party without the officer who
    terminated it or the reason they typed (both stay in the staff view and the event on the
    mission-staff topic)."""
    floor = agreement_floor()
    staff = principal.is_staff
    terminated_by = agreement.terminated_by
    if terminated_by is not None and not staff:
        terminated_by = MISSION
    return AgreementOut(
        **to_state(agreement).model_dump(),
        expiring_notified_at=agreement.expiring_notified_at,
        terminated_by=terminated_by,
        termination_reason=agreement.termination_reason if staff else None,
        created_at=agreement.created_at,
        sensitivity_floor=PublishedSensitivity(floor.sensitivity),
        sensitivity_reasons=list(floor.reasons),
        sensitivity_raised_from=PublishedSensitivity(raised_from) if raised_from else None,
    )


async def _emit(
    session: AsyncSession, agreement: Agreement, event: type[AgreementState], **extra: Any
) -> None:
    agreement.version += 1
    agreement.updated_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(
        session, event(**to_state(agreement).model_dump(), **extra), subject=agreement.id
    )


async def _check_parties(
    session: AsyncSession, parties: Sequence[AgreementParty]
) -> list[uuid.UUID]:
    ngo_ids = [p.ngo_id for p in parties]
    if len(set(ngo_ids)) != len(ngo_ids):
        raise Unprocessable("parties: an NGO is listed twice", field="parties")
    found = await ngos.existing_ids(session, ngo_ids)
    unknown = [str(i) for i in ngo_ids if i not in found]
    if unknown:
        raise Unprocessable(
            f"parties: unknown NGO(s) {', '.join(unknown)}", field="parties", unknown=unknown
        )
    return ngo_ids


async def load_for(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID, *, lock: bool = False
) -> Agreement:
    """The agreement if this principal may read it: staff, or an NGO that is a party."""
    agreement = await repository.get(session, agreement_id, lock=lock)
    if agreement is None or (not principal.is_staff and principal.ngo_id not in agreement.ngo_ids):
        raise NotFound(f"No agreement {agreement_id}")
    return agreement


async def create_agreement(
    session: AsyncSession, principal: Principal, body: AgreementCreate
) -> tuple[Agreement, Sensitivity | None]:
    """A new draft, and the class that was asked for if it was raised to the minimum."""
    check_pcodes(body.pcodes, "pcodes")
    ngo_ids = await _check_parties(session, body.parties)
    agreement_id = body.agreement_id or uuid.uuid4()
    if await repository.get(session, agreement_id) is not None:
        raise Conflict(f"Agreement {agreement_id} already exists")
    now = datetime.now(UTC)
    requested = Sensitivity(body.sensitivity) if body.sensitivity is not None else None
    classification = classify(requested, agreement_floor())
    agreement = Agreement(
        id=agreement_id,
        title=body.title,
        parties=[p.model_dump(mode="json") for p in body.parties],
        ngo_ids=ngo_ids,
        sectors=[s.value for s in body.sectors],
        pcodes=list(dict.fromkeys(body.pcodes)),
        mission_responsibilities=list(body.mission_responsibilities),
        reporting_obligations=[r.model_dump(mode="json") for r in body.reporting_obligations],
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        status=AgreementStatus.draft,
        signatories=list(body.signatories),
        version=0,
        created_at=now,
        updated_at=now,
        sensitivity=classification.sensitivity.value,
    )
    session.add(agreement)
    await _emit(session, agreement, AgreementCreated)
    log.info("agreement.created", agreement_id=str(agreement.id), by=principal.subject)
    return agreement, classification.raised_from


async def update_agreement(
    session: AsyncSession,
    principal: Principal,
    agreement_id: uuid.UUID,
    body: AgreementUpdate,
    if_match: str | None,
) -> Agreement:
    agreement = await load_for(session, principal, agreement_id, lock=True)
    check_if_match(if_match, agreement.version)
    if agreement.status != AgreementStatus.draft:
        raise InvalidTransition(
            f"Only a draft can be amended; this agreement is {agreement.status}",
            current_status=agreement.status,
        )
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise Unprocessable(f"{field} cannot be removed", field=field)
    starts_on = body.starts_on or agreement.starts_on
    ends_on = body.ends_on or agreement.ends_on
    if ends_on < starts_on:
        raise Unprocessable(
            "ends_on must not be before starts_on",
            starts_on=str(starts_on),
            ends_on=str(ends_on),
        )
    if body.pcodes is not None:
        check_pcodes(body.pcodes, "pcodes")
        agreement.pcodes = list(dict.fromkeys(body.pcodes))
    if body.parties is not None:
        agreement.ngo_ids = await _check_parties(session, body.parties)
        agreement.parties = [p.model_dump(mode="json") for p in body.parties]
    if body.title is not None:
        agreement.title = body.title
    if body.sectors is not None:
        agreement.sectors = [s.value for s in body.sectors]
    if body.mission_responsibilities is not None:
        agreement.mission_responsibilities = list(body.mission_responsibilities)
    if body.reporting_obligations is not None:
        agreement.reporting_obligations = [
            r.model_dump(mode="json") for r in body.reporting_obligations
        ]
    if body.signatories is not None:
        agreement.signatories = list(body.signatories)
    agreement.starts_on, agreement.ends_on = starts_on, ends_on
    await _emit(session, agreement, AgreementUpdated)
    log.info("agreement.updated", agreement_id=str(agreement.id), by=principal.subject)
    return agreement


async def activate(
    session: AsyncSession,
    principal: Principal,
    agreement_id: uuid.UUID,
    if_match: str | None,
    today: date | None = None,
) -> Agreement:
    today = today or utc_today()
    agreement = await load_for(session, principal, agreement_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, agreement.version)
    if agreement.status != AgreementStatus.draft:
        raise InvalidTransition(
            f"Only a draft can be activated; this agreement is {agreement.status}",
            current_status=agreement.status,
        )
    if not agreement.starts_on <= today <= agreement.ends_on:
        # Activating outside its dates would make eligibility change later with no event.
        raise Conflict(
            f"The agreement runs {agreement.starts_on} to {agreement.ends_on}; "
            f"it can be activated only within those dates",
            today=str(today),
        )
    if not agreement.signatories:
        raise Conflict("An agreement needs its signatories before it comes into force")
    agreement.status = AgreementStatus.active
    await _emit(session, agreement, AgreementActivated)
    await refresh_eligibility(session, list(agreement.ngo_ids), today=today)
    log.info("agreement.activated", agreement_id=str(agreement.id), by=principal.subject)
    return agreement


async def terminate(
    session: AsyncSession,
    principal: Principal,
    agreement_id: uuid.UUID,
    body: AgreementTermination,
    if_match: str | None,
) -> Agreement:
    agreement = await load_for(session, principal, agreement_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, agreement.version)
    if agreement.status != AgreementStatus.active:
        raise InvalidTransition(
            f"Only an active agreement can be terminated; this one is {agreement.status}",
            current_status=agreement.status,
        )
    agreement.status = AgreementStatus.terminated
    agreement.terminated_by = principal.subject
    agreement.termination_reason = body.reason
    await _emit(
        session, agreement, AgreementTerminated, terminated_by=principal.subject, reason=body.reason
    )
    await refresh_eligibility(session, list(agreement.ngo_ids))
    log.info("agreement.terminated", agreement_id=str(agreement.id), by=principal.subject)
    return agreement


async def expire(session: AsyncSession, agreement: Agreement, today: date) -> None:
    """The sweep found this active agreement past its end (row locked by the caller)."""
    agreement.status = AgreementStatus.expired
    await _emit(session, agreement, AgreementExpired)
    await refresh_eligibility(session, list(agreement.ngo_ids), today=today)
    log.info("agreement.expired", agreement_id=str(agreement.id), ends_on=str(agreement.ends_on))


async def warn_expiring(session: AsyncSession, agreement: Agreement, today: date) -> None:
    """Announce the coming end once: the timestamp is what makes the sweep idempotent."""
    agreement.expiring_notified_at = datetime.now(UTC)
    days_left = (agreement.ends_on - today).days
    await _emit(session, agreement, AgreementExpiring, days_left=days_left)
    log.info("agreement.expiring", agreement_id=str(agreement.id), days_left=days_left)


async def list_agreements(
    session: AsyncSession,
    principal: Principal,
    *,
    status: AgreementStatus | None,
    limit: int,
    offset: int,
) -> list[AgreementOut]:
    ngo_id = None if principal.is_staff else principal.ngo_id
    rows = await repository.list_for(
        session, ngo_id=ngo_id, status=status, limit=limit, offset=offset
    )
    return [to_view(a, principal) for a in rows]
