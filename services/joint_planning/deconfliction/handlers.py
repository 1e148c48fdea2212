"""The incident replica's consumer: the requests service's incident events.

An incident's place and time are kept (its type and sensitivity too, for mission staff; an
NGO is never shown them), version-gated like every replica, and each applied change re-checks
the notifications whose corridor holds it: a new incident near a route flags that movement,
an incident later marked a duplicate of another clears the double flag. An incident that
arrives or turns restricted is handed to `on_restricted` (the app passes the operation
domain's `raise_for_restricted_incident`: every operation linking it becomes restricted),
in the same transaction; a callback, so that deconfliction does not import the operation
folder that imports it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.config import Settings
from services.joint_planning.db.models.replicas import IncidentReplica
from services.joint_planning.deconfliction.geometry import cell_of
from services.joint_planning.deconfliction.service import Rules, recheck_for_incident
from shared.db import upsert_if_newer
from shared.events.envelope import CloudEvent, service_source
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    IncidentReported,
    IncidentState,
    IncidentUpdated,
)
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

PRODUCER = service_source("humanitarian_requests")


async def upsert_incident(session: AsyncSession, data: IncidentState) -> IncidentReplica | None:
    """Apply the incident's state if newer than the replica's; the applied row, else None."""
    values = {
        "incident_id": data.incident_id,
        "incident_type": data.incident_type.value,
        "severity": data.severity.value,
        "sensitivity": data.sensitivity,
        "occurred_at": data.occurred_at,
        "lat": data.location.lat,
        "lon": data.location.lon,
        "pcode": data.location.pcode,
        "cell": cell_of(data.location.lat, data.location.lon),
        "duplicate_of": data.duplicate_of,
        "version": data.version,
        "updated_at": data.updated_at,
    }
    if not await upsert_if_newer(session, IncidentReplica, "incident_id", values):
        return None
    query = select(IncidentReplica).where(IncidentReplica.incident_id == data.incident_id)
    return (await session.scalars(query.execution_options(populate_existing=True))).one()


OnRestricted = Callable[[AsyncSession, uuid.UUID], Awaitable[object]]


def incident_router_for(
    settings: Settings, *, on_restricted: OnRestricted | None = None
) -> EventRouter:
    router = EventRouter(CATALOG)
    rules = Rules.from_settings(settings)

    async def apply(session: AsyncSession, event: CloudEvent, data: IncidentState) -> None:
        if event.source != PRODUCER:
            log.warning("replica.untrusted_source", source=event.source, event_id=str(event.id))
            return
        incident = await upsert_incident(session, data)
        if incident is None:
            log.info("replica.incident_stale_ignored", incident_id=str(data.incident_id))
            return
        await recheck_for_incident(session, incident, rules)
        if on_restricted is not None and incident.sensitivity == Sensitivity.restricted:
            await on_restricted(session, incident.incident_id)

    @router.on(IncidentReported)
    async def on_reported(session: AsyncSession, event: CloudEvent, data: IncidentReported) -> None:
        await apply(session, event, data)

    @router.on(IncidentUpdated)
    async def on_updated(session: AsyncSession, event: CloudEvent, data: IncidentUpdated) -> None:
        await apply(session, event, data)

    return router
