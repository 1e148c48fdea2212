"""Queries on webhook subscriptions, the stored events and their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.ngo_registry.db.models.registry import Ngo
from services.ngo_registry.db.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from shared.events.schemas.ngo_registry import DeliveryStatus, VettingStatus, WebhookStatus


async def get(
    session: AsyncSession, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription | None:
    query = select(WebhookSubscription).where(WebhookSubscription.id == webhook_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def list_for_ngo(session: AsyncSession, ngo_id: uuid.UUID) -> Sequence[WebhookSubscription]:
    query = (
        select(WebhookSubscription)
        .where(WebhookSubscription.ngo_id == ngo_id)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return (await session.scalars(query)).all()


async def count_active(session: AsyncSession, ngo_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        WebhookSubscription.ngo_id == ngo_id, WebhookSubscription.status == WebhookStatus.active
    )
    return int(await session.scalar(query) or 0)


async def active_subscriptions(
    session: AsyncSession, *, ngo_id: uuid.UUID | None
) -> Sequence[WebhookSubscription]:
    """Every active subscription, or only one NGO's (an event addressed to that NGO)."""
    query = select(WebhookSubscription).where(WebhookSubscription.status == WebhookStatus.active)
    if ngo_id is not None:
        query = query.where(WebhookSubscription.ngo_id == ngo_id)
    return (await session.scalars(query)).all()


async def store_event(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Store an event once; its position, or None when it is already stored (a redelivery)."""
    statement = (
        pg_insert(WebhookEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[WebhookEvent.id])
        .returning(WebhookEvent.position)
    )
    position = await session.scalar(statement)
    return int(position) if position is not None else None


async def add_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(WebhookDelivery), rows)


async def events_since(
    session: AsyncSession, since: datetime, *, after_position: int, limit: int
) -> Sequence[WebhookEvent]:
    query = (
        select(WebhookEvent)
        .where(WebhookEvent.time >= since, WebhookEvent.position > after_position)
        .order_by(WebhookEvent.position)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def list_deliveries(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[tuple[WebhookDelivery, WebhookEvent]], int]:
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == webhook_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.execute(
        query.order_by(WebhookDelivery.event_position, WebhookDelivery.created_at)
        .limit(limit)
        .offset(offset)
    )
    return [(row[0], row[1]) for row in page.all()], int(total or 0)


async def attempts_of(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    found: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return found
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    )
    for attempt in (await session.scalars(query)).all():
        found[attempt.delivery_id].append(attempt)
    return found


async def get_delivery(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID, *, lock: bool = False
) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == webhook_id
    )
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def requeue_dead(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    now: datetime,
    *,
    delivery_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Dead deliveries back to pending with a fresh budget; the ids re-driven."""
    statement = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == webhook_id,
            WebhookDelivery.status == DeliveryStatus.dead,
        )
        .values(status=DeliveryStatus.pending, attempts=0, next_attempt_at=now, queued_at=now)
        .returning(WebhookDelivery.id)
    )
    if delivery_id is not None:
        statement = statement.where(WebhookDelivery.id == delivery_id)
    return list((await session.scalars(statement)).all())


async def claim_due(
    session: AsyncSession, now: datetime, *, limit: int
) -> Sequence[tuple[WebhookDelivery, WebhookEvent, WebhookSubscription]]:
    """Lock up to `limit` deliveries that are due, skipping those another worker holds.

    Due: pending, its time has come, its subscription active, its NGO vetted (a suspended
    or lapsed NGO's deliveries wait), and no earlier pending delivery of the same entity to
    the same subscription, so that one entity's events arrive in the order they happened.
    A row another worker has locked is still `pending` to this query, so the entity's later
    events stay behind it; the lock is held through the HTTP call and released with the
    commit that records the outcome.
    """
    earlier = aliased(WebhookDelivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.entity_key == WebhookDelivery.entity_key,
            earlier.status == DeliveryStatus.pending,
            and_(
                func.row(earlier.event_position, earlier.created_at, earlier.id)
                < func.row(
                    WebhookDelivery.event_position, WebhookDelivery.created_at, WebhookDelivery.id
                )
            ),
        )
        .exists()
    )
    query = (
        select(WebhookDelivery, WebhookEvent, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(Ngo, Ngo.id == WebhookSubscription.ngo_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.status == WebhookStatus.active,
            Ngo.vetting_status == VettingStatus.vetted,
            ~blocked,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_position)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    rows = await session.execute(query)
    return [(row[0], row[1], row[2]) for row in rows.all()]


async def add_attempt(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(WebhookAttempt).values(**values))


async def prune_events(session: AsyncSession, older_than: datetime, *, limit: int) -> int:
    """Delete up to `limit` stored events older than `older_than` that nothing still needs:
    no delivery of theirs is pending or dead (the dead list stays until re-driven or the
    webhook goes). Their delivered rows and attempts go with them (ON DELETE CASCADE)."""
    needed = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.event_id == WebhookEvent.id,
            WebhookDelivery.status.in_([DeliveryStatus.pending, DeliveryStatus.dead]),
        )
        .exists()
    )
    doomed = (
        select(WebhookEvent.id)
        .where(WebhookEvent.time < older_than, ~needed)
        .order_by(WebhookEvent.position)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(WebhookEvent).where(WebhookEvent.id.in_(doomed)).returning(WebhookEvent.id)
    )
    return len(result.all())
