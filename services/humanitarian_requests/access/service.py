"""The access audit: every restricted record served in full is recorded, in the read's own
transaction (a row in `access_log`) and through the outbox (`access.restricted_read.v1`), so
monitoring's audit chain sees every read. Who, what, when, and why (`purpose`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.db.models.tables import AccessLogEntry
from shared.auth import Principal
from shared.events.schemas.humanitarian_requests import RestrictedReadRecorded


async def record_restricted_reads(
    session: AsyncSession,
    principal: Principal,
    *,
    entity_type: str,
    entity_ids: Iterable[uuid.UUID],
    route: str,
    purpose: str | None,
    now: datetime,
) -> int:
    """Record one read per entity; returns how many were recorded."""
    count = 0
    roles = sorted(r.value for r in principal.roles)
    for entity_id in entity_ids:
        entry = AccessLogEntry(
            id=uuid.uuid4(),
            subject=principal.subject,
            roles=roles,
            entity_type=entity_type,
            entity_id=entity_id,
            route=route,
            purpose=purpose,
            at=now,
        )
        session.add(entry)
        event = RestrictedReadRecorded(
            access_id=entry.id,
            subject=entry.subject,
            roles=roles,
            entity_type=entity_type,
            entity_id=entity_id,
            route=route,
            purpose=purpose,
            at=now,
        )
        await outbox.add(session, event, subject=entity_id)
        count += 1
    if count:
        await session.flush()
    return count
