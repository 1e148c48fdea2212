"""The registry's data incidents into this service: on containment, what was exposed is
restricted here (`service.contain`). The other steps (report, classification, notification,
closure) change nothing in this service."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.data_incident.service import contain
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import DataIncidentContained

DATA_INCIDENT_GROUP = "humanitarian_requests.data_incidents"


def data_incident_router() -> EventRouter:
    router = EventRouter(CATALOG)

    @router.on(DataIncidentContained)
    async def on_contained(
        session: AsyncSession, event: CloudEvent, data: DataIncidentContained
    ) -> None:
        await contain(session, data, now=datetime.now(UTC))

    return router
