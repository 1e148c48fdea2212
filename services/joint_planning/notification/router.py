"""HTTP routes of humanitarian notifications and their deconfliction."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.joint_planning.common.deps import AppSettings, IfMatch, Staff, StaffOrNgo
from services.joint_planning.deconfliction.service import Rules
from services.joint_planning.notification import service
from services.joint_planning.notification.schemas import (
    EscortDecision,
    NotificationCreate,
    NotificationOut,
    NotificationPage,
    NotificationUpdate,
)
from shared.deps import MAX_OFFSET, DbSession
from shared.events.schemas.joint_planning import NotificationStatus
from shared.http import etag

router = APIRouter(tags=["notifications"])


@router.post("/notifications", status_code=201, response_model=NotificationOut)
async def submit_notification(
    body: NotificationCreate,
    session: DbSession,
    principal: StaffOrNgo,
    settings: AppSettings,
    response: Response,
) -> NotificationOut:
    """Notify a static site or a movement (an NGO for itself; staff for a named NGO).

    It is checked at once against planned and active operations in the same place and time
    and against security incidents near the route; `conflicts` lists what was found. A
    notification informs the mission: it is not a request for permission. A window ending
    before it starts, points outside the mission area, or more than 50 waypoints are a 422.
    """
    notification = await service.submit(session, principal, body, Rules.from_settings(settings))
    response.headers["ETag"] = etag(notification.version)
    response.headers["Location"] = f"/notifications/{notification.id}"
    return await service.view(session, principal, notification)


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    session: DbSession,
    principal: StaffOrNgo,
    status: NotificationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> NotificationPage:
    """Notifications, latest first: all for staff, its own for an NGO."""
    return await service.list_notifications(
        session, principal, status=status, limit=limit, offset=offset
    )


@router.get("/notifications/{notification_id}", response_model=NotificationOut)
async def get_notification(
    notification_id: uuid.UUID, session: DbSession, principal: StaffOrNgo, response: Response
) -> NotificationOut:
    """One notification with its conflicts (another NGO's is a 404). An NGO reads each
    conflict's notice, time and nearest county only; staff also see its source."""
    notification = await service.load_for(session, principal, notification_id)
    response.headers["ETag"] = etag(notification.version)
    return await service.view(session, principal, notification)


@router.patch("/notifications/{notification_id}", response_model=NotificationOut)
async def update_notification(
    notification_id: uuid.UUID,
    body: NotificationUpdate,
    session: DbSession,
    principal: StaffOrNgo,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> NotificationOut:
    """Change the window, route, site, vehicles or contact; it is checked again. Needs
    `If-Match` (428 without, 412 if stale)."""
    notification = await service.update(
        session, principal, notification_id, body, if_match, Rules.from_settings(settings)
    )
    response.headers["ETag"] = etag(notification.version)
    return await service.view(session, principal, notification)


@router.post("/notifications/{notification_id}/acknowledge", response_model=NotificationOut)
async def acknowledge_notification(
    notification_id: uuid.UUID, session: DbSession, principal: Staff, response: Response
) -> NotificationOut:
    """The mission acknowledges it received the notification (409 if already done)."""
    notification = await service.acknowledge(session, principal, notification_id)
    response.headers["ETag"] = etag(notification.version)
    return await service.view(session, principal, notification)


@router.post("/notifications/{notification_id}/cancel", response_model=NotificationOut)
async def cancel_notification(
    notification_id: uuid.UUID,
    session: DbSession,
    principal: StaffOrNgo,
    settings: AppSettings,
    response: Response,
) -> NotificationOut:
    """Withdraw the notification; its open conflicts are cleared."""
    notification = await service.cancel(
        session, principal, notification_id, Rules.from_settings(settings)
    )
    response.headers["ETag"] = etag(notification.version)
    return await service.view(session, principal, notification)


@router.post("/notifications/{notification_id}/escort", response_model=NotificationOut)
async def decide_escort(
    notification_id: uuid.UUID,
    body: EscortDecision,
    session: DbSession,
    principal: Staff,
    response: Response,
) -> NotificationOut:
    """Approve or decline a requested escort, with the reason (409 if none is pending)."""
    notification = await service.decide_escort(session, principal, notification_id, body)
    response.headers["ETag"] = etag(notification.version)
    return await service.view(session, principal, notification)
