"""HTTP routes of milestones."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.joint_planning.common.deps import Staff, StaffOrNgo
from services.joint_planning.milestone import service
from services.joint_planning.milestone.schemas import MilestoneCreate, MilestoneOut
from shared.deps import DbSession

router = APIRouter(tags=["tasks"])


@router.post("/operations/{operation_id}/milestones", status_code=201, response_model=MilestoneOut)
async def create_milestone(
    operation_id: uuid.UUID, body: MilestoneCreate, session: DbSession, principal: Staff
) -> MilestoneOut:
    """Set a milestone, due no later than the operation ends (422 otherwise)."""
    return service.to_view(await service.create_milestone(session, principal, operation_id, body))


@router.get("/operations/{operation_id}/milestones", response_model=list[MilestoneOut])
async def list_milestones(
    operation_id: uuid.UUID, session: DbSession, principal: StaffOrNgo
) -> list[MilestoneOut]:
    """The operation's milestones by due date (staff, or an NGO taking part)."""
    return await service.list_milestones(session, principal, operation_id)


@router.post("/milestones/{milestone_id}/reach", response_model=MilestoneOut)
async def reach_milestone(
    milestone_id: uuid.UUID, session: DbSession, principal: Staff
) -> MilestoneOut:
    """Mark a milestone reached (also after it was missed; 409 if already reached)."""
    return service.to_view(await service.reach(session, principal, milestone_id))
