"""Use cases on humanitarian notifications: submit, change, acknowledge, cancel, escort.

    submitted ──acknowledge──▶ acknowledged
        └───────────┴──cancel──▶ cancelled

Submitting or changing the place or time of a notification takes the place locks (see
`deconfliction.locks`), reindexes it and runs the deconfliction check in the same
transaction, so the NGO's response already lists what conflicts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.principals import actor_of, is_ngo
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.notifications import Notification
from services.joint_planning.deconfliction import locks
from services.joint_planning.deconfliction import repository as conflicts
from services.joint_planning.deconfliction.geometry import (
    Point,
    corridor_cells,
    counties_along,
)
from services.joint_planning.deconfliction.service import (
    Rules,
    check,
    conflict_state,
    route_from,
    route_of,
)
from services.joint_planning.notification import repository
from services.joint_planning.notification.errors import (
    AlreadyAcknowledged,
    InvalidNotification,
    NoEscortRequested,
    NotificationCancelledError,
)
from services.joint_planning.notification.schemas import (
    ConflictDetail,
    ConflictOut,
    ContactIn,
    EscortDecision,
    NotificationCreate,
    NotificationOut,
    NotificationPage,
    NotificationUpdate,
)
from shared.auth import Principal
from shared.classification import notification_floor
from shared.errors import NotFound
from shared.events.schemas.joint_planning import (
    EscortStatus,
    NotificationAcknowledged,
    NotificationCancelled,
    NotificationEscortDecided,
    NotificationEvent,
    NotificationKind,
    NotificationState,
    NotificationStatus,
    NotificationSubmitted,
    NotificationUpdated,
    UnrestrictedSensitivity,
    Vehicle,
)
from shared.events.schemas.joint_planning import Point as PointState
from shared.http import check_if_match
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Footprint:
    """Where a notification is: its route (or site), counties and corridor cells."""

    route: list[Point]
    counties: list[str]
    cells: set[int]


def footprint(route: list[Point], rules: Rules) -> Footprint:
    return Footprint(
        route=route,
        counties=counties_along(route),
        cells=corridor_cells(route, rules.incident_radius_km),
    )


def to_state(notification: Notification) -> NotificationState:
    location = notification.location
    return NotificationState(
        notification_id=notification.id,
        ngo_id=notification.ngo_id,
        kind=notification.kind,
        status=notification.status,
        function=notification.function,
        location=PointState.model_validate(location) if location else None,
        waypoints=[PointState.model_validate(w) for w in notification.waypoints],
        starts_at=notification.starts_at,
        ends_at=notification.ends_at,
        vehicles=[Vehicle.model_validate(v) for v in notification.vehicles],
        occupancy=notification.occupancy,
        pcodes=list(notification.pcodes),
        escort_status=notification.escort_status,
        escort_reason=notification.escort_reason,
        acknowledged_by=notification.acknowledged_by,
        acknowledged_at=notification.acknowledged_at,
        version=notification.version,
        updated_at=notification.updated_at,
        sensitivity=UnrestrictedSensitivity(notification.sensitivity),
    )


MISSION = "mission"
"""Who acknowledged a notification, as the notifying NGO reads it: not the officer."""


async def view(
    session: AsyncSession, principal: Principal, notification: Notification
) -> NotificationOut:
    """The notification with its conflicts: the notices only for an NGO, and for staff also
    which operation or incident each one is about. An NGO reads who acknowledged it as
    `mission`, never the officer's identity."""
    recorded = await conflicts.conflicts_of(session, notification.id)
    state = to_state(notification)
    found: list[ConflictDetail] | list[ConflictOut]
    if is_ngo(principal):
        found = [ConflictOut.model_validate(conflict_state(c).model_dump()) for c in recorded]
        if state.acknowledged_by is not None:
            state.acknowledged_by = MISSION
    else:
        found = [ConflictDetail.model_validate(conflict_state(c).model_dump()) for c in recorded]
    return NotificationOut(
        **state.model_dump(),
        contact=ContactIn.model_validate(notification.contact),
        conflicts=found,
        created_at=notification.created_at,
    )


