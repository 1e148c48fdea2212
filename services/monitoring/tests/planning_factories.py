"""Builders of joint planning's catalog events for monitoring's tests.

Built from the contract models, like `factories.py` builds the registry's and the requests
service's, so a change to joint planning's contract breaks these tests, as it should.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.monitoring.tests.factories import now
from shared.events.schemas import joint_planning as jp
from shared.vocabulary import Sector


def participant(
    *,
    name: str,
    role: jp.ParticipantRole = jp.ParticipantRole.lead,
    ngo_id: uuid.UUID | None = None,
) -> jp.Participant:
    return jp.Participant(
        participant_id=uuid.uuid4(),
        kind=jp.ParticipantKind.ngo if ngo_id else jp.ParticipantKind.mission_component,
        ngo_id=ngo_id,
        component=None if ngo_id else jp.MissionComponent.civil_affairs,
        name=name,
        role=role,
        responsibilities=["coordinate"],
        added_at=now(),
    )


def operation(
    model: type[jp.OperationEvent] = jp.OperationCreated,
    *,
    operation_id: uuid.UUID,
    version: int,
    title: str,
    participants: list[jp.Participant],
    status: jp.OperationStatus = jp.OperationStatus.draft,
    areas: list[str] | None = None,
    **extra: Any,
) -> jp.OperationEvent:
    at = now()
    return model(
        operation_id=operation_id,
        title=title,
        objectives=["reach the displaced"],
        sectors=[Sector.wash],
        areas=areas or ["SS0301"],
        starts_at=at - timedelta(days=1),
        ends_at=at + timedelta(days=10),
        status=status,
        participants=participants,
        linked_request_ids=[],
        linked_incident_ids=[],
        created_by="ops_centre:test",
        version=version,
        updated_at=at,
        actor="ops_centre:test",
        **extra,
    )


def task(
    model: type[jp.TaskEvent] = jp.TaskCreated,
    *,
    task_id: uuid.UUID,
    operation_id: uuid.UUID,
    owner: uuid.UUID,
    version: int,
    due_at: datetime,
    title: str = "Truck water to the camp",
    status: jp.TaskStatus = jp.TaskStatus.open,
    overdue: bool = False,
    **extra: Any,
) -> jp.TaskEvent:
    return model(
        task_id=task_id,
        operation_id=operation_id,
        title=title,
        description=None,
        owner_participant_id=owner,
        due_at=due_at,
        priority=jp.TaskPriority.high,
        status=status,
        depends_on=[],
        notes=[],
        overdue=overdue,
        version=version,
        updated_at=now(),
        actor="system",
        **extra,
    )


def milestone(
    model: type[jp.MilestoneEvent] = jp.MilestoneCreated,
    *,
    milestone_id: uuid.UUID,
    operation_id: uuid.UUID,
    version: int,
    due_at: datetime,
    status: jp.MilestoneStatus = jp.MilestoneStatus.pending,
) -> jp.MilestoneEvent:
    return model(
        milestone_id=milestone_id,
        operation_id=operation_id,
        title="Boreholes handed over",
        due_at=due_at,
        status=status,
        reached_at=None,
        version=version,
        updated_at=now(),
        actor="system",
    )


def conflict(
    model: type[jp.ConflictState] = jp.NotificationConflictFlagged,
    *,
    conflict_id: uuid.UUID,
    notification_id: uuid.UUID,
    ngo_id: uuid.UUID,
    source_id: uuid.UUID,
    version: int,
    between_start: datetime,
    source: jp.ConflictSource = jp.ConflictSource.mission_activity,
    cleared_at: datetime | None = None,
    **extra: Any,
) -> jp.ConflictState:
    incident = source is jp.ConflictSource.security_incident
    return model(
        conflict_id=conflict_id,
        notification_id=notification_id,
        ngo_id=ngo_id,
        source=source,
        source_id=source_id,
        notice="A mission activity conflicts with your movement near Bor",
        near_pcode="SS0301",
        between_start=between_start,
        between_end=between_start + timedelta(hours=4),
        distance_km=4.2 if incident else None,
        reported_at=between_start - timedelta(hours=2) if incident else None,
        flagged_at=now(),
        cleared_at=cleared_at,
        version=version,
        **extra,
    )
