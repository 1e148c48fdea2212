"""The eligibility replica: the registry's NGO state, applied only when newer."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.replicas import NgoEligibility
from shared.events.schemas.ngo_registry import NgoState


async def get(session: AsyncSession, ngo_id: uuid.UUID) -> NgoEligibility | None:
    query = select(NgoEligibility).where(NgoEligibility.ngo_id == ngo_id)
    return (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()


async def upsert(session: AsyncSession, data: NgoState) -> bool:
    """Apply an NGO's state if it is newer than what the replica holds; True if applied."""
    values = {
        "ngo_id": data.ngo_id,
        "name": data.name,
        "vetting_status": data.vetting_status.value,
        "eligible": data.eligible,
        "grants": [g.model_dump(mode="json") for g in data.eligibility],
        "version": data.version,
        "updated_at": data.updated_at,
    }
    statement = insert(NgoEligibility).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[NgoEligibility.ngo_id],
        set_={k: statement.excluded[k] for k in values if k != "ngo_id"},
        where=NgoEligibility.version < statement.excluded.version,
    )
    result = await session.execute(statement)
    return getattr(result, "rowcount", 1) == 1
