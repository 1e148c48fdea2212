"""Deconfliction: which live operations and recent security incidents a notification meets.

`check` recomputes one notification's conflicts from scratch and reconciles them with those
recorded: a new finding is flagged (row + event), a recorded one no longer found is cleared
(row + event), one found again changes nothing. So any trigger — the NGO's submission or
change, an operation planned, moved or ended, an incident reported or marked a duplicate —
just re-runs `check` on the notifications it may touch, and running it twice is harmless.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.areas import counties_in, with_ancestors
from services.joint_planning.config import Settings
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.notifications import Conflict, Notification
from services.joint_planning.db.models.operations import Operation
from services.joint_planning.db.models.replicas import IncidentReplica
from services.joint_planning.deconfliction import locks, notices, repository
from services.joint_planning.deconfliction.geometry import (
    Point,
    Polygon,
    cell_centre,
    distance_to_route_km,
    nearest_county,
    polygon_cells,
    route_cells,
)
from shared.events.schemas.joint_planning import (
    ConflictSource,
    ConflictState,
    NotificationConflictCleared,
    NotificationConflictFlagged,
    NotificationKind,
    NotificationStatus,
)
from shared.gazetteer import gazetteer
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Rules:
    incident_radius_km: float
    incident_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            incident_radius_km=settings.incident_radius_km,
            incident_window=timedelta(hours=settings.incident_window_hours),
        )


@dataclass(frozen=True)
class Finding:
    source: ConflictSource
    source_id: uuid.UUID
    notice: str
    near_pcode: str
    between_start: datetime
    between_end: datetime
    distance_km: float | None = None
    reported_at: datetime | None = None


def route_from(
    kind: NotificationKind, location: dict[str, float] | None, waypoints: list[dict[str, float]]
) -> list[Point]:
    """A static site is a route of one point; a movement the polyline of its waypoints."""
    if kind == NotificationKind.static_site and location:
        return [Point(location["lat"], location["lon"])]
    return [Point(w["lat"], w["lon"]) for w in waypoints]


def route_of(notification: Notification) -> list[Point]:
    return route_from(notification.kind, notification.location, notification.waypoints)


def _what(notification: Notification) -> str:
    return "site" if notification.kind == NotificationKind.static_site else "movement"


async def _operation_findings(session: AsyncSession, notification: Notification) -> list[Finding]:
    rows = await repository.operation_areas_touching(
        session,
        pcodes=with_ancestors(notification.pcodes),
        starts_at=notification.starts_at,
        ends_at=notification.ends_at,
        ngo_id=notification.ngo_id,
    )
    gaz = gazetteer()
    by_operation: dict[uuid.UUID, list[str]] = {}
    window: dict[uuid.UUID, tuple[datetime, datetime]] = {}
    for operation_id, pcode, starts_at, ends_at in rows:
        by_operation.setdefault(operation_id, []).append(pcode)
        window[operation_id] = (starts_at, ends_at)
    # Operations drawn as polygons: the route meets one when it passes through a grid cell
    # the polygon covers. The nearest county is named at the first such cell.
    met_at: dict[uuid.UUID, str] = {}
    for operation_id, cell, starts_at, ends_at in await repository.operation_cells_touching(
        session,
        cells=route_cells(route_of(notification)),
        starts_at=notification.starts_at,
        ends_at=notification.ends_at,
        ngo_id=notification.ngo_id,
    ):
        if operation_id not in by_operation and operation_id not in met_at:
            met_at[operation_id] = nearest_county(cell_centre(cell), among=notification.pcodes)
            window[operation_id] = (starts_at, ends_at)
    findings = []
    for operation_id in [*by_operation, *met_at]:
        if operation_id in by_operation:
            areas = by_operation[operation_id]
            near = next(c for c in notification.pcodes if any(gaz.covers(a, c) for a in areas))
        else:
            near = met_at[operation_id]
        start = max(notification.starts_at, window[operation_id][0])
        end = min(notification.ends_at, window[operation_id][1])
        findings.append(
            Finding(
                source=ConflictSource.mission_activity,
                source_id=operation_id,
                notice=notices.mission_activity(
                    what=_what(notification), start=start, end=end, near_pcode=near
                ),
                near_pcode=near,
                between_start=start,
                between_end=end,
            )
        )
    return findings


async def _incident_findings(
    session: AsyncSession, notification: Notification, rules: Rules, now: datetime
) -> list[Finding]:
    route = route_of(notification)
    candidates = await repository.incidents_near(
        session,
        notification_id=notification.id,
        since=min(notification.starts_at, now) - rules.incident_window,
        until=notification.ends_at,
    )
    findings = []
    for incident in candidates:
        point = Point(incident.lat, incident.lon)
        distance = distance_to_route_km(point, route)
        if distance > rules.incident_radius_km:
            continue
        findings.append(
            Finding(
                source=ConflictSource.security_incident,
                source_id=incident.incident_id,
                notice=notices.security_incident(
                    what=_what(notification), occurred_at=incident.occurred_at, distance_km=distance
                ),
                near_pcode=nearest_county(point, among=notification.pcodes),
                between_start=notification.starts_at,
                between_end=notification.ends_at,
                distance_km=round(distance, 1),
                reported_at=incident.occurred_at,
            )
        )
    return findings


def conflict_state(conflict: Conflict) -> ConflictState:
    return ConflictState(
        conflict_id=conflict.id,
        notification_id=conflict.notification_id,
        ngo_id=conflict.ngo_id,
        source=conflict.source,
        source_id=conflict.source_id,
        notice=conflict.notice,
        near_pcode=conflict.near_pcode,
        between_start=conflict.between_start,
        between_end=conflict.between_end,
        distance_km=conflict.distance_km,
        reported_at=conflict.reported_at,
        flagged_at=conflict.flagged_at,
        cleared_at=conflict.cleared_at,
        version=conflict.version,
    )


@dataclass
class CheckResult:
    flagged: int = 0
    cleared: int = 0
    open: int = 0


async def check(
    session: AsyncSession,
    notification: Notification,
    rules: Rules,
    *,
    why: str,
    now: datetime | None = None,
) -> CheckResult:
    """Reconcile the notification's recorded conflicts with what holds now (caller holds the
    notification's row lock, and the place locks if it changed the notification)."""
    now = now or datetime.now(UTC)
    found: dict[tuple[ConflictSource, uuid.UUID], Finding] = {}
    if notification.status != NotificationStatus.cancelled:
        for finding in await _operation_findings(session, notification) + await _incident_findings(
            session, notification, rules, now
        ):
            found[(finding.source, finding.source_id)] = finding
    result = CheckResult(open=len(found))
    recorded = {
        (c.source, c.source_id): c
        for c in await repository.open_conflicts(session, notification.id)
    }
    for key, conflict in recorded.items():
        if key in found:
            continue
        conflict.cleared_at = now
        conflict.version += 1
        await outbox.add(
            session,
            NotificationConflictCleared(**conflict_state(conflict).model_dump(), reason=why),
            subject=notification.id,
        )
        result.cleared += 1
    for key, finding in found.items():
        if key in recorded:
            continue
        conflict = Conflict(
            id=uuid.uuid4(),
            notification_id=notification.id,
            ngo_id=notification.ngo_id,
            source=finding.source,
            source_id=finding.source_id,
            notice=finding.notice,
            near_pcode=finding.near_pcode,
            between_start=finding.between_start,
            between_end=finding.between_end,
            distance_km=finding.distance_km,
            reported_at=finding.reported_at,
            flagged_at=now,
            cleared_at=None,
            version=1,
        )
        session.add(conflict)
        await outbox.add(
            session,
            NotificationConflictFlagged(**conflict_state(conflict).model_dump()),
            subject=notification.id,
        )
        result.flagged += 1
    await session.flush()
    if result.flagged or result.cleared:
        log.info(
            "deconfliction.checked",
            notification_id=str(notification.id),
            why=why,
            flagged=result.flagged,
            cleared=result.cleared,
        )
    return result