async def _publish(
    session: AsyncSession,
    notification: Notification,
    event: type[NotificationEvent],
    *,
    actor: str,
    **extra: Any,
) -> None:
    notification.version += 1
    notification.updated_at = datetime.now(UTC)
    await session.flush()
    state = to_state(notification)
    await outbox.add(
        session, event(**state.model_dump(), actor=actor, **extra), subject=notification.id
    )


async def load_for(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, *, lock: bool = False
) -> Notification:
    """The notification if this principal may see it: staff, or the NGO that sent it."""
    notification = await repository.get(session, notification_id, lock=lock)
    if notification is None or (is_ngo(principal) and notification.ngo_id != principal.ngo_id):
        raise NotFound(f"No notification {notification_id}")
    return notification


def _points(points: list[Any]) -> list[dict[str, float]]:
    return [{"lat": p.lat, "lon": p.lon} for p in points]


async def submit(
    session: AsyncSession, principal: Principal, body: NotificationCreate, rules: Rules
) -> Notification:
    if is_ngo(principal):
        if body.ngo_id is not None and body.ngo_id != principal.ngo_id:
            raise InvalidNotification("ngo_id: an NGO notifies for itself only", field="ngo_id")
        ngo_id = principal.ngo_id
    else:
        ngo_id = body.ngo_id
    if ngo_id is None:
        raise InvalidNotification("ngo_id: staff notifying for an NGO must name it", field="ngo_id")
    notification_id = body.notification_id or uuid.uuid4()
    if await repository.get(session, notification_id) is not None:
        raise InvalidNotification(f"notification_id {notification_id} is already taken")
    now = datetime.now(UTC)
    notification = Notification(
        id=notification_id,
        ngo_id=ngo_id,
        kind=body.kind,
        status=NotificationStatus.submitted,
        function=body.function,
        location={"lat": body.location.lat, "lon": body.location.lon} if body.location else None,
        waypoints=_points(body.waypoints),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        vehicles=[v.model_dump() for v in body.vehicles],
        occupancy=body.occupancy,
        contact=body.contact.model_dump(),
        pcodes=[],
        escort_status=(
            EscortStatus.requested if body.escort_requested else EscortStatus.not_requested
        ),
        escort_reason=body.escort_reason,
        escort_decided_by=None,
        acknowledged_by=None,
        acknowledged_at=None,
        version=0,
        created_at=now,
        updated_at=now,
        sensitivity=notification_floor().sensitivity,
    )
    where = footprint(route_of(notification), rules)
    notification.pcodes = where.counties
    await locks.for_notification(session, where.counties, where.route, rules.incident_radius_km)
    session.add(notification)
    await session.flush()
    await conflicts.reindex_notification(session, notification, where.cells, live=True)
    await _publish(session, notification, NotificationSubmitted, actor=actor_of(principal))
    await check(session, notification, rules, why="submitted")
    log.info("notification.submitted", notification_id=str(notification.id), ngo_id=str(ngo_id))
    return notification


