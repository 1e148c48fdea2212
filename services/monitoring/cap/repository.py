"""Queries of CAP messages over the audit log (SLA and incident events as they arrived)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.audit import audit_log


async def messages(
    session: AsyncSession,
    *,
    topics: Collection[str],
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Audited events of these topics in a period, newest first, each with `has_earlier`:
    whether an earlier row has the same subject and topic (the index only needs to know
    that, to tell an Alert from an Update)."""
    earlier = audit_log.alias("earlier")
    has_earlier = (
        select(earlier.c.position)
        .where(
            and_(
                earlier.c.subject == audit_log.c.subject,
                earlier.c.topic == audit_log.c.topic,
                earlier.c.position < audit_log.c.position,
            )
        )
        .exists()
    )
    query = (
        select(audit_log, has_earlier.label("has_earlier"))
        # A purged payload (retention) is no longer a message anyone can be sent.
        .where(audit_log.c.topic.in_(topics), audit_log.c.canonical.is_not(None))
        .order_by(audit_log.c.position.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(audit_log.c.occurred_at >= since)
    if until is not None:
        query = query.where(audit_log.c.occurred_at < until)
    return (await session.execute(query)).all()


async def message(
    session: AsyncSession, event_id: uuid.UUID, *, topics: Collection[str]
) -> Row[Any] | None:
    """One audited event of these topics whose payload is not purged."""
    return (
        await session.execute(
            select(audit_log).where(
                audit_log.c.event_id == event_id,
                audit_log.c.topic.in_(topics),
                audit_log.c.canonical.is_not(None),
            )
        )
    ).first()


async def earlier_messages(
    session: AsyncSession, *, subject: str, topic: str, position: int
) -> Sequence[Row[Any, Any]]:
    """The ids and times of the rows before `position` with the same subject and topic, in
    arrival order: what a message's `references` name."""
    return (
        await session.execute(
            select(audit_log.c.event_id, audit_log.c.occurred_at)
            .where(
                audit_log.c.subject == subject,
                audit_log.c.topic == topic,
                audit_log.c.position < position,
            )
            .order_by(audit_log.c.position)
        )
    ).all()
