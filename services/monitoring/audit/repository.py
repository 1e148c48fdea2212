"""Queries over the audit log: by entity, actor and time, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.audit import audit_log


async def search(
    session: AsyncSession,
    *,
    subject: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.position.desc()).limit(limit)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if since is not None:
        query = query.where(audit_log.c.occurred_at >= since)
    if until is not None:
        query = query.where(audit_log.c.occurred_at < until)
    if before is not None:
        query = query.where(audit_log.c.position < before)
    rows = (await session.execute(query)).all()
    return [
        {
            "position": row.position,
            "event_id": str(row.event_id),
            "event_type": row.event_type,
            "topic": row.topic,
            "subject": row.subject,
            "actor": row.actor,
            "occurred_at": row.occurred_at.isoformat(),
            "recorded_at": row.recorded_at.isoformat(),
            "hash": row.hash,
            "prev_hash": row.prev_hash,
            "sensitivity": row.sensitivity,
            "payload_digest": row.payload_digest,
            # Purged by retention: the digest stays in the chain, the event is gone.
            "event": orjson.loads(row.canonical) if row.canonical is not None else None,
            "purged_at": row.purged_at.isoformat() if row.purged_at else None,
        }
        for row in rows
    ]
