"""Milestones of operations: set, reached, or missed (the overdue sweep decides missed).

pending ──reach──▶ reached;  pending ──(due date passed: the sweep)──▶ missed ──reach──▶ reached
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.parts import milestone_state as to_state
from services.joint_planning.common.parts import publish_milestone as publish
from services.joint_planning.common.principals import actor_of
from services.joint_planning.db.models.work import Milestone
from services.joint_planning.milestone import repository
from services.joint_planning.milestone.schemas import MilestoneCreate, MilestoneOut
from services.joint_planning.operation import service as operation_service
from services.joint_planning.operation.errors import OperationClosed
from services.joint_planning.operation.state import CLOSED
from shared.auth import Principal
from shared.errors import InvalidTransition, NotFound, Unprocessable
from shared.events.schemas.joint_planning import (
    MilestoneCreated,
    MilestoneReached,
    MilestoneStatus,
)


def to_view(milestone: Milestone) -> MilestoneOut:
    return MilestoneOut(**to_state(milestone).model_dump(), created_at=milestone.created_at)


async def create_milestone(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID, body: MilestoneCreate
) -> Milestone:
    operation = await operation_service.load_for(session, principal, operation_id, lock=True)
    if operation.status in CLOSED:
        raise OperationClosed(f"Operation {operation.id} is {operation.status}")
    if body.due_at > operation.ends_at:
        raise Unprocessable(
            f"due_at: {body.due_at.isoformat()} is after the operation ends", field="due_at"
        )
    now = datetime.now(UTC)
    milestone = Milestone(
        id=body.milestone_id or uuid.uuid4(),
        operation_id=operation.id,
        title=body.title,
        due_at=body.due_at,
        status=MilestoneStatus.pending,
        reached_at=None,
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(milestone)
    await publish(session, milestone, MilestoneCreated, actor=actor_of(principal))
    return milestone


async def reach(session: AsyncSession, principal: Principal, milestone_id: uuid.UUID) -> Milestone:
    milestone = await repository.get(session, milestone_id, lock=True)
    if milestone is None:
        raise NotFound(f"No milestone {milestone_id}")
    if milestone.status == MilestoneStatus.reached:
        raise InvalidTransition(f"Milestone {milestone.id} was already reached")
    milestone.status = MilestoneStatus.reached
    milestone.reached_at = datetime.now(UTC)
    await publish(session, milestone, MilestoneReached, actor=actor_of(principal))
    return milestone


async def list_milestones(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID
) -> list[MilestoneOut]:
    await operation_service.load_for(session, principal, operation_id)
    return [to_view(m) for m in await repository.of_operation(session, operation_id)]
