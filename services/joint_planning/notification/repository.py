"""Queries on notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.notifications import Notification
from shared.events.schemas.joint_planning import NotificationStatus


async def get(
    session: AsyncSession, notification_id: uuid.UUID, *, lock: bool = False
) -> Notification | None:
    query = select(Notification).where(Notification.id == notification_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).one_or_none()


async def list_notifications(
    session: AsyncSession,
    *,
    ngo_id: uuid.UUID | None,
    status: NotificationStatus | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Notification], int]:
    query = select(Notification)
    if ngo_id is not None:
        query = query.where(Notification.ngo_id == ngo_id)
    if status is not None:
        query = query.where(Notification.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(
        query.order_by(Notification.starts_at.desc(), Notification.id).limit(limit).offset(offset)
    )
    return page.all(), int(total or 0)
