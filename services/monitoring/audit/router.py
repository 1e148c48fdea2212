"""The audit trail over HTTP: search it and verify its chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.monitoring.access import Purpose, Staff
from services.monitoring.audit import service
from services.monitoring.audit.schemas import AuditedEvent, ChainVerification
from shared.deps import DbSession

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/events", summary="Search the audit trail", response_model_exclude_unset=True)
async def search_events(
    session: DbSession,
    principal: Staff,
    subject: Annotated[str | None, Query(description="The entity (aggregate id)")] = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Page: positions below this")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    purpose: Purpose = None,
) -> list[AuditedEvent]:
    """Audited events, newest first, filtered by entity, actor and time of the event. The
    payload of a restricted event is withheld (`details_withheld`) unless an entitled reader
    (protection officer, administrator, granted ops centre) gives a `purpose`; those served
    are recorded in the access log."""
    return await service.search_events(
        session,
        principal,
        purpose=purpose,
        route="/api/audit/events",
        subject=subject,
        actor=actor,
        since=since,
        until=until,
        before=before,
        limit=limit,
    )


@router.get("/verify", summary="Verify the audit chain and find its holes")
async def verify(
    session: DbSession,
    principal: Staff,
    missing_limit: Annotated[
        int, Query(ge=0, le=1000, description="How many missing events to list (latest first)")
    ] = 100,
) -> ChainVerification:
    """Re-hash the whole chain; `ok` false names the first broken row and why.

    `complete` false means the chain is missing events the audit consumer dead-lettered
    (`missing_count`, and the latest of them in `missing`, each with its original topic,
    partition, offset and error): an intact chain with holes is not a whole trail.
    `summary` says both in one line."""
    return await service.verify(session, missing_limit=missing_limit)
