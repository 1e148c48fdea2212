"""Queries on tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.work import Task


async def get(session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False) -> Task | None:
    query = select(Task).where(Task.id == task_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def of_operation(session: AsyncSession, operation_id: uuid.UUID) -> Sequence[Task]:
    query = select(Task).where(Task.operation_id == operation_id).order_by(Task.due_at, Task.id)
    return (await session.scalars(query)).all()


async def dependency_graph(
    session: AsyncSession, operation_id: uuid.UUID
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Every task of the operation and the tasks it depends on."""
    rows = await session.execute(
        select(Task.id, Task.depends_on).where(Task.operation_id == operation_id)
    )
    return {task_id: list(depends_on) for task_id, depends_on in rows.all()}
