"""Queries on milestones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.work import Milestone


async def get(
    session: AsyncSession, milestone_id: uuid.UUID, *, lock: bool = False
) -> Milestone | None:
    query = select(Milestone).where(Milestone.id == milestone_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def of_operation(session: AsyncSession, operation_id: uuid.UUID) -> Sequence[Milestone]:
    """The operation's milestones, soonest due first."""
    query = (
        select(Milestone)
        .where(Milestone.operation_id == operation_id)
        .order_by(Milestone.due_at, Milestone.id)
    )
    return (await session.scalars(query)).all()
