"""Triage of a stored request: its priority score, its duplicate cluster, its first offer.

A submission's 201 needs only the request row and its outbox row; triage follows within
milliseconds, in the triage worker (`triage/tasks.py`), and the field unit sees the outcome on
the request's status (`submitted` → `triaged` → `offered`, or linked into a cluster). One pass
takes the oldest untriaged requests in one transaction, under one advisory lock shared by every
replica (`serialise_triage`), each request in its own savepoint:

- the order is submission order, and a request's duplicate search only looks at requests
  already triaged, so two near-duplicates cannot each join the other's cluster;
- a request that fails for a reason of its own (a bug, a bad row) rolls back alone and is
  held back for a while; the rest of the pass commits. A database that is away aborts the
  pass: nothing was written, and the next pass takes the same requests again;
- ops' decisions made while a request waited stand: an overridden priority is kept, and a
  request ops already linked or unlinked is not searched for duplicates again;
- a request cancelled meanwhile is no longer `submitted`, so it is never triaged.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request import repository as requests
from services.humanitarian_requests.aid_request.service.intake import response_window
from services.humanitarian_requests.aid_request.triage import find_request_duplicate, priority_score
from services.humanitarian_requests.common.events import record_transition, touch
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest, NgoReplica
from services.humanitarian_requests.matching.repository import eligible_ngos
from services.humanitarian_requests.matching.service import offer_next
from services.humanitarian_requests.triage import repository
from shared.events.schemas.humanitarian_requests import (
    AidRequestDuplicateLinked,
    AidRequestTriaged,
    RequestStatus,
)
from shared.logging import get_logger
from shared.transient import is_transient

log = get_logger(__name__)

TRIAGE_LOCK = zlib.crc32(b"concord.humanitarian_requests.triage")
DEAD_CLUSTER = (RequestStatus.cancelled, RequestStatus.closed, RequestStatus.fulfilled)


@dataclass
class Pass:
    """What one pass did: the requests it triaged, and those that failed on their own."""

    triaged: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.triaged) + len(self.failed)


async def triage_pass(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    limit: int,
    held_back: Collection[uuid.UUID] = (),
) -> Pass:
    """Triage up to `limit` of the oldest untriaged requests in the caller's transaction.

    The fast path triages the whole pass in one savepoint, with the NGO replica read once:
    a savepoint per request costs two round trips, and a round trip is what a request's
    triage mostly costs. If any request fails for a reason of its own, that savepoint rolls
    back and the careful path takes the same requests again, each in its own savepoint, so
    the one that fails is held back alone."""
    await repository.serialise_triage(session, TRIAGE_LOCK)
    rows = await repository.claim_untriaged(session, limit=limit, held_back=held_back)
    if not rows:
        return Pass()
    ids = [row.id for row in rows]
    try:
        async with session.begin_nested():
            replica = await eligible_ngos(session)
            for row in rows:
                await triage(session, row, settings=settings, now=now, replica=replica)
                # What the next request's duplicate search and NGO load must see.
                await session.flush()
    except Exception as exc:
        if is_transient(exc):
            raise
        log.warning("triage.pass_fallback", requests=len(ids), error=repr(exc))
    else:
        return Pass(triaged=ids)
    # The rollback expired the rows: read them again (still locked by this transaction).
    outcome = Pass()
    for row in await repository.claim_untriaged(session, limit=limit, held_back=held_back):
        request_id = row.id
        try:
            async with session.begin_nested():
                await triage(session, row, settings=settings, now=now)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.error("triage.request_failed", request_id=str(request_id), error=repr(exc))
            outcome.failed.append(request_id)
            continue
        outcome.triaged.append(request_id)
    return outcome


async def triage(
    session: AsyncSession,
    row: AidRequest,
    *,
    settings: Settings,
    now: datetime,
    replica: Sequence[NgoReplica] | None = None,
) -> None:
    """Score the (locked, submitted) request, link it into a live cluster nearby or offer it
    (to an NGO of `replica`, the eligible NGOs read at the pass's start, when given)."""
    if not row.priority_overridden:
        row.priority_score = priority_score(
            urgency=row.urgency,  # type: ignore[arg-type]
            affected_total=row.affected_total,
            sector=row.sector,  # type: ignore[arg-type]
            vulnerability_count=len(row.vulnerability),
        )
    row.status = RequestStatus.triaged
    row.triaged_at = now
    touch(row, now)
    await record_transition(session, row, AidRequestTriaged, actor="system")
    if row.version > 2 and await repository.linked_by_hand(session, row.id):
        # Ops linked it while it waited (it waits with its cluster) or unlinked it (offer it).
        if row.duplicate_of is None:
            await offer_next(
                session, row, now=now, response_window=response_window(settings), replica=replica
            )
        return
    duplicate = await find_request_duplicate(
        session,
        row,
        radius_km=settings.duplicate_radius_km,
        window=timedelta(hours=settings.duplicate_window_hours),
    )
    if duplicate is not None and not await _cluster_still_live(session, duplicate.cluster_id):
        duplicate = None
    if duplicate is not None:
        # One cluster, one offer: the duplicate waits with its cluster instead of being
        # offered again; ops can unlink it.
        row.duplicate_of = duplicate.cluster_id
        row.cluster_id = duplicate.cluster_id
        touch(row, now)
        await record_transition(
            session,
            row,
            AidRequestDuplicateLinked,
            actor="system",
            linked_by="triage",
            reason=f"same sector within {settings.duplicate_radius_km} km",
        )
        return
    await offer_next(
        session, row, now=now, response_window=response_window(settings), replica=replica
    )


async def _cluster_still_live(session: AsyncSession, root_id: uuid.UUID) -> bool:
    """Share-lock the cluster's root and re-read it. A cancel of the root in flight holds its
    row lock: we wait for it, then see it cancelled and do not join a cluster whose cancel
    could not hand us on (it only sees committed members)."""
    root = await requests.share_lock(session, root_id)
    return root is not None and root.status not in DEAD_CLUSTER
