"""The overdue sweep: tasks past their due date unfinished, milestones past theirs unreached.

State lives in the rows, not in this process: a task is due for its warning while it is
unfinished, past `due_at` and `overdue_notified_at` is empty; a milestone while it is
`pending` and past `due_at`. Each pass picks a batch with `FOR UPDATE SKIP LOCKED` (replicas
share the work without waiting on each other or doing it twice), marks the rows and writes
their events in one transaction, and commits. A crash mid-batch rolls the batch back and the
next pass picks it up again; a marked row no longer matches, so each event goes out once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.joint_planning.common import parts
from services.joint_planning.common.principals import SYSTEM
from services.joint_planning.overdue import repository
from shared.db import unit_of_work
from shared.events.schemas.joint_planning import MilestoneMissed, MilestoneStatus, TaskOverdue
from shared.logging import get_logger

log = get_logger(__name__)

BATCH = 100


@dataclass
class SweepResult:
    tasks_overdue: int = 0
    milestones_missed: int = 0


async def _overdue_tasks(session: AsyncSession, now: datetime) -> int:
    due = await repository.overdue_tasks_to_notify(session, now, limit=BATCH)
    for task in due:
        task.overdue_notified_at = now
        await parts.publish_task(session, task, TaskOverdue, actor=SYSTEM)
    return len(due)


async def _missed_milestones(session: AsyncSession, now: datetime) -> int:
    due = await repository.pending_milestones_past_due(session, now, limit=BATCH)
    for milestone in due:
        milestone.status = MilestoneStatus.missed
        await parts.publish_milestone(session, milestone, MilestoneMissed, actor=SYSTEM)
    return len(due)


async def sweep_once(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime
) -> SweepResult:
    """Run both steps until nothing is due; one transaction per batch."""
    result = SweepResult()
    while True:
        async with unit_of_work(sessionmaker) as session:
            found = await _overdue_tasks(session, now)
        result.tasks_overdue += found
        if found < BATCH:
            break
    while True:
        async with unit_of_work(sessionmaker) as session:
            found = await _missed_milestones(session, now)
        result.milestones_missed += found
        if found < BATCH:
            break
    if result.tasks_overdue or result.milestones_missed:
        log.info(
            "overdue.swept",
            tasks_overdue=result.tasks_overdue,
            milestones_missed=result.milestones_missed,
        )
    return result
