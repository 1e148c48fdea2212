"""Queries of the triage queue: the untriaged requests, and whether ops already linked one."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.db.models.tables import AidRequest, HistoryEntry
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import AidRequestDuplicateLinked, RequestStatus

DUPLICATE_LINKED = CATALOG.for_model(AidRequestDuplicateLinked).name


async def serialise_triage(session: AsyncSession, key: int) -> None:
    """Wait for the triage lock, held until this transaction ends: one triage pass at a time
    across every replica, so a request's duplicate search sees every earlier request triaged."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def claim_untriaged(
    session: AsyncSession, *, limit: int, held_back: Collection[uuid.UUID] = ()
) -> Sequence[AidRequest]:
    """The oldest untriaged requests, row-locked; one another transaction holds right now (a
    cancel in flight) is skipped and taken on a later pass."""
    query = (
        select(AidRequest)
        .where(AidRequest.status == RequestStatus.submitted)
        .order_by(AidRequest.submitted_at, AidRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if held_back:
        query = query.where(AidRequest.id.not_in(list(held_back)))
    return (await session.scalars(query)).all()


async def linked_by_hand(session: AsyncSession, request_id: uuid.UUID) -> bool:
    """Ops linked or unlinked the request before it was triaged: their decision stands."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    HistoryEntry.entity_id == request_id,
                    HistoryEntry.event_type == DUPLICATE_LINKED,
                )
            )
        )
    )