async def recheck_for_operation(
    session: AsyncSession,
    operation: Operation,
    rules: Rules,
    *,
    previous_areas: list[str],
    previous_polygons: list[Polygon] | None = None,
) -> int:
    """Re-check the notifications a changed operation may touch (now or before the change).
    Returns how many were checked."""
    counties = counties_in([*operation.areas, *previous_areas])
    cells = polygon_cells(operation.polygons)
    reached = cells | polygon_cells(previous_polygons or [])
    regions = {locks.region_of(cell_centre(c)) for c in reached}
    await locks.for_operation(session, counties, regions)
    touched = await repository.notifications_in_counties(
        session,
        counties=counties_in(operation.areas),
        starts_at=operation.starts_at,
        ends_at=operation.ends_at,
    )
    if cells:
        touched |= await repository.notifications_in_cells(
            session, cells=cells, starts_at=operation.starts_at, ends_at=operation.ends_at
        )
    touched |= await repository.notifications_conflicting_with(session, operation.id)
    notifications = await repository.lock_notifications(session, touched)
    for notification in notifications:
        await check(session, notification, rules, why=f"operation {operation.status}")
    return len(notifications)


async def recheck_for_incident(
    session: AsyncSession, incident: IncidentReplica, rules: Rules
) -> int:
    """Re-check the notifications whose corridor holds the incident's cell (or that already
    conflict with it). Returns how many were checked."""
    await locks.for_incident(session, Point(incident.lat, incident.lon))
    touched = await repository.notifications_in_cell(
        session, cell=incident.cell, not_ended_before=incident.occurred_at
    )
    touched |= await repository.notifications_conflicting_with(session, incident.incident_id)
    notifications = await repository.lock_notifications(session, touched)
    for notification in notifications:
        await check(session, notification, rules, why="incident reported or updated")
    return len(notifications)
