"""Queries on report submissions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import ReportSubmission


async def find(
    session: AsyncSession, agreement_id: uuid.UUID, obligation: str, period_end: date
) -> ReportSubmission | None:
    query = select(ReportSubmission).where(
        ReportSubmission.agreement_id == agreement_id,
        ReportSubmission.obligation == obligation,
        ReportSubmission.period_end == period_end,
    )
    return (await session.scalars(query)).one_or_none()


async def list_for(session: AsyncSession, agreement_id: uuid.UUID) -> Sequence[ReportSubmission]:
    query = (
        select(ReportSubmission)
        .where(ReportSubmission.agreement_id == agreement_id)
        .order_by(ReportSubmission.obligation, ReportSubmission.period_end)
    )
    return (await session.scalars(query)).all()
