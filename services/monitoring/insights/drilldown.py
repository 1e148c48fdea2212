"""One request's replica and history, alerts, and the map layers."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.access import View, bulk_view, single_view
from services.monitoring.access_audit.service import record_restricted_read
from services.monitoring.aid_request.repository import OPEN_STATUSES
from services.monitoring.db.models.read_models import (
    alerts,
    incidents,
    ngo_presence,
    open_need,
    request_history,
    requests,
)
from shared.auth import Principal
from shared.errors import NotFound
from shared.events.schemas.monitoring import AccessedRecords
from shared.gazetteer import gazetteer

RESTRICTED = "restricted"


def coarsen(row: dict[str, Any], may_see: bool) -> dict[str, Any]:
    """Restricted rows lose exact coordinates and title for roles not allowed to see them."""
    if row.get("sensitivity") == "restricted" and not may_see:
        area = gazetteer().get(row["pcode"])
        row = row | {
            "lat": area.lat if area else None,
            "lon": area.lon if area else None,
            "title": "(restricted)",
            "details_withheld": True,
        }
    return row


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, uuid.UUID) else v)
        for k, v in row.items()
    }


def is_restricted(row: Any) -> bool:
    return bool(row["sensitivity"] == RESTRICTED)


def coarsen_alert(row: dict[str, Any], view: View) -> dict[str, Any]:
    """An alert about a restricted request, for a reader not served it in full: placed in
    its state (admin1) only, like the request itself."""
    if row.get("sensitivity") == RESTRICTED and view is View.coarsened:
        pcode = row.get("pcode")
        row = row | {"pcode": gazetteer().admin1(pcode) if pcode else None}
        row["details_withheld"] = True
    return row


async def request_detail(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    purpose: str | None,
    route: str,
) -> dict[str, Any]:
    """One request's drill-down; a restricted one served in full is recorded (access log)."""
    view = single_view(principal)
    row = (
        (await session.execute(select(requests).where(requests.c.request_id == request_id)))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"No request {request_id} has reached monitoring")
    history = (
        (
            await session.execute(
                select(request_history)
                .where(request_history.c.request_id == request_id)
                .order_by(request_history.c.occurred_at, request_history.c.position)
            )
        )
        .mappings()
        .all()
    )
    request_alerts = (
        (
            await session.execute(
                select(alerts).where(alerts.c.request_id == request_id).order_by(alerts.c.raised_at)
            )
        )
        .mappings()
        .all()
    )
    if is_restricted(row) and view is View.full:
        await record_restricted_read(
            session,
            principal,
            route=route,
            records=AccessedRecords.aid_request,
            entity_ids=[request_id],
            purpose=purpose,
        )
    may_see = view is View.full
    return {
        "request": _jsonable(coarsen(dict(row), may_see)),
        "history": [_jsonable(dict(h)) for h in history],
        "alerts": [_jsonable(coarsen_alert(dict(a), view)) for a in request_alerts],
    }


async def alert_feed(
    session: AsyncSession,
    principal: Principal,
    *,
    open_only: bool,
    limit: int,
    purpose: str | None,
    route: str,
) -> list[dict[str, Any]]:
    """SLA alerts, newest first; those on restricted requests at their state (admin1) unless
    served in full (an entitled reader with a `purpose`, recorded in the access log)."""
    query = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.alert_id).limit(limit)
    if open_only:
        query = query.where(alerts.c.cleared_at.is_(None))
    found = [dict(r) for r in (await session.execute(query)).mappings().all()]
    view = bulk_view(principal, purpose)
    if view is View.full:
        await record_restricted_read(
            session,
            principal,
            route=route,
            records=AccessedRecords.sla_alert,
            entity_ids=[a["alert_id"] for a in found if is_restricted(a)],
            purpose=purpose,
        )
    return [_jsonable(coarsen_alert(a, view)) for a in found]


async def map_layers(
    session: AsyncSession,
    principal: Principal,
    *,
    purpose: str | None,
    route: str,
    points: int = 300,
) -> dict[str, Any]:
    """Areas with open requests, incidents (14 days) and NGO presence per county, plus the
    latest open requests as points (restricted ones at their area's centroid unless served in
    full: an entitled reader with a `purpose`; each kind served in full is recorded)."""
    view = bulk_view(principal, purpose)
    may_see = view is View.full
    gaz = gazetteer()
    per_area: dict[str, dict[str, int]] = defaultdict(lambda: {"open_requests": 0, "people": 0})
    for row in (
        await session.execute(
            select(
                open_need.c.pcode,
                func.sum(open_need.c.requests),
                func.sum(open_need.c.people_affected),
            ).group_by(open_need.c.pcode)
        )
    ).all():
        per_area[row[0]]["open_requests"] += int(row[1] or 0)
        per_area[row[0]]["people"] += int(row[2] or 0)
    presence: dict[str, set[str]] = defaultdict(set)
    for pcode, ngo_id in (
        await session.execute(select(ngo_presence.c.pcode, ngo_presence.c.ngo_id).distinct())
    ).all():
        presence[pcode].add(str(ngo_id))
    latest = (
        (
            await session.execute(
                select(requests)
                .where(requests.c.status.in_(OPEN_STATUSES))
                .order_by(requests.c.created_at.desc())
                .limit(points)
            )
        )
        .mappings()
        .all()
    )
    incident_rows = (
        (
            await session.execute(
                select(incidents)
                .where(incidents.c.occurred_on >= func.current_date() - 14)
                .order_by(incidents.c.occurred_on.desc())
                .limit(points)
            )
        )
        .mappings()
        .all()
    )
    areas = []
    for area in gaz.areas.values():
        ngo_ids: set[str] = set()
        for pcode in gaz.ancestors(area.pcode):
            ngo_ids |= presence.get(pcode, set())
        areas.append(
            {
                "pcode": area.pcode,
                "name": area.name,
                "level": area.level,
                "parent": area.parent,
                "lat": area.lat,
                "lon": area.lon,
                "ngos": len(ngo_ids),
                **per_area.get(area.pcode, {"open_requests": 0, "people": 0}),
            }
        )
    if may_see:
        for records, rows in (
            (AccessedRecords.aid_request, [(r["request_id"], r) for r in latest]),
            (AccessedRecords.incident, [(i["incident_id"], i) for i in incident_rows]),
        ):
            await record_restricted_read(
                session,
                principal,
                route=route,
                records=records,
                entity_ids=[entity_id for entity_id, row in rows if is_restricted(row)],
                purpose=purpose,
            )
    return {
        "bounds": gaz.bounds,
        "areas": areas,
        "requests": [_jsonable(coarsen(dict(r), may_see)) for r in latest],
        "incidents": [
            _jsonable(coarsen(dict(i) | {"title": i["category"]}, may_see)) for i in incident_rows
        ],
    }
