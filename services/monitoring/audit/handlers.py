"""The audit consumer group: a catch-all that chains every event of every topic."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.audit.chain import AUDIT_GROUP, append
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG

__all__ = ["AUDIT_GROUP", "audited_topics", "build_audit_router"]


def audited_topics() -> list[str]:
    """Every topic in the catalog (dead-letter topics are not in it)."""
    return sorted(topic.name for topic in CATALOG.topics() if not topic.dead_letter)


def build_audit_router() -> EventRouter:
    router = EventRouter(CATALOG)

    @router.on_any(*audited_topics())
    async def record(session: AsyncSession, event: CloudEvent, data: Any) -> None:
        entry = CATALOG.by_type(event.type)
        await append(session, event, topic=entry.topic.name if entry else "unknown")

    return router