async def update(
    session: AsyncSession,
    principal: Principal,
    notification_id: uuid.UUID,
    body: NotificationUpdate,
    if_match: str | None,
    rules: Rules,
) -> Notification:
    # Place locks before the row lock, the order an operation's re-check takes them in:
    # the other order could deadlock against it. So read, lock the places (old and new),
    # then lock the row and check it is still the version the caller read.
    notification = await load_for(session, principal, notification_id)
    before = footprint(route_of(notification), rules)
    changes = body.model_dump(exclude_unset=True)
    if notification.kind == NotificationKind.static_site and "waypoints" in changes:
        raise InvalidNotification("waypoints: a static_site has no waypoints", field="waypoints")
    if notification.kind == NotificationKind.movement and "location" in changes:
        raise InvalidNotification("location: a movement has waypoints", field="location")
    for required in ("starts_at", "ends_at", "contact", "location", "waypoints", "function"):
        if required in changes and changes[required] is None:
            raise InvalidNotification(f"{required} cannot be removed", field=required)
    location = (
        {"lat": body.location.lat, "lon": body.location.lon}
        if body.location
        else notification.location
    )
    waypoints = _points(body.waypoints) if body.waypoints else notification.waypoints
    after = footprint(route_from(notification.kind, location, waypoints), rules)
    await locks.for_notification(
        session,
        [*before.counties, *after.counties],
        [*before.route, *after.route],
        rules.incident_radius_km,
    )
    notification = await load_for(session, principal, notification_id, lock=True)
    check_if_match(if_match, notification.version)
    if notification.status == NotificationStatus.cancelled:
        raise NotificationCancelledError(f"Notification {notification.id} was cancelled")
    starts_at = body.starts_at or notification.starts_at
    ends_at = body.ends_at or notification.ends_at
    if ends_at <= starts_at:
        raise InvalidNotification("ends_at must be after starts_at", field="ends_at")
    notification.starts_at, notification.ends_at = starts_at, ends_at
    notification.location, notification.waypoints = location, waypoints
    notification.pcodes = after.counties
    if body.function is not None:
        notification.function = body.function
    if "occupancy" in changes:
        notification.occupancy = body.occupancy
    if body.vehicles is not None:
        notification.vehicles = [v.model_dump() for v in body.vehicles]
    if body.contact is not None:
        notification.contact = body.contact.model_dump()
    await conflicts.reindex_notification(session, notification, after.cells, live=True)
    await _publish(
        session,
        notification,
        NotificationUpdated,
        actor=actor_of(principal),
        changed=sorted(changes),
    )
    await check(session, notification, rules, why="notification changed")
    return notification


async def acknowledge(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> Notification:
    notification = await load_for(session, principal, notification_id, lock=True)
    if notification.status == NotificationStatus.cancelled:
        raise NotificationCancelledError(f"Notification {notification.id} was cancelled")
    if notification.status == NotificationStatus.acknowledged:
        raise AlreadyAcknowledged(
            f"Acknowledged by {notification.acknowledged_by} at {notification.acknowledged_at}"
        )
    notification.status = NotificationStatus.acknowledged
    notification.acknowledged_by = actor_of(principal)
    notification.acknowledged_at = datetime.now(UTC)
    await _publish(session, notification, NotificationAcknowledged, actor=actor_of(principal))
    return notification


async def cancel(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, rules: Rules
) -> Notification:
    notification = await load_for(session, principal, notification_id, lock=True)
    if notification.status == NotificationStatus.cancelled:
        raise NotificationCancelledError(f"Notification {notification.id} was already cancelled")
    notification.status = NotificationStatus.cancelled
    await conflicts.reindex_notification(session, notification, [], live=False)
    await _publish(session, notification, NotificationCancelled, actor=actor_of(principal))
    await check(session, notification, rules, why="notification cancelled")
    return notification


async def decide_escort(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID, body: EscortDecision
) -> Notification:
    notification = await load_for(session, principal, notification_id, lock=True)
    if notification.status == NotificationStatus.cancelled:
        raise NotificationCancelledError(f"Notification {notification.id} was cancelled")
    if notification.escort_status != EscortStatus.requested:
        raise NoEscortRequested(
            f"The escort is {notification.escort_status}", escort_status=notification.escort_status
        )
    notification.escort_status = EscortStatus.approved if body.approved else EscortStatus.declined
    notification.escort_reason = body.reason
    notification.escort_decided_by = actor_of(principal)
    await _publish(session, notification, NotificationEscortDecided, actor=actor_of(principal))
    return notification


async def list_notifications(
    session: AsyncSession,
    principal: Principal,
    *,
    status: NotificationStatus | None,
    limit: int,
    offset: int,
) -> NotificationPage:
    rows, total = await repository.list_notifications(
        session,
        ngo_id=principal.ngo_id if is_ngo(principal) else None,
        status=status,
        limit=limit,
        offset=offset,
    )
    items = [await view(session, principal, n) for n in rows]
    return NotificationPage(items=items, total=total, limit=limit, offset=offset)
