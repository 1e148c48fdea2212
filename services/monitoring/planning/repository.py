"""Writes and reads of the joint planning read models.

Every write goes through `upsert_if_newer`: one `INSERT … ON CONFLICT DO UPDATE … WHERE
held.version < new.version`, so a redelivered, replayed or late older state never replaces a
newer one, and the comparison and the write are one statement (no window between a read and
an update for a concurrent replay to slip into).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.planning import (
    UNFINISHED_TASK_STATUSES,
    planning_conflicts,
    planning_milestones,
    planning_operations,
    planning_tasks,
)
from services.monitoring.db.models.read_models import ngos
from shared.db import upsert_if_newer
from shared.events.schemas.joint_planning import (
    ConflictState,
    MilestoneState,
    OperationState,
    TaskState,
)

LIVE_OPERATION_STATUSES = ("planned", "active")


async def apply_operation(session: AsyncSession, data: OperationState) -> bool:
    return await upsert_if_newer(
        session,
        planning_operations,
        "operation_id",
        {
            "operation_id": data.operation_id,
            "version": data.version,
            "title": data.title,
            "status": data.status.value,
            "sectors": [s.value for s in data.sectors],
            "areas": data.areas,
            "participants": [
                {"participant_id": str(p.participant_id), "name": p.name, "role": p.role.value}
                for p in data.participants
            ],
            "starts_at": data.starts_at,
            "ends_at": data.ends_at,
            "updated_at": data.updated_at,
            "sensitivity": data.sensitivity.value,
        },
    )


async def apply_task(session: AsyncSession, data: TaskState) -> bool:
    return await upsert_if_newer(
        session,
        planning_tasks,
        "task_id",
        {
            "task_id": data.task_id,
            "version": data.version,
            "operation_id": data.operation_id,
            "title": data.title,
            "owner_participant_id": data.owner_participant_id,
            "due_at": data.due_at,
            "priority": data.priority.value,
            "status": data.status.value,
            "overdue": data.overdue,
            "updated_at": data.updated_at,
            "sensitivity": data.sensitivity.value,
        },
    )


async def apply_milestone(session: AsyncSession, data: MilestoneState) -> bool:
    return await upsert_if_newer(
        session,
        planning_milestones,
        "milestone_id",
        {
            "milestone_id": data.milestone_id,
            "version": data.version,
            "operation_id": data.operation_id,
            "title": data.title,
            "due_at": data.due_at,
            "status": data.status.value,
            "reached_at": data.reached_at,
            "updated_at": data.updated_at,
            "sensitivity": data.sensitivity.value,
        },
    )


async def apply_conflict(
    session: AsyncSession, data: ConflictState, *, cleared_reason: str | None = None
) -> bool:
    return await upsert_if_newer(
        session,
        planning_conflicts,
        "conflict_id",
        {
            "conflict_id": data.conflict_id,
            "version": data.version,
            "notification_id": data.notification_id,
            "ngo_id": data.ngo_id,
            "source": data.source.value,
            "source_id": data.source_id,
            "notice": data.notice,
            "near_pcode": data.near_pcode,
            "between_start": data.between_start,
            "between_end": data.between_end,
            "distance_km": data.distance_km,
            "reported_at": data.reported_at,
            "flagged_at": data.flagged_at,
            "cleared_at": data.cleared_at,
            "cleared_reason": cleared_reason,
        },
    )


_OVERDUE = planning_tasks.c.overdue.is_(True) & planning_tasks.c.status.in_(
    UNFINISHED_TASK_STATUSES
)
_OPEN_CONFLICT = planning_conflicts.c.cleared_at.is_(None)
_MISSED = planning_milestones.c.status == "missed"


async def counts(session: AsyncSession) -> dict[str, int]:
    """Open conflicts, overdue tasks, missed milestones and live (planned or active)
    operations; each count reads a partial or status index."""
    conflicts = await session.scalar(select(func.count()).where(_OPEN_CONFLICT))
    tasks = await session.scalar(select(func.count()).where(_OVERDUE))
    milestones = await session.scalar(select(func.count()).where(_MISSED))
    live = await session.scalar(
        select(func.count()).where(planning_operations.c.status.in_(LIVE_OPERATION_STATUSES))
    )
    return {
        "conflicts_open": int(conflicts or 0),
        "tasks_overdue": int(tasks or 0),
        "milestones_missed": int(milestones or 0),
        "operations_live": int(live or 0),
    }


async def open_conflicts(session: AsyncSession, *, limit: int) -> list[RowMapping]:
    """Open conflicts, soonest window first, with the NGO's name and (for a mission
    activity) the operation's title."""
    query = (
        select(
            planning_conflicts,
            ngos.c.name.label("ngo_name"),
            ngos.c.acronym.label("ngo_acronym"),
            planning_operations.c.title.label("operation_title"),
        )
        .join(ngos, ngos.c.ngo_id == planning_conflicts.c.ngo_id, isouter=True)
        .join(
            planning_operations,
            (planning_operations.c.operation_id == planning_conflicts.c.source_id)
            & (planning_conflicts.c.source == "mission_activity"),
            isouter=True,
        )
        .where(_OPEN_CONFLICT)
        .order_by(planning_conflicts.c.between_start, planning_conflicts.c.conflict_id)
        .limit(limit)
    )
    return list((await session.execute(query)).mappings().all())


async def overdue_tasks(session: AsyncSession, *, limit: int) -> list[RowMapping]:
    """Unfinished tasks the sweep found past due, longest overdue first, with their
    operation's title and participants (to name the owner)."""
    query = (
        select(
            planning_tasks,
            planning_operations.c.title.label("operation_title"),
            planning_operations.c.participants.label("participants"),
        )
        .join(
            planning_operations,
            planning_operations.c.operation_id == planning_tasks.c.operation_id,
            isouter=True,
        )
        .where(_OVERDUE)
        .order_by(planning_tasks.c.due_at, planning_tasks.c.task_id)
        .limit(limit)
    )
    return list((await session.execute(query)).mappings().all())


async def missed_milestones(session: AsyncSession, *, limit: int) -> list[RowMapping]:
    query = (
        select(planning_milestones, planning_operations.c.title.label("operation_title"))
        .join(
            planning_operations,
            planning_operations.c.operation_id == planning_milestones.c.operation_id,
            isouter=True,
        )
        .where(_MISSED)
        .order_by(planning_milestones.c.due_at, planning_milestones.c.milestone_id)
        .limit(limit)
    )
    return list((await session.execute(query)).mappings().all())


def hours_since(moment: datetime, now: datetime) -> float:
    return round(max((now - moment).total_seconds(), 0) / 3600, 1)
