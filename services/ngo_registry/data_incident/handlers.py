"""The data-incident detector: a service's outbox refusing restricted data opens an incident.

Reads every service's backbone topic (`concord.<service>.backbone.v1`) for its
`restricted_data_refused` events only (the parked-row events there are not routed here). The
inbox applies each once, in its transaction with the incident it opens.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.data_incident import service
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.backbone import PRODUCERS, RestrictedDataRefused, refused_event_type
from shared.logging import get_logger

log = get_logger(__name__)

DATA_INCIDENT_GROUP = "ngo_registry.data_incidents"


async def open_incident(session: AsyncSession, event: CloudEvent, data: BaseModel) -> None:
    assert isinstance(data, RestrictedDataRefused)
    incident = await service.report_refusal(session, data)
    log.warning(
        "data_incident.opened_from_refusal",
        incident_id=str(incident.incident_id),
        service=data.service,
        event_type=data.event_type,
    )


def data_incident_router() -> EventRouter:
    router = EventRouter(CATALOG)
    for producer in PRODUCERS:
        entry = CATALOG.by_type(refused_event_type(producer))
        assert entry is not None, producer
        router.on(entry.data_model)(open_incident)
    return router
