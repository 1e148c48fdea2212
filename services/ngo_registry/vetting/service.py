"""The vetting workflow, following UN practice.

    submitted ──start_review──▶ under_review ──vet──▶ vetted ──suspend──▶ suspended
        ▲                           │                  │  ▲                  │
        │                         reject               │  └───reinstate──────┘
        │                           ▼                  │
        └────────resubmit──── rejected / expired ◀─────┘ (vetted_until passed: the sweep)

Every decision is a row with who, when, why and the review's checks; the NGO event carries
the new status and eligibility, never the notes or checks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import Ngo, VettingDecision
from services.ngo_registry.ngo import repository
from services.ngo_registry.ngo.projection import publish, utc_today
from services.ngo_registry.vetting import repository as decisions
from services.ngo_registry.vetting import sanctions
from services.ngo_registry.vetting.schemas import (
    VettingAction,
    VettingActionName,
    VettingDecisionOut,
)
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound, Unprocessable
from shared.events.schemas.ngo_registry import NgoVettingChanged, VettingStatus
from shared.http import check_if_match
from shared.logging import get_logger

log = get_logger(__name__)

S = VettingStatus
SYSTEM = "system:expiry-sweep"
NGO_FACING_DECIDER = "mission:vetting"
"""Who decided, as the NGO-readable topic says it: the mission's vetting, never a person."""


@dataclass(frozen=True)
class Transition:
    sources: frozenset[VettingStatus]
    target: VettingStatus
    staff_only: bool = True
    needs_reason: bool = False


TRANSITIONS: dict[VettingActionName, Transition] = {
    VettingActionName.start_review: Transition(frozenset({S.submitted}), S.under_review),
    VettingActionName.vet: Transition(frozenset({S.under_review}), S.vetted),
    VettingActionName.reject: Transition(
        frozenset({S.under_review}), S.rejected, needs_reason=True
    ),
    VettingActionName.suspend: Transition(frozenset({S.vetted}), S.suspended, needs_reason=True),
    VettingActionName.reinstate: Transition(frozenset({S.suspended}), S.vetted, needs_reason=True),
    # The NGO itself may resubmit after a rejection or an expiry.
    VettingActionName.resubmit: Transition(
        frozenset({S.rejected, S.expired}), S.submitted, staff_only=False
    ),
}


async def apply_action(
    session: AsyncSession,
    principal: Principal,
    ngo_id: uuid.UUID,
    body: VettingAction,
    *,
    sanctions_file: Path,
    if_match: str | None,
    today: date | None = None,
) -> Ngo:
    today = today or utc_today()
    transition = TRANSITIONS[body.action]
    if not principal.is_staff:
        if principal.ngo_id != ngo_id:
            raise NotFound(f"No NGO {ngo_id}")
        if transition.staff_only:
            raise Forbidden(f"Only mission staff may {body.action.value}")
    ngo = await repository.get(session, ngo_id, lock=True)
    if ngo is None:
        raise NotFound(f"No NGO {ngo_id}")
    if if_match is not None:  # optional here: a transition names its source state anyway
        check_if_match(if_match, ngo.version)
    current = ngo.vetting_status
    if current not in transition.sources:
        allowed = sorted(a.value for a, t in TRANSITIONS.items() if current in t.sources)
        raise InvalidTransition(
            f"Cannot {body.action.value} an NGO that is {current.value}",
            current_status=current.value,
            allowed_actions=allowed,
        )
    if transition.needs_reason and not (body.reason and body.reason.strip()):
        raise Unprocessable(f"{body.action.value} needs a reason", field="reason")

    checks: dict[str, Any] = {}
    vetted_until = ngo.vetted_until
    if body.action is VettingActionName.vet:
        vetted_until = await _review(session, ngo, body, sanctions_file, today, checks)
    elif body.action is VettingActionName.reject:
        if body.checks is not None:
            checks = body.checks.model_dump()
    elif body.action is VettingActionName.reinstate:
        vetted_until = body.vetted_until or ngo.vetted_until
        if vetted_until is not None and vetted_until < today:
            raise Conflict(
                f"The vetting ran out on {vetted_until}; reinstate with a new vetted_until",
                vetted_until=str(vetted_until),
            )
    elif body.action is VettingActionName.resubmit:
        vetted_until = None

    ngo.vetting_status = transition.target
    ngo.vetted_until = vetted_until
    session.add(
        VettingDecision(
            ngo_id=ngo.id,
            action=body.action.value,
            from_status=current,
            to_status=transition.target,
            decided_by=principal.subject,
            decided_at=datetime.now(UTC),
            reason=body.reason,
            notes=body.notes,
            checks=checks,
            vetted_until=vetted_until,
        )
    )
    await publish(
        session,
        ngo,
        NgoVettingChanged,
        today=today,
        previous_status=current,
        # The NGO topic is read by every NGO: no staff identity and no reason a vetting
        # officer typed; both stay in the vetting history (staff only, GET .../vetting).
        decided_by=NGO_FACING_DECIDER,
        reason=None,
    )
    log.info(
        "vetting.decided",
        ngo_id=str(ngo.id),
        action=body.action.value,
        from_status=current,
        to_status=transition.target,
        by=principal.subject,
    )
    return ngo


