"""Incident read models: the replica and counts per area and day (the hotspot source).

A report linked as a duplicate of another (`duplicate_of`) is kept but not counted, so one
incident reported by three patrols is one incident in the hotspots. When an update moves an
incident (another area or day) or links it, its count moves with it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.aid_request.repository import add_incident_count
from services.monitoring.db.models.read_models import incidents
from services.monitoring.live import notify_change
from shared.db import replace_if_newer
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    IncidentReported,
    IncidentState,
    IncidentUpdated,
)


def _counted(pcode: str, day: date, duplicate: bool) -> tuple[str, date, int]:
    return pcode, day, 0 if duplicate else 1


async def apply_incident(session: AsyncSession, data: IncidentState) -> bool:
    """Keep the incident's newest state and move its count; False when not newer."""
    values: dict[str, Any] = {
        "incident_id": data.incident_id,
        "version": data.version,
        "pcode": data.location.pcode,
        "category": data.incident_type.value,
        "severity": data.severity.value,
        "sensitivity": data.sensitivity.value,
        "lat": data.location.lat,
        "lon": data.location.lon,
        "occurred_on": data.occurred_at.date(),
        "duplicate": data.duplicate_of is not None,
        "updated_at": data.updated_at,
    }
    replaced = await replace_if_newer(session, incidents, "incident_id", values)
    if replaced is None:
        return False
    held = replaced.previous
    before = (
        _counted(held["pcode"], held["occurred_on"], held["duplicate"])
        if held is not None
        else None
    )
    after = _counted(values["pcode"], values["occurred_on"], values["duplicate"])
    if before != after:
        if before is not None and before[2]:
            await add_incident_count(session, pcode=before[0], day=before[1], delta=-1)
        if after[2]:
            await add_incident_count(session, pcode=after[0], day=after[1], delta=1)
    return True


def build_incident_router(*, live: bool = True) -> EventRouter:
    router = EventRouter(CATALOG)

    async def on_incident(session: AsyncSession, event: CloudEvent, data: IncidentState) -> None:
        if await apply_incident(session, data) and live:
            await notify_change(
                session,
                "incident",
                event,
                incident_id=data.incident_id,
                pcode=data.location.pcode,
                severity=data.severity,
            )

    router.on(IncidentReported)(on_incident)
    router.on(IncidentUpdated)(on_incident)
    return router
