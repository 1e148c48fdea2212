"""Queries of overlap detection: candidate operations, and the once-per-pair warning rows."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.operations import (
    Operation,
    OperationArea,
    OperationCell,
    OverlapWarning,
)


async def candidates(
    session: AsyncSession, operation: Operation, pcodes: Collection[str]
) -> Sequence[Operation]:
    """Other operations sharing a sector whose timeframe overlaps this one's and that may
    share an area: those with a P-code area among `pcodes` (index on pcode), and those drawn
    as polygons (index on their cells' timeframe; their counties are compared by the caller).
    In id order."""
    by_pcode = select(OperationArea.operation_id).where(
        OperationArea.pcode.in_(pcodes),
        OperationArea.starts_at < operation.ends_at,
        OperationArea.ends_at > operation.starts_at,
        OperationArea.operation_id != operation.id,
    )
    by_polygon = select(OperationCell.operation_id).where(
        OperationCell.starts_at < operation.ends_at,
        OperationCell.ends_at > operation.starts_at,
        OperationCell.operation_id != operation.id,
    )
    query = (
        select(Operation)
        .where(
            Operation.id.in_(by_pcode.union(by_polygon)),
            Operation.sectors.overlap(list(operation.sectors)),
        )
        .order_by(Operation.id)
    )
    return (await session.scalars(query)).all()


async def add_warning_once(
    session: AsyncSession,
    *,
    operation_id: uuid.UUID,
    other_operation_id: uuid.UUID,
    sector: str,
    warning_id: uuid.UUID,
    areas: list[str],
    overlap_starts_at: datetime,
    overlap_ends_at: datetime,
    warned_at: datetime,
) -> bool:
    """Record the warning unless the pair was already warned about for this sector; True if
    this call recorded it. The primary key decides, so concurrent detections warn once."""
    inserted = await session.scalar(
        insert(OverlapWarning)
        .values(
            operation_id=operation_id,
            other_operation_id=other_operation_id,
            sector=sector,
            warning_id=warning_id,
            areas=areas,
            overlap_starts_at=overlap_starts_at,
            overlap_ends_at=overlap_ends_at,
            warned_at=warned_at,
        )
        .on_conflict_do_nothing()
        .returning(OverlapWarning.warning_id)
    )
    return inserted is not None
