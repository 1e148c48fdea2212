"""Joint planning's events into monitoring's read models.

Operations (for titles and owners' names), tasks and milestones from the task topic, and
the conflicts of the notification topic. Notifications themselves are not kept: an NGO's
route, vehicles and contact are none of the dashboard's business, and a cancelled
notification's conflicts arrive cleared. Duplication warnings are in the audit trail only.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.live import notify_change
from services.monitoring.planning import repository
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.joint_planning import (
    ConflictState,
    MilestoneCreated,
    MilestoneMissed,
    MilestoneReached,
    MilestoneReclassified,
    MilestoneState,
    NotificationConflictCleared,
    NotificationConflictFlagged,
    OperationCreated,
    OperationLinksChanged,
    OperationParticipantAdded,
    OperationParticipantRemoved,
    OperationState,
    OperationStatusChanged,
    OperationUpdated,
    TaskCreated,
    TaskOverdue,
    TaskProgressNoted,
    TaskReclassified,
    TaskState,
    TaskStatusChanged,
    TaskUpdated,
)

OPERATION_EVENTS = (
    OperationCreated,
    OperationUpdated,
    OperationStatusChanged,
    OperationParticipantAdded,
    OperationParticipantRemoved,
    OperationLinksChanged,
)
TASK_EVENTS = (
    TaskCreated,
    TaskUpdated,
    TaskStatusChanged,
    TaskProgressNoted,
    TaskOverdue,
    TaskReclassified,
)
MILESTONE_EVENTS = (MilestoneCreated, MilestoneReached, MilestoneMissed, MilestoneReclassified)


def build_planning_router(*, live: bool = True) -> EventRouter:
    router = EventRouter(CATALOG)

    async def on_operation(session: AsyncSession, event: CloudEvent, data: OperationState) -> None:
        if await repository.apply_operation(session, data) and live:
            await notify_change(
                session,
                "operation",
                event,
                operation_id=data.operation_id,
                status=data.status,
            )

    async def on_task(session: AsyncSession, event: CloudEvent, data: TaskState) -> None:
        if await repository.apply_task(session, data) and live:
            await notify_change(
                session,
                "task",
                event,
                task_id=data.task_id,
                operation_id=data.operation_id,
                status=data.status,
                overdue=data.overdue,
            )

    async def on_milestone(session: AsyncSession, event: CloudEvent, data: MilestoneState) -> None:
        if await repository.apply_milestone(session, data) and live:
            await notify_change(
                session,
                "milestone",
                event,
                milestone_id=data.milestone_id,
                status=data.status,
            )

    async def on_conflict(session: AsyncSession, event: CloudEvent, data: ConflictState) -> None:
        reason = data.reason if isinstance(data, NotificationConflictCleared) else None
        if await repository.apply_conflict(session, data, cleared_reason=reason) and live:
            await notify_change(
                session,
                "conflict",
                event,
                conflict_id=data.conflict_id,
                notification_id=data.notification_id,
                source=data.source,
                near_pcode=data.near_pcode,
                open=data.cleared_at is None,
            )

    for operation_model in OPERATION_EVENTS:
        router.on(operation_model)(on_operation)
    for task_model in TASK_EVENTS:
        router.on(task_model)(on_task)
    for milestone_model in MILESTONE_EVENTS:
        router.on(milestone_model)(on_milestone)
    router.on(NotificationConflictFlagged)(on_conflict)
    router.on(NotificationConflictCleared)(on_conflict)
    return router
