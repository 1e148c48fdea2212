"""HTTP routes of operation participants."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.joint_planning.common.deps import AppSettings, IfMatch, Staff
from services.joint_planning.deconfliction.service import Rules
from services.joint_planning.operation import service as operations
from services.joint_planning.operation.schemas import (
    OperationOut,
    ParticipantIn,
    ParticipantRemoval,
)
from services.joint_planning.participant import service
from shared.deps import DbSession
from shared.http import check_if_match, etag

router = APIRouter(tags=["operations"])


@router.post(
    "/operations/{operation_id}/participants", status_code=201, response_model=OperationOut
)
async def add_participant(
    operation_id: uuid.UUID,
    body: ParticipantIn,
    session: DbSession,
    principal: Staff,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> OperationOut:
    """Add a mission component or an NGO with a role (lead, implementing, supporting,
    security, informed) and responsibilities. An implementing NGO must be eligible for one of
    the operation's sectors in all its areas (422 otherwise). `If-Match` is checked if sent."""
    operation = await operations.load_for(session, principal, operation_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, operation.version)
    await service.add_participant(
        session, principal, operation, body, Rules.from_settings(settings)
    )
    response.headers["ETag"] = etag(operation.version)
    return await operations.view(session, principal, operation)


@router.post(
    "/operations/{operation_id}/participants/{participant_id}/remove", response_model=OperationOut
)
async def remove_participant(
    operation_id: uuid.UUID,
    participant_id: uuid.UUID,
    body: ParticipantRemoval,
    session: DbSession,
    principal: Staff,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> OperationOut:
    """Remove a participant, with a reason (409 while it owns unfinished tasks)."""
    operation = await operations.load_for(session, principal, operation_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, operation.version)
    await service.remove_participant(
        session, principal, operation, participant_id, body.reason, Rules.from_settings(settings)
    )
    response.headers["ETag"] = etag(operation.version)
    return await operations.view(session, principal, operation)
