"""Use cases of the audit trail over HTTP: search it, and verify its chain and holes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.audit import repository
from services.monitoring.audit.gaps import verify_trail
from services.monitoring.audit.schemas import AuditedEvent, ChainVerification


async def search_events(
    session: AsyncSession,
    *,
    subject: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
) -> list[AuditedEvent]:
    """Audited events, newest first, filtered by entity, actor and time of the event."""
    found = await repository.search(
        session, subject=subject, actor=actor, since=since, until=until, before=before, limit=limit
    )
    return [AuditedEvent.model_validate(event) for event in found]


async def verify(session: AsyncSession, *, missing_limit: int) -> ChainVerification:
    """Re-hash the whole chain on this session's connection, and list its holes."""
    connection = await session.connection()
    verification = await verify_trail(connection, missing_limit=missing_limit)
    return ChainVerification.model_validate(verification.as_dict())
