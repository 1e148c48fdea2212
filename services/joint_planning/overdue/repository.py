"""Queries of the overdue sweep: the next batch of tasks and milestones past their due date.

Both lock with `FOR UPDATE SKIP LOCKED`: replicas sweeping at once each take rows the others
have not, instead of waiting on them or warning twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.work import OPEN_TASK_STATUSES, Milestone, Task
from shared.events.schemas.joint_planning import MilestoneStatus


async def overdue_tasks_to_notify(
    session: AsyncSession, now: datetime, *, limit: int
) -> Sequence[Task]:
    """Unfinished tasks past `due_at` not yet warned about, oldest due first, locked."""
    query = (
        select(Task)
        .where(
            Task.status.in_(OPEN_TASK_STATUSES),
            Task.overdue_notified_at.is_(None),
            Task.due_at < now,
        )
        .order_by(Task.due_at, Task.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def pending_milestones_past_due(
    session: AsyncSession, now: datetime, *, limit: int
) -> Sequence[Milestone]:
    """Pending milestones past `due_at`, oldest due first, locked."""
    query = (
        select(Milestone)
        .where(Milestone.status == MilestoneStatus.pending, Milestone.due_at < now)
        .order_by(Milestone.due_at, Milestone.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()
