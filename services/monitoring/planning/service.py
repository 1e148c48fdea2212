"""The planning views: open conflicts and overdue work, from the read models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.planning import repository
from services.monitoring.planning.schemas import (
    ConflictList,
    MissedMilestone,
    OpenConflict,
    OverdueList,
    OverdueTask,
)
from shared.gazetteer import gazetteer


async def list_open_conflicts(session: AsyncSession, *, limit: int) -> ConflictList:
    gaz = gazetteer()
    rows = await repository.open_conflicts(session, limit=limit)
    counted = await repository.counts(session)
    conflicts = []
    for row in rows:
        area = gaz.get(row["near_pcode"])
        conflicts.append(
            OpenConflict(
                conflict_id=row["conflict_id"],
                notification_id=row["notification_id"],
                ngo_id=row["ngo_id"],
                ngo_name=row["ngo_acronym"] or row["ngo_name"],
                source=row["source"],
                source_id=row["source_id"],
                operation_title=row["operation_title"],
                notice=row["notice"],
                near_pcode=row["near_pcode"],
                area_name=area.name if area else row["near_pcode"],
                between_start=row["between_start"],
                between_end=row["between_end"],
                distance_km=row["distance_km"],
                reported_at=row["reported_at"],
                flagged_at=row["flagged_at"],
            )
        )
    return ConflictList(total=counted["conflicts_open"], conflicts=conflicts)


def _owner_name(participants: list[dict[str, str]] | None, participant_id: str) -> str | None:
    return next(
        (p["name"] for p in participants or [] if p["participant_id"] == participant_id), None
    )


async def list_overdue(
    session: AsyncSession, *, limit: int, now: datetime | None = None
) -> OverdueList:
    now = now or datetime.now(UTC)
    tasks = [
        OverdueTask(
            task_id=row["task_id"],
            operation_id=row["operation_id"],
            operation_title=row["operation_title"],
            title=row["title"],
            owner_participant_id=row["owner_participant_id"],
            owner_name=_owner_name(row["participants"], str(row["owner_participant_id"])),
            priority=row["priority"],
            status=row["status"],
            due_at=row["due_at"],
            hours_overdue=repository.hours_since(row["due_at"], now),
        )
        for row in await repository.overdue_tasks(session, limit=limit)
    ]
    milestones = [
        MissedMilestone(
            milestone_id=row["milestone_id"],
            operation_id=row["operation_id"],
            operation_title=row["operation_title"],
            title=row["title"],
            due_at=row["due_at"],
            hours_overdue=repository.hours_since(row["due_at"], now),
        )
        for row in await repository.missed_milestones(session, limit=limit)
    ]
    counted = await repository.counts(session)
    return OverdueList(
        tasks_total=counted["tasks_overdue"],
        milestones_total=counted["milestones_missed"],
        tasks=tasks,
        milestones=milestones,
    )
