"""SLA and security alerts as CAP 1.2 over HTTP, for alerting systems that speak it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.monitoring.access import Purpose, Staff
from services.monitoring.cap import service
from services.monitoring.cap.render import CAP_CONTENT_TYPE, CapKind
from services.monitoring.common.deps import AppSettings
from shared.deps import DbSession
from shared.errors import problem_responses

router = APIRouter(prefix="/api/cap", tags=["CAP alerts"])

ACCESS_ERRORS = {
    401: "No valid bearer token",
    403: "The token's role may not read monitoring (needs ops_centre or admin)",
    422: "A parameter did not validate",
}


class CapResponse(Response):
    media_type = CAP_CONTENT_TYPE


@router.get(
    "/messages",
    summary="CAP 1.2 messages of SLA and security alerts (index)",
    responses=problem_responses(ACCESS_ERRORS),
)
async def list_cap_messages(
    session: DbSession,
    principal: Staff,
    kind: CapKind | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """One entry per SLA alert change (`kind=sla`) or incident report and update
    (`kind=security`), newest first, with its CAP `msgType` and the URL of its XML."""
    return await service.list_messages(session, kind=kind, since=since, until=until, limit=limit)


@router.get(
    "/messages/{message_id}",
    summary="One CAP 1.2 alert message (XML)",
    response_class=CapResponse,
    responses={
        200: {
            "content": {CAP_CONTENT_TYPE: {}},
            "description": "A CAP 1.2 alert; `X-Concord-Sensitivity` says its class "
            "(`restricted` for a restricted incident or alert served in full)",
        },
        **problem_responses({**ACCESS_ERRORS, 404: "No SLA or incident event with this id"}),
    },
)
async def get_cap_message(
    session: DbSession,
    principal: Staff,
    settings: AppSettings,
    message_id: uuid.UUID,
    purpose: Purpose = None,
) -> CapResponse:
    """Scope `Restricted`; an `Update` or `Cancel` names every earlier message about the
    same alert or incident in `references`. Restricted incidents keep their details only
    for roles cleared to see them, and such a read is recorded in the access log (with the
    `purpose`, if given)."""
    body, sensitivity = await service.cap_message(
        session,
        principal,
        message_id,
        sender=settings.cap_sender,
        purpose=purpose,
        route="/api/cap/messages/{message_id}",
    )
    return CapResponse(body, headers={"X-Concord-Sensitivity": sensitivity.value})
