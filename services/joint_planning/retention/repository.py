"""Queries of the retention sweep: the replica's incidents that are due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.replicas import IncidentReplica
from shared.vocabulary import Sensitivity


async def lock_due_incidents(
    session: AsyncSession, *, cutoff: datetime
) -> Sequence[IncidentReplica]:
    """Lock the restricted incidents unchanged since before `cutoff` and not purged since
    their last change. One the incident consumer is applying now is skipped (it is due again
    at the next sweep)."""
    query = (
        select(IncidentReplica)
        .where(
            IncidentReplica.sensitivity == Sensitivity.restricted.value,
            IncidentReplica.updated_at < cutoff,
            or_(
                IncidentReplica.purged_at.is_(None),
                IncidentReplica.updated_at > IncidentReplica.purged_at,
            ),
        )
        .order_by(IncidentReplica.incident_id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()
