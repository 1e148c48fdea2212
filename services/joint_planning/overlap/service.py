"""Overlap detection: two operations planning the same sector in the same area over
overlapping periods, carried by different actors, may be duplicating each other's work.

Each pair is warned about once per sector (the `overlap_warnings` primary key decides, so a
re-run or a concurrent detection says nothing twice), with one event per operation of the
pair so that both sides hear of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.areas import overlapping, related
from services.joint_planning.common.history import record
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.operations import Operation, Participant
from services.joint_planning.deconfliction.geometry import polygon_counties
from services.joint_planning.operation import repository
from services.joint_planning.operation.state import LIVE
from services.joint_planning.overlap import repository as overlap_queries
from shared.events.schemas import CATALOG
from shared.events.schemas.joint_planning import (
    OperationDuplicationWarned,
    ParticipantRole,
)
from shared.logging import get_logger
from shared.vocabulary import Sector

log = get_logger(__name__)

ACTING_ROLES = (ParticipantRole.lead, ParticipantRole.implementing)


def actors_of(participants: Sequence[Participant]) -> list[str]:
    """Who carries the operation: its lead and implementing participants."""
    found = {
        f"ngo:{p.ngo_id}" if p.ngo_id else f"{p.component}:{p.name}"
        for p in participants
        if p.role in ACTING_ROLES
    }
    return sorted(found)


def covered_areas(operation: Operation) -> list[str]:
    """What the operation covers as P-codes: its areas and the counties its polygons reach."""
    return list(dict.fromkeys([*operation.areas, *polygon_counties(operation.polygons)]))


async def _candidates(session: AsyncSession, operation: Operation) -> Sequence[Operation]:
    """Other live operations whose timeframe overlaps and that may share an area: those with
    a P-code area related to what this one covers (index on pcode), and those drawn as
    polygons (index on their cells' timeframe; their counties are compared by the caller)."""
    return await overlap_queries.candidates(session, operation, related(covered_areas(operation)))


async def _warn(
    session: AsyncSession,
    *,
    operation: Operation,
    other: Operation,
    sector: str,
    areas: list[str],
    actors: list[str],
    other_actors: list[str],
    now: datetime,
) -> bool:
    start, end = max(operation.starts_at, other.starts_at), min(operation.ends_at, other.ends_at)
    warning_id = uuid.uuid4()
    recorded = await overlap_queries.add_warning_once(
        session,
        operation_id=operation.id,
        other_operation_id=other.id,
        sector=sector,
        warning_id=warning_id,
        areas=areas,
        overlap_starts_at=start,
        overlap_ends_at=end,
        warned_at=now,
    )
    if not recorded:
        return False
    event = OperationDuplicationWarned(
        warning_id=warning_id,
        operation_id=operation.id,
        other_operation_id=other.id,
        sector=Sector(sector),
        areas=areas,
        overlap_starts_at=start,
        overlap_ends_at=end,
        actors=actors,
        other_actors=other_actors,
        warned_at=now,
    )
    await outbox.add(session, event, subject=operation.id)
    record(
        session,
        operation_id=operation.id,
        entity_type="operation",
        entity_id=operation.id,
        event_type=CATALOG.for_model(OperationDuplicationWarned).name,
        actor="system",
        detail={"other_operation_id": str(other.id), "sector": sector, "areas": areas},
    )
    return True


async def detect_overlaps(session: AsyncSession, operation: Operation) -> int:
    """Warn about every live operation this one duplicates; returns the warnings given."""
    if operation.status not in LIVE:
        return 0
    actors = actors_of(await repository.participants_of(session, operation.id))
    now = datetime.now(UTC)
    given = 0
    for other in await _candidates(session, operation):
        other_actors = actors_of(await repository.participants_of(session, other.id))
        if not actors or not other_actors or actors == other_actors:
            continue
        areas = overlapping(covered_areas(operation), covered_areas(other))
        if not areas:
            continue
        for sector in sorted(set(operation.sectors) & set(other.sectors)):
            for this, that, ours, theirs in (
                (operation, other, actors, other_actors),
                (other, operation, other_actors, actors),
            ):
                given += await _warn(
                    session,
                    operation=this,
                    other=that,
                    sector=sector,
                    areas=areas,
                    actors=ours,
                    other_actors=theirs,
                    now=now,
                )
    if given:
        log.info("overlap.warned", operation_id=str(operation.id), warnings=given)
    return given
