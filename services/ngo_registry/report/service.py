"""Use cases on report submissions: record one, list an agreement's.

A submission is recorded once per (agreement, obligation, period end); a repeat returns the
first one and emits nothing, so a party retrying after a lost response cannot make
monitoring count a report twice. The agreement row is locked while recording, which
serialises concurrent submissions to the same agreement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.agreement.service import load_for
from services.ngo_registry.db.models import outbox
from services.ngo_registry.db.models.registry import Agreement, ReportSubmission
from services.ngo_registry.ngo.projection import utc_today
from services.ngo_registry.report import repository
from services.ngo_registry.report.schemas import ReportOut, ReportSubmit
from shared.auth import Principal
from shared.errors import Conflict, Unprocessable
from shared.events.schemas.ngo_registry import AgreementReportSubmitted, AgreementStatus
from shared.logging import get_logger

log = get_logger(__name__)


MISSION = "mission"


def to_view(row: ReportSubmission, principal: Principal | None = None) -> ReportOut:
    """The submission; an NGO party (`principal` not staff) reads a submission that staff
    recorded (or one from before that was known) as submitted by `mission`."""
    submitted_by = row.submitted_by
    if principal is not None and not principal.is_staff and row.submitted_by_staff is not False:
        submitted_by = MISSION
    return ReportOut(
        submission_id=row.id,
        agreement_id=row.agreement_id,
        ngo_id=row.ngo_id,
        obligation=row.obligation,
        frequency_days=row.frequency_days,
        period_end=row.period_end,
        submitted_on=row.submitted_on,
        summary=row.summary,
        submitted_by=submitted_by,
        submitted_at=row.submitted_at,
    )


def _reporting_party(
    principal: Principal, agreement: Agreement, asked: uuid.UUID | None
) -> uuid.UUID:
    parties = list(agreement.ngo_ids)
    if not principal.is_staff:
        # load_for already proved the NGO is a party; it reports for itself only.
        if asked is not None and asked != principal.ngo_id:
            raise Unprocessable("ngo_id: an NGO can submit reports only for itself", field="ngo_id")
        assert principal.ngo_id is not None
        return principal.ngo_id
    if asked is None:
        if len(parties) == 1:
            return parties[0]
        raise Unprocessable(
            "ngo_id: the agreement has several parties; name the reporting one",
            field="ngo_id",
            allowed=[str(p) for p in parties],
        )
    if asked not in parties:
        raise Unprocessable(
            f"ngo_id: {asked} is not a party to this agreement",
            field="ngo_id",
            allowed=[str(p) for p in parties],
        )
    return asked


def _frequency(agreement: Agreement, obligation: str) -> int:
    by_name = {o["what"]: int(o["frequency_days"]) for o in agreement.reporting_obligations}
    if obligation not in by_name:
        raise Unprocessable(
            f"obligation: {obligation!r} is not a reporting obligation of this agreement",
            field="obligation",
            allowed=sorted(by_name),
        )
    return by_name[obligation]


async def submit(
    session: AsyncSession,
    principal: Principal,
    agreement_id: uuid.UUID,
    body: ReportSubmit,
    today: date | None = None,
) -> tuple[ReportSubmission, bool]:
    """Record the submission; returns it and whether it is new (False: a repeat)."""
    today = today or utc_today()
    agreement = await load_for(session, principal, agreement_id, lock=True)
    existing = await repository.find(session, agreement.id, body.obligation, body.period_end)
    if existing is not None:
        log.info(
            "report.resubmitted",
            agreement_id=str(agreement.id),
            submission_id=str(existing.id),
            by=principal.subject,
        )
        return existing, False
    if agreement.status != AgreementStatus.active:
        raise Conflict(
            f"Reports are recorded against active agreements; this one is {agreement.status}",
            current_status=agreement.status,
        )
    frequency = _frequency(agreement, body.obligation)
    ngo_id = _reporting_party(principal, agreement, body.ngo_id)
    if body.period_end > today:
        raise Unprocessable(
            f"period_end: {body.period_end} is in the future", field="period_end", today=str(today)
        )
    if not agreement.starts_on < body.period_end <= agreement.ends_on:
        raise Unprocessable(
            f"period_end: must fall after the agreement starts ({agreement.starts_on}) and "
            f"not after it ends ({agreement.ends_on})",
            field="period_end",
        )
    submitted_on = body.submitted_on or today
    if submitted_on > today:
        raise Unprocessable(f"submitted_on: {submitted_on} is in the future", field="submitted_on")
    row = ReportSubmission(
        id=uuid.uuid4(),
        agreement_id=agreement.id,
        ngo_id=ngo_id,
        obligation=body.obligation,
        frequency_days=frequency,
        period_end=body.period_end,
        submitted_on=submitted_on,
        summary=body.summary,
        submitted_by=principal.subject,
        submitted_at=datetime.now(UTC),
        submitted_by_staff=principal.is_staff,
    )
    session.add(row)
    await session.flush()
    # Keyed by the agreement, so it is ordered with the agreement's own events.
    await outbox.add(
        session, AgreementReportSubmitted(**to_view(row).model_dump()), subject=agreement.id
    )
    log.info(
        "report.submitted",
        agreement_id=str(agreement.id),
        submission_id=str(row.id),
        obligation=row.obligation,
        period_end=str(row.period_end),
        by=principal.subject,
    )
    return row, True


async def list_reports(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID
) -> Sequence[ReportSubmission]:
    agreement = await load_for(session, principal, agreement_id)
    return await repository.list_for(session, agreement.id)
