"""The eligibility replica: the registry's NGO state, applied only when newer."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.replicas import NgoEligibility
from shared.db import upsert_if_newer
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
    return await upsert_if_newer(session, NgoEligibility, "ngo_id", values)
