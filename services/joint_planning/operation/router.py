"""HTTP routes of joint operations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.joint_planning.common.deps import (
    AppSettings,
    IfMatch,
    Reclassifier,
    Staff,
    StaffOrNgo,
)
from services.joint_planning.deconfliction.service import Rules
from services.joint_planning.operation import service
from services.joint_planning.operation.errors import ReclassificationRefused
from services.joint_planning.operation.schemas import (
    HistoryOut,
    LinksChange,
    OperationCreate,
    OperationOut,
    OperationPage,
    OperationUpdate,
    Reclassification,
    StatusChange,
)
from shared.deps import MAX_OFFSET, DbSession
from shared.events.schemas.joint_planning import OperationStatus
from shared.http import etag
from shared.web import error_responses

router = APIRouter(tags=["operations"])


@router.post("/operations", status_code=201, response_model=OperationOut)
async def create_operation(
    body: OperationCreate, session: DbSession, principal: Staff, response: Response
) -> OperationOut:
    """Draft a joint operation (mission staff): title, objectives, sectors, areas (P-codes),
    timeframe, and optionally its first participants and linked requests or incidents, and
    a sensitivity (raised to the derived minimum if lower: `sensitivity_raised_from`).

    Unknown P-codes, a timeframe ending before it starts, or an implementing NGO that is not
    eligible for the sectors and areas are a 422."""
    operation, raised_from = await service.create_operation(session, principal, body)
    response.headers["ETag"] = etag(operation.version)
    response.headers["Location"] = f"/operations/{operation.id}"
    return await service.view(session, principal, operation, raised_from=raised_from)


@router.get("/operations", response_model=OperationPage)
async def list_operations(
    session: DbSession,
    principal: StaffOrNgo,
    status: OperationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> OperationPage:
    """Operations, latest start first: all for staff, those it takes part in for an NGO."""
    return await service.list_operations(
        session, principal, status=status, limit=limit, offset=offset
    )


@router.get("/operations/{operation_id}", response_model=OperationOut)
async def get_operation(
    operation_id: uuid.UUID, session: DbSession, principal: StaffOrNgo, response: Response
) -> OperationOut:
    """One operation (staff, or an NGO taking part; anyone else gets a 404). The `ETag` is
    what a change must send back in `If-Match`."""
    operation = await service.load_for(session, principal, operation_id)
    response.headers["ETag"] = etag(operation.version)
    return await service.view(session, principal, operation)


@router.patch("/operations/{operation_id}", response_model=OperationOut)
async def update_operation(
    operation_id: uuid.UUID,
    body: OperationUpdate,
    session: DbSession,
    principal: Staff,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> OperationOut:
    """Change details, sectors, areas or timeframe; only the fields sent change. Needs
    `If-Match` (428 without, 412 if stale); 409 once completed or cancelled. A live operation
    re-checks the notifications it touches."""
    operation = await service.update_operation(
        session, principal, operation_id, body, if_match, Rules.from_settings(settings)
    )
    response.headers["ETag"] = etag(operation.version)
    return await service.view(session, principal, operation)


@router.post("/operations/{operation_id}/status", response_model=OperationOut)
async def change_status(
    operation_id: uuid.UUID,
    body: StatusChange,
    session: DbSession,
    principal: Staff,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> OperationOut:
    """Move the operation: draft → planned (needs a lead) → active → completed, or cancel it
    from any of the first three. Any other move is a 409. Needs `If-Match`."""
    operation = await service.change_status(
        session, principal, operation_id, body, if_match, Rules.from_settings(settings)
    )
    response.headers["ETag"] = etag(operation.version)
    return await service.view(session, principal, operation)


@router.post("/operations/{operation_id}/links", response_model=OperationOut)
async def change_links(
    operation_id: uuid.UUID,
    body: LinksChange,
    session: DbSession,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> OperationOut:
    """Link aid requests and incidents to the operation (or unlink them), by id."""
    operation = await service.change_links(session, principal, operation_id, body, if_match)
    response.headers["ETag"] = etag(operation.version)
    return await service.view(session, principal, operation)


@router.post(
    "/operations/{operation_id}/classification",
    response_model=OperationOut,
    responses=error_responses(404, 412, ReclassificationRefused),
)
async def reclassify_operation(
    operation_id: uuid.UUID,
    body: Reclassification,
    session: DbSession,
    principal: Reclassifier,
    response: Response,
    if_match: IfMatch = None,
) -> OperationOut:
    """Staff (ops centre, admin, protection officer): change the operation's sensitivity
    with a reason, audited as an `operation.updated` event (`changed: ["sensitivity"]`,
    `previous_sensitivity`, `reason`) and a history row. Below the derived minimum, or to
    the class it already has: 422. `If-Match` optional (412 if stale)."""
    operation = await service.reclassify(session, principal, operation_id, body, if_match)
    response.headers["ETag"] = etag(operation.version)
    return await service.view(session, principal, operation)


@router.get("/operations/{operation_id}/history", response_model=list[HistoryOut])
async def operation_history(
    operation_id: uuid.UUID, session: DbSession, principal: Staff
) -> list[HistoryOut]:
    """The append-only history of the operation and everything in it, oldest first."""
    return await service.history(session, principal, operation_id)
