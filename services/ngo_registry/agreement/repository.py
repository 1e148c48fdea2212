"""Queries on agreements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import Agreement
from shared.events.schemas.ngo_registry import AgreementStatus


async def get(
    session: AsyncSession, agreement_id: uuid.UUID, *, lock: bool = False
) -> Agreement | None:
    query = select(Agreement).where(Agreement.id == agreement_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def active_for_ngo(
    session: AsyncSession, ngo_id: uuid.UUID, today: date
) -> Sequence[Agreement]:
    """Agreements in force today that the NGO is party to (GIN index on `ngo_ids`)."""
    query = select(Agreement).where(
        Agreement.ngo_ids.contains([ngo_id]),
        Agreement.status == AgreementStatus.active,
        Agreement.starts_on <= today,
        Agreement.ends_on >= today,
    )
    return (await session.scalars(query)).all()


async def list_for(
    session: AsyncSession,
    *,
    ngo_id: uuid.UUID | None,
    status: AgreementStatus | None,
    limit: int,
    offset: int,
) -> Sequence[Agreement]:
    query = select(Agreement).order_by(Agreement.created_at.desc(), Agreement.id)
    if ngo_id is not None:
        query = query.where(Agreement.ngo_ids.contains([ngo_id]))
    if status is not None:
        query = query.where(Agreement.status == status)
    return (await session.scalars(query.limit(limit).offset(offset))).all()
