"""Queries on vetting decisions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import VettingDecision


async def decisions_of(session: AsyncSession, ngo_id: uuid.UUID) -> Sequence[VettingDecision]:
    """The NGO's vetting history, oldest decision first."""
    query = (
        select(VettingDecision)
        .where(VettingDecision.ngo_id == ngo_id)
        .order_by(VettingDecision.decided_at, VettingDecision.id)
    )
    return (await session.scalars(query)).all()
