"""Queries on coordination meetings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.operations import Participant
from services.joint_planning.db.models.work import Meeting


async def get(
    session: AsyncSession, meeting_id: uuid.UUID, *, lock: bool = False
) -> Meeting | None:
    query = select(Meeting).where(Meeting.id == meeting_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def list_meetings(
    session: AsyncSession, *, operation_id: uuid.UUID | None, ngo_id: uuid.UUID | None
) -> Sequence[Meeting]:
    """The latest 200 meetings, of one operation if given. With `ngo_id`, only those the NGO
    attended or of operations it takes part in (the caller passes it for NGO principals)."""
    query = select(Meeting).order_by(Meeting.held_at.desc(), Meeting.id).limit(200)
    if operation_id is not None:
        query = query.where(Meeting.operation_id == operation_id)
    if ngo_id is not None:
        mine = select(Participant.operation_id).where(
            Participant.ngo_id == ngo_id, Participant.removed_at.is_(None)
        )
        query = query.where(
            or_(
                Meeting.operation_id.in_(mine),
                Meeting.attendees.contains([{"ngo_id": str(ngo_id)}]),
            )
        )
    return (await session.scalars(query)).all()
