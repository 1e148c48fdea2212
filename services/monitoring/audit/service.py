"""Use cases of the audit trail over HTTP: search it, and verify its chain and holes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.access import View, bulk_view
from services.monitoring.access_audit.service import record_restricted_read
from services.monitoring.audit import repository
from services.monitoring.audit.gaps import verify_trail
from services.monitoring.audit.schemas import AuditedEvent, ChainVerification
from shared.auth import Principal
from shared.events.schemas.monitoring import AccessedRecords
from shared.vocabulary import Sensitivity

RESTRICTED = Sensitivity.restricted.value


async def search_events(
    session: AsyncSession,
    principal: Principal,
    *,
    purpose: str | None,
    route: str,
    subject: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
) -> list[AuditedEvent]:
    """Audited events, newest first, filtered by entity, actor and time of the event.

    A restricted event's payload is a restricted record: it is served only in the full view
    (an entitled reader with a `purpose`), and those served are recorded in the access log;
    otherwise it is withheld (`event` null, `details_withheld`), its chain columns stay."""
    found = await repository.search(
        session, subject=subject, actor=actor, since=since, until=until, before=before, limit=limit
    )
    view = bulk_view(principal, purpose)
    restricted = [e for e in found if e["sensitivity"] == RESTRICTED and e["event"] is not None]
    if view is View.full:
        await record_restricted_read(
            session,
            principal,
            route=route,
            records=AccessedRecords.audited_event,
            entity_ids=[uuid.UUID(e["event_id"]) for e in restricted],
            purpose=purpose,
        )
    else:
        for event in restricted:
            event["event"] = None
            event["details_withheld"] = True
    return [AuditedEvent.model_validate(event) for event in found]


async def verify(session: AsyncSession, *, missing_limit: int) -> ChainVerification:
    """Re-hash the whole chain on this session's connection, and list its holes."""
    connection = await session.connection()
    verification = await verify_trail(connection, missing_limit=missing_limit)
    return ChainVerification.model_validate(verification.as_dict())
