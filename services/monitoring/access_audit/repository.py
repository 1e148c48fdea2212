"""Queries of the access audit: the `access_log` rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.access_log import access_log
from shared.events.schemas.monitoring import AccessedRecords


async def add_access(
    session: AsyncSession,
    *,
    access_id: uuid.UUID,
    subject: str,
    roles: list[str],
    route: str,
    records: AccessedRecords,
    entity_ids: Sequence[uuid.UUID],
    export: str | None,
    restricted_records: int,
    purpose: str | None,
    at: datetime,
) -> None:
    """One row for a restricted read, written in the read's own transaction (the caller
    adds its event to the outbox beside it)."""
    await session.execute(
        insert(access_log).values(
            id=access_id,
            subject=subject,
            roles=roles,
            route=route,
            records=records.value,
            entity_ids=[str(entity_id) for entity_id in entity_ids],
            export=export,
            restricted_records=restricted_records,
            purpose=purpose,
            at=at,
        )
    )
