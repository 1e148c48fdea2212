"""Queries of incident reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.db.models.tables import Incident


async def get(
    session: AsyncSession, incident_id: uuid.UUID, *, for_update: bool = False
) -> Incident | None:
    query = select(Incident).where(Incident.id == incident_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def find_by_client_id(session: AsyncSession, unit: str, client_id: str) -> Incident | None:
    return (
        await session.execute(
            select(Incident).where(Incident.reporting_unit == unit, Incident.client_id == client_id)
        )
    ).scalar_one_or_none()


async def list_incidents(
    session: AsyncSession, *, reporting_unit: str | None, limit: int, offset: int
) -> Sequence[Incident]:
    """Newest first; `reporting_unit` None: every unit's."""
    query = select(Incident).order_by(Incident.reported_at.desc(), Incident.id)
    if reporting_unit is not None:
        query = query.where(Incident.reporting_unit == reporting_unit)
    return (await session.scalars(query.limit(limit).offset(offset))).all()
