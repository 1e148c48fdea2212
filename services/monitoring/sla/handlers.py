"""The alert feed read model, built from the SLA topic (the engine's own events)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.read_models import alerts
from services.monitoring.live import notify
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.events.schemas.monitoring import (
    SlaAlertState,
    SlaBreached,
    SlaCleared,
    SlaWarningRaised,
)


async def apply_alert(session: AsyncSession, data: SlaAlertState) -> bool:
    held = await session.scalar(
        select(alerts.c.version).where(alerts.c.alert_id == data.alert_id).with_for_update()
    )
    if held is not None and held >= data.version:
        return False
    values = {
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
    }
    await session.execute(
        insert(alerts)
        .values(alert_id=data.alert_id, **values)
        .on_conflict_do_update(index_elements=[alerts.c.alert_id], set_=values)
    )
    return True


def build_alert_router(*, live: bool = True) -> EventRouter:
    router = EventRouter(CATALOG)

    async def on_alert(session: AsyncSession, event: CloudEvent, data: SlaAlertState) -> None:
        if await apply_alert(session, data) and live:
            await notify(
                session,
                "alert",
                {
                    "type": event.type,
                    "alert_id": str(data.alert_id),
                    "request_id": str(data.request_id),
                    "stage": data.stage.value,
                    "urgency": data.urgency.value,
                    "level": data.level.value,
                    "escalation_level": data.escalation_level,
                    "escalate_to": data.escalate_to,
                    "pcode": data.pcode,
                    "due_at": data.due_at.isoformat(),
                },
            )

    for model in (SlaWarningRaised, SlaBreached, SlaCleared):
        router.on(model)(on_alert)
    return router
