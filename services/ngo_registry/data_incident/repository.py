"""Queries of data incidents."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.data_incidents import DataIncident, DataIncidentStep
from shared.events.schemas.ngo_registry import DataIncidentStatus


async def get(
    session: AsyncSession, incident_id: uuid.UUID, *, lock: bool = False
) -> DataIncident | None:
    query = select(DataIncident).where(DataIncident.id == incident_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def page(
    session: AsyncSession, *, status: DataIncidentStatus | None, limit: int, offset: int
) -> list[DataIncident]:
    query = select(DataIncident).order_by(DataIncident.created_at.desc(), DataIncident.id)
    if status is not None:
        query = query.where(DataIncident.status == status)
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


def add_step(
    session: AsyncSession,
    incident: DataIncident,
    *,
    action: str,
    actor: str,
    detail: dict[str, Any],
) -> None:
    session.add(
        DataIncidentStep(
            incident_id=incident.id,
            action=action,
            actor=actor,
            at=incident.updated_at,
            detail=detail,
        )
    )
