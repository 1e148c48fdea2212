"""The alert feed read model, built from the SLA topic (the engine's own events)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.read_models import alerts
from services.monitoring.live import notify_change
from shared.db import upsert_if_newer
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.monitoring import (
    SlaAlertState,
    SlaBreached,
    SlaCleared,
    SlaWarningRaised,
)
from shared.gazetteer import gazetteer
from shared.vocabulary import Sensitivity


async def apply_alert(session: AsyncSession, data: SlaAlertState) -> bool:
    """Keep the alert's newest state; False when the event is not newer than what we hold."""
    values = {
        "alert_id": data.alert_id,
        "version": data.version,
        "request_id": data.request_id,
        "stage": data.stage.value,
        "urgency": data.urgency.value,
        "sector": data.sector.value if data.sector else None,
        "pcode": data.pcode,
        "level": data.level.value,
        "escalation_level": data.escalation_level,
        "escalate_to": data.escalate_to,
        "due_at": data.due_at,
        "raised_at": data.raised_at,
        "cleared_at": data.cleared_at,
        "resolution": data.resolution,
        "sensitivity": data.sensitivity.value,
    }
    return await upsert_if_newer(session, alerts, "alert_id", values)


def build_alert_router(*, live: bool = True) -> EventRouter:
    router = EventRouter(CATALOG)

    async def on_alert(session: AsyncSession, event: CloudEvent, data: SlaAlertState) -> None:
        if await apply_alert(session, data) and live:
            await notify_change(
                session,
                "alert",
                event,
                alert_id=data.alert_id,
                request_id=data.request_id,
                stage=data.stage,
                urgency=data.urgency,
                level=data.level,
                escalation_level=data.escalation_level,
                escalate_to=data.escalate_to,
                # The stream goes to every staff role: a restricted request's alert is placed
                # in its state only, as the feed shows it to unentitled staff.
                pcode=gazetteer().admin1(data.pcode)
                if data.pcode and data.sensitivity is Sensitivity.restricted
                else data.pcode,
                sensitivity=data.sensitivity,
                due_at=data.due_at,
            )

    for model in (SlaWarningRaised, SlaBreached, SlaCleared):
        router.on(model)(on_alert)
    return router
