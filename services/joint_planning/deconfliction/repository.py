"""The queries deconfliction runs. Each starts from an index on place and time, so its cost
grows with what is near, not with how many notifications and operations exist."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Row, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.notifications import (
    Conflict,
    Notification,
    NotificationArea,
    NotificationCell,
)
from services.joint_planning.db.models.operations import OperationArea, OperationCell, Participant
from services.joint_planning.db.models.replicas import IncidentReplica


async def reindex_notification(
    session: AsyncSession, notification: Notification, cells: Iterable[int], *, live: bool
) -> None:
    """The notification's rows in the lookup tables: its counties and corridor cells while it
    is live, none once it is cancelled."""
    await session.execute(
        delete(NotificationArea).where(NotificationArea.notification_id == notification.id)
    )
    await session.execute(
        delete(NotificationCell).where(NotificationCell.notification_id == notification.id)
    )
    if not live:
        return
    window = {"starts_at": notification.starts_at, "ends_at": notification.ends_at}
    areas = [
        {"notification_id": notification.id, "pcode": p, **window} for p in notification.pcodes
    ]
    if areas:
        await session.execute(insert(NotificationArea), areas)
    rows = [{"notification_id": notification.id, "cell": c, **window} for c in sorted(set(cells))]
    if rows:
        await session.execute(insert(NotificationCell), rows)


async def operation_areas_touching(
    session: AsyncSession,
    *,
    pcodes: Sequence[str],
    starts_at: datetime,
    ends_at: datetime,
    ngo_id: uuid.UUID,
) -> Sequence[Row[uuid.UUID, str, datetime, datetime]]:
    """(operation, area, start, end) of live operations named by any of `pcodes` (a county
    and the areas containing it) whose timeframe overlaps the window, leaving out those the
    NGO itself takes part in (it knows about them)."""
    own = exists().where(
        Participant.operation_id == OperationArea.operation_id,
        Participant.ngo_id == ngo_id,
        Participant.removed_at.is_(None),
    )
    query = (
        select(
            OperationArea.operation_id,
            OperationArea.pcode,
            OperationArea.starts_at,
            OperationArea.ends_at,
        )
        .where(
            OperationArea.pcode.in_(list(pcodes)),
            OperationArea.starts_at < ends_at,
            OperationArea.ends_at > starts_at,
            ~own,
        )
        .order_by(OperationArea.operation_id, OperationArea.pcode)
    )
    return (await session.execute(query)).all()


async def operation_cells_touching(
    session: AsyncSession,
    *,
    cells: Iterable[int],
    starts_at: datetime,
    ends_at: datetime,
    ngo_id: uuid.UUID,
) -> Sequence[Row[uuid.UUID, int, datetime, datetime]]:
    """(operation, cell, start, end) of live operations whose polygons cover any of the
    route's `cells` in the window, leaving out the NGO's own: one probe per cell on
    `operation_cells (cell, starts_at)`."""
    own = exists().where(
        Participant.operation_id == OperationCell.operation_id,
        Participant.ngo_id == ngo_id,
        Participant.removed_at.is_(None),
    )
    query = (
        select(
            OperationCell.operation_id,
            OperationCell.cell,
            OperationCell.starts_at,
            OperationCell.ends_at,
        )
        .where(
            OperationCell.cell.in_(sorted(set(cells))),
            OperationCell.starts_at < ends_at,
            OperationCell.ends_at > starts_at,
            ~own,
        )
        .order_by(OperationCell.operation_id, OperationCell.cell)
    )
    return (await session.execute(query)).all()


async def incidents_near(
    session: AsyncSession, *, notification_id: uuid.UUID, since: datetime, until: datetime
) -> Sequence[IncidentReplica]:
    """Incidents (not duplicates of another report) in the notification's corridor cells,
    between the two times: one index probe per cell on `incidents (cell, occurred_at)`."""
    corridor = select(NotificationCell.cell).where(
        NotificationCell.notification_id == notification_id
    )
    query = (
        select(IncidentReplica)
        .where(
            IncidentReplica.cell.in_(corridor),
            IncidentReplica.occurred_at >= since,
            IncidentReplica.occurred_at <= until,
            IncidentReplica.duplicate_of.is_(None),
        )
        .order_by(IncidentReplica.occurred_at, IncidentReplica.incident_id)
    )
    return (await session.scalars(query)).all()


async def notifications_in_counties(
    session: AsyncSession, *, counties: Sequence[str], starts_at: datetime, ends_at: datetime
) -> set[uuid.UUID]:
    query = select(NotificationArea.notification_id).where(
        NotificationArea.pcode.in_(list(counties)),
        NotificationArea.ends_at > starts_at,
        NotificationArea.starts_at < ends_at,
    )
    return set((await session.scalars(query)).all())


async def notifications_in_cells(
    session: AsyncSession, *, cells: Iterable[int], starts_at: datetime, ends_at: datetime
) -> set[uuid.UUID]:
    """Live notifications whose corridor holds any of `cells` and whose window overlaps (a
    superset of those whose route does: the check decides)."""
    query = select(NotificationCell.notification_id).where(
        NotificationCell.cell.in_(sorted(set(cells))),
        NotificationCell.ends_at > starts_at,
        NotificationCell.starts_at < ends_at,
    )
    return set((await session.scalars(query)).all())


async def notifications_in_cell(
    session: AsyncSession, *, cell: int, not_ended_before: datetime
) -> set[uuid.UUID]:
    query = select(NotificationCell.notification_id).where(
        NotificationCell.cell == cell, NotificationCell.ends_at >= not_ended_before
    )
    return set((await session.scalars(query)).all())


async def notifications_conflicting_with(
    session: AsyncSession, source_id: uuid.UUID
) -> set[uuid.UUID]:
    query = select(Conflict.notification_id).where(
        Conflict.source_id == source_id, Conflict.cleared_at.is_(None)
    )
    return set((await session.scalars(query)).all())


async def open_conflicts(session: AsyncSession, notification_id: uuid.UUID) -> Sequence[Conflict]:
    query = (
        select(Conflict)
        .where(Conflict.notification_id == notification_id, Conflict.cleared_at.is_(None))
        .order_by(Conflict.flagged_at, Conflict.id)
    )
    return (await session.scalars(query)).all()


async def conflicts_of(session: AsyncSession, notification_id: uuid.UUID) -> Sequence[Conflict]:
    """Every conflict of the notification, open and cleared, oldest first."""
    query = (
        select(Conflict)
        .where(Conflict.notification_id == notification_id)
        .order_by(Conflict.flagged_at, Conflict.id)
    )
    return (await session.scalars(query)).all()


async def lock_notifications(
    session: AsyncSession, notification_ids: Iterable[uuid.UUID]
) -> Sequence[Notification]:
    """Lock the notifications in id order (two re-checks never deadlock) and return them."""
    ids = sorted(set(notification_ids))
    if not ids:
        return []
    query = select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
    return (await session.scalars(query.with_for_update())).all()
