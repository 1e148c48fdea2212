"""The planning routes of the dashboard API (ops_centre or admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.monitoring.access import Staff
from services.monitoring.planning import service
from services.monitoring.planning.schemas import PROBLEM_RESPONSES, ConflictList, OverdueList
from shared.deps import DbSession

router = APIRouter(prefix="/api/planning", tags=["dashboard"])


@router.get(
    "/conflicts",
    summary="Open deconfliction conflicts",
    response_model=ConflictList,
    responses=PROBLEM_RESPONSES,
)
async def get_open_conflicts(
    session: DbSession,
    principal: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConflictList:
    """Humanitarian notifications in conflict with a planned or active operation or near a
    recent security incident, soonest window first; a conflict leaves the list when joint
    planning clears it. `notice` is what the NGO was told; `source_id` names the operation
    or incident, for the mission only."""
    return await service.list_open_conflicts(session, limit=limit)


@router.get(
    "/overdue",
    summary="Overdue tasks and missed milestones",
    response_model=OverdueList,
    responses=PROBLEM_RESPONSES,
)
async def get_overdue(
    session: DbSession,
    principal: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OverdueList:
    """Unfinished tasks joint planning's sweep found past their due date, and milestones it
    marked missed, longest overdue first, with the operation and the task's owner. A task
    leaves the list when it is done or cancelled or its due date moves into the future; a
    milestone when it is reached."""
    return await service.list_overdue(session, limit=limit)
