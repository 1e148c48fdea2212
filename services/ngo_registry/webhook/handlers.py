"""The webhook consumer: every event an NGO may receive, stored once and fanned out.

Reads the registry's own NGO topic, the requests' open-request topic and its offer topic
(only the addressed NGO gets an offer). Each event is applied in the inbox's transaction:
stored in `webhook_events` and one `webhook_delivery` queued per matching active
subscription, so a redelivered message (the inbox drops it; the event's id is also the
table's key) queues nothing twice.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.webhook import service
from services.ngo_registry.webhook.entitlement import ENTITLED_TOPICS, entitled
from shared.events.envelope import CloudEvent, service_source
from shared.events.inbox import EventRouter, Handler
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import NGO_TOPIC
from shared.logging import get_logger

log = get_logger(__name__)

WEBHOOK_GROUP = "ngo_registry.webhooks"


def _producer_of(topic_name: str) -> str:
    return service_source(
        "ngo_registry" if topic_name == NGO_TOPIC.name else "humanitarian_requests"
    )


def _handler(event_type: str, producer: str) -> Handler:
    async def fan_out(session: AsyncSession, event: CloudEvent, data: BaseModel) -> None:
        if event.source != producer:
            log.warning("webhook.untrusted_source", source=event.source, event_id=str(event.id))
            return
        queued = await service.fan_out(
            session,
            event_id=event.id,
            event_type=event_type,
            entity_key=event.subject,
            time=event.time,
            event=entitled(data),
        )
        log.debug("webhook.fanned_out", event_id=str(event.id), deliveries=queued)

    return fan_out


def webhook_router() -> EventRouter:
    router = EventRouter(CATALOG)
    names = {topic.name for topic in ENTITLED_TOPICS}
    for entry in CATALOG:
        if entry.topic.name in names:
            router.on(entry.data_model)(_handler(entry.name, _producer_of(entry.topic.name)))
    return router
