"""Replicas of the NGO registry: NGOs, their presence (sector x area), agreements, and the
reports received under agreements.

Each registry event carries the full state and a `version`; a row is replaced only by a
newer version (`upsert_if_newer`, one statement), so a late or replayed older state never
wins. A report submission never
changes: the first copy of (agreement, obligation, period end) is kept, any other ignored.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.read_models import (
    agreements,
    ngo_presence,
    ngos,
    report_submissions,
)
from services.monitoring.live import notify_change
from shared.db import upsert_if_newer
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import (
    AgreementActivated,
    AgreementCreated,
    AgreementExpired,
    AgreementExpiring,
    AgreementReportSubmitted,
    AgreementState,
    AgreementTerminated,
    AgreementUpdated,
    NgoEligibilityChanged,
    NgoRegistered,
    NgoState,
    NgoUpdated,
    NgoVettingChanged,
)


async def apply_ngo(session: AsyncSession, data: NgoState) -> bool:
    """Keep the NGO and its presence; False when the event is older than what we hold."""
    values = {
        "ngo_id": data.ngo_id,
        "version": data.version,
        "name": data.name,
        "acronym": data.acronym,
        "vetting_status": data.vetting_status.value,
        "eligible": data.eligible,
        "sectors": [s.value for s in data.sectors],
        "capacities": [c.model_dump(mode="json") for c in data.capacities],
        "operating_areas": data.operating_areas,
        "updated_at": data.updated_at,
    }
    if not await upsert_if_newer(session, ngos, "ngo_id", values):
        return False
    await session.execute(delete(ngo_presence).where(ngo_presence.c.ngo_id == data.ngo_id))
    if data.eligible:
        cells = {(g.sector.value, p) for g in data.eligibility for p in g.pcodes}
        if cells:
            await session.execute(
                insert(ngo_presence)
                .values([{"ngo_id": data.ngo_id, "sector": s, "pcode": p} for s, p in cells])
                .on_conflict_do_nothing()
            )
    return True


async def apply_agreement(session: AsyncSession, data: AgreementState) -> bool:
    values = {
        "agreement_id": data.agreement_id,
        "version": data.version,
        "title": data.title,
        "status": data.status.value,
        "ngo_ids": [str(p.ngo_id) for p in data.parties],
        "sectors": [s.value for s in data.sectors],
        "pcodes": data.pcodes,
        "reporting_obligations": [o.model_dump(mode="json") for o in data.reporting_obligations],
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "updated_at": data.updated_at,
    }
    return await upsert_if_newer(session, agreements, "agreement_id", values)


async def apply_report(session: AsyncSession, data: AgreementReportSubmitted) -> bool:
    """Keep a received report; False when that period's report is already held."""
    inserted = await session.execute(
        insert(report_submissions)
        .values(
            agreement_id=data.agreement_id,
            obligation=data.obligation,
            period_end=data.period_end,
            submission_id=data.submission_id,
            ngo_id=data.ngo_id,
            submitted_on=data.submitted_on,
            submitted_at=data.submitted_at,
            version=data.version,
        )
        .on_conflict_do_nothing()
        .returning(report_submissions.c.submission_id)
    )
    return inserted.first() is not None


def build_registry_router(*, live: bool = True) -> EventRouter:
    router = EventRouter(CATALOG)

    async def on_ngo(session: AsyncSession, event: CloudEvent, data: NgoState) -> None:
        if await apply_ngo(session, data) and live:
            await notify_change(session, "ngo", event, ngo_id=data.ngo_id)

    async def on_agreement(session: AsyncSession, event: CloudEvent, data: AgreementState) -> None:
        if await apply_agreement(session, data) and live:
            await notify_change(session, "agreement", event, agreement_id=data.agreement_id)

    @router.on(AgreementReportSubmitted)
    async def on_report(
        session: AsyncSession, event: CloudEvent, data: AgreementReportSubmitted
    ) -> None:
        if await apply_report(session, data) and live:
            await notify_change(session, "agreement", event, agreement_id=data.agreement_id)

    for ngo_model in (NgoRegistered, NgoUpdated, NgoVettingChanged, NgoEligibilityChanged):
        router.on(ngo_model)(on_ngo)
    for agreement_model in (
        AgreementCreated,
        AgreementUpdated,
        AgreementActivated,
        AgreementExpiring,
        AgreementExpired,
        AgreementTerminated,
    ):
        router.on(agreement_model)(on_agreement)
    return router