async def _review(
    session: AsyncSession,
    ngo: Ngo,
    body: VettingAction,
    sanctions_file: Path,
    today: date,
    checks: dict[str, Any],
) -> date:
    """The checks a `vet` decision needs; fills `checks` and returns the expiry."""
    if body.checks is None:
        raise Unprocessable("vet needs the review checks", field="checks")
    if body.vetted_until is None or body.vetted_until <= today:
        raise Unprocessable(
            "vetted_until must be a date after today", field="vetted_until", today=str(today)
        )
    registrations = await repository.registrations_of(session, ngo.id)
    screening = sanctions.screen(
        sanctions_file,
        names=[ngo.name, ngo.acronym or ""],
        registrations=[(r.country, r.registration_number) for r in registrations],
    )
    checks.update(body.checks.model_dump())
    checks["sanctions_screening"] = screening
    # What the registry itself knows, recorded beside the reviewer's own judgement of
    # `registration_valid` so an auditor can see what the reviewer had in front of them.
    checks["registrations_on_file"] = [
        {
            "country": r.country,
            "registration_number": r.registration_number,
            "current": r.expires_on is None or r.expires_on >= today,
        }
        for r in registrations
    ]
    failed = [name for name, result in body.checks if not result.passed]
    if not screening["passed"]:
        failed.append("sanctions_screening")
    if failed:
        raise Conflict(
            f"Cannot vet: checks not passed: {', '.join(failed)}",
            failed_checks=failed,
            sanctions_matches=screening["matches"],
        )
    return body.vetted_until


async def expire(session: AsyncSession, ngo: Ngo, today: date) -> None:
    """The sweep found this NGO's vetting past its date (row locked by the caller)."""
    previous = ngo.vetting_status
    ngo.vetting_status = S.expired
    reason = f"vetting ran out on {ngo.vetted_until}"
    session.add(
        VettingDecision(
            ngo_id=ngo.id,
            action="expire",
            from_status=previous,
            to_status=S.expired,
            decided_by=SYSTEM,
            decided_at=datetime.now(UTC),
            reason=reason,
            checks={},
            vetted_until=ngo.vetted_until,
        )
    )
    await publish(
        session,
        ngo,
        NgoVettingChanged,
        today=today,
        previous_status=previous,
        decided_by=SYSTEM,
        reason=reason,
    )
    log.info("vetting.expired", ngo_id=str(ngo.id), vetted_until=str(ngo.vetted_until))


async def history(session: AsyncSession, ngo_id: uuid.UUID) -> list[VettingDecisionOut]:
    if await repository.get(session, ngo_id) is None:
        raise NotFound(f"No NGO {ngo_id}")
    rows = await decisions.decisions_of(session, ngo_id)
    return [
        VettingDecisionOut(
            decision_id=row.id,
            action=row.action,
            from_status=row.from_status,
            to_status=row.to_status,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            reason=row.reason,
            notes=row.notes,
            checks=row.checks,
            vetted_until=row.vetted_until,
        )
        for row in rows
    ]
