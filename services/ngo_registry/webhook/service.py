"""Use cases on webhooks: register, read, rotate, disable; the dead list, re-drive, replay;
and the fan-out of a consumed event to the subscriptions it matches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ngo_registry.db.models import outbox
from services.ngo_registry.db.models.webhooks import WebhookEvent, WebhookSubscription
from services.ngo_registry.ngo import repository as ngos
from services.ngo_registry.ngo.errors import check_pcodes
from services.ngo_registry.webhook import repository
from services.ngo_registry.webhook.entitlement import Entitled, deliverable_types, matches
from services.ngo_registry.webhook.errors import (
    DeliveryNotDead,
    DeliveryNotFound,
    TooManyWebhooks,
    UnknownEventTypes,
    WebhookDisabled,
    WebhookNotFound,
)
from services.ngo_registry.webhook.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    Requeued,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookWithSecret,
)
from services.ngo_registry.webhook.signature import new_secret
from shared.auth import Principal
from shared.egress import check_outbound_url
from shared.errors import NotFound
from shared.events.schemas.ngo_registry import (
    DeliveryStatus,
    WebhookDeliveriesRequeued,
    WebhookDeliveryOperation,
    WebhookFilter,
    WebhookRegistered,
    WebhookSecretRotated,
    WebhookState,
    WebhookStatus,
)
from shared.events.schemas.ngo_registry import (
    WebhookDisabled as WebhookDisabledEvent,
)
from shared.logging import get_logger

log = get_logger(__name__)

MAX_ACTIVE_PER_NGO = 10
REPLAY_PAGE = 1000


def state_of(sub: WebhookSubscription) -> WebhookState:
    return WebhookState(
        webhook_id=sub.id,
        ngo_id=sub.ngo_id,
        url=sub.url,
        filter=WebhookFilter.model_validate(
            {"event_types": sub.event_types, "sectors": sub.sectors, "pcodes": sub.pcodes}
        ),
        status=sub.status,
        version=sub.version,
        updated_at=sub.updated_at,
    )


def view_of(sub: WebhookSubscription) -> WebhookOut:
    return WebhookOut(**state_of(sub).model_dump(), created_at=sub.created_at)


def _check_tenant(principal: Principal, ngo_id: uuid.UUID, what: str) -> None:
    """Another NGO's webhook answers exactly like one that does not exist."""
    if not principal.is_staff and principal.ngo_id != ngo_id:
        raise (WebhookNotFound if what == "webhook" else NotFound)(f"No {what} here")


async def load_for(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription:
    sub = await repository.get(session, webhook_id, lock=lock)
    if sub is None or (not principal.is_staff and principal.ngo_id != sub.ngo_id):
        raise WebhookNotFound(f"No webhook {webhook_id}")
    return sub


async def register(
    session: AsyncSession,
    principal: Principal,
    ngo_id: uuid.UUID,
    body: WebhookCreate,
    *,
    allow_loopback: bool,
) -> WebhookWithSecret:
    _check_tenant(principal, ngo_id, "NGO")
    ngo = await ngos.get(session, ngo_id, lock=True)  # serialises the per-NGO limit
    if ngo is None:
        raise NotFound(f"No NGO {ngo_id}")
    unknown = sorted(set(body.filter.event_types) - set(deliverable_types()))
    if unknown:
        raise UnknownEventTypes(
            f"filter.event_types: not deliverable by webhook: {', '.join(unknown)}",
            field="filter.event_types",
            unknown=unknown,
            allowed=deliverable_types(),
        )
    check_pcodes(body.filter.pcodes, "filter.pcodes")
    await check_outbound_url(body.url, allow_loopback=allow_loopback)
    if await repository.count_active(session, ngo_id) >= MAX_ACTIVE_PER_NGO:
        raise TooManyWebhooks(
            f"NGO {ngo_id} already has {MAX_ACTIVE_PER_NGO} active webhooks; disable one first",
            limit=MAX_ACTIVE_PER_NGO,
        )
    now = datetime.now(UTC)
    secret = new_secret()
    sub = WebhookSubscription(
        id=uuid.uuid4(),
        ngo_id=ngo_id,
        url=body.url,
        event_types=list(dict.fromkeys(body.filter.event_types)),
        sectors=list(dict.fromkeys(s.value for s in body.filter.sectors)),
        pcodes=list(dict.fromkeys(body.filter.pcodes)),
        secret=secret,
        status=WebhookStatus.active,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    await session.flush()
    await outbox.add(
        session,
        WebhookRegistered(**state_of(sub).model_dump(), registered_by=principal.subject),
        subject=sub.id,
    )
    log.info("webhook.registered", webhook_id=str(sub.id), ngo_id=str(ngo_id))
    return WebhookWithSecret(**view_of(sub).model_dump(), secret=secret)


async def list_for_ngo(
    session: AsyncSession, principal: Principal, ngo_id: uuid.UUID
) -> WebhookList:
    _check_tenant(principal, ngo_id, "NGO")
    if await ngos.get(session, ngo_id) is None:
        raise NotFound(f"No NGO {ngo_id}")
    return WebhookList(items=[view_of(s) for s in await repository.list_for_ngo(session, ngo_id)])


async def rotate_secret(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID, *, overlap: timedelta
) -> WebhookWithSecret:
    """A new secret at once: every try from now on is signed with it and, for `overlap`,
    also with the one it replaces, so the receiver can switch at its own pace."""
    sub = await load_for(session, principal, webhook_id, lock=True)
    if sub.status != WebhookStatus.active:
        raise WebhookDisabled(f"Webhook {webhook_id} is disabled")
    now = datetime.now(UTC)
    sub.previous_secret = sub.secret if overlap > timedelta(0) else None
    sub.previous_secret_until = now + overlap if overlap > timedelta(0) else None
    sub.secret = new_secret()
    sub.version += 1
    sub.updated_at = now
    await session.flush()
    await outbox.add(
        session,
        WebhookSecretRotated(**state_of(sub).model_dump(), rotated_by=principal.subject),
        subject=sub.id,
    )
    log.info("webhook.secret_rotated", webhook_id=str(sub.id))
    return WebhookWithSecret(**view_of(sub).model_dump(), secret=sub.secret)


async def disable(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> WebhookOut:
    """Stop delivering; what is pending stays listed (a repeated disable changes nothing)."""
    sub = await load_for(session, principal, webhook_id, lock=True)
    if sub.status == WebhookStatus.disabled:
        return view_of(sub)
    sub.status = WebhookStatus.disabled
    sub.version += 1
    sub.updated_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(
        session,
        WebhookDisabledEvent(**state_of(sub).model_dump(), disabled_by=principal.subject),
        subject=sub.id,
    )
    log.info("webhook.disabled", webhook_id=str(sub.id))
    return view_of(sub)


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> DeliveryPage:
    await load_for(session, principal, webhook_id)
    rows, total = await repository.list_deliveries(
        session,
        webhook_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    attempts = await repository.attempts_of(session, [d.id for d, _ in rows])
    items = [
        DeliveryOut(
            delivery_id=d.id,
            event_id=e.id,
            event_type=e.type,
            entity_key=e.entity_key,
            event_time=e.time,
            status=d.status,
            attempts=[
                AttemptOut(
                    attempted_at=a.attempted_at,
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in attempts[d.id]
            ],
            next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.pending else None,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            last_error=d.last_error,
            replay_id=d.replay_id,
        )
        for d, e in rows
    ]
    return DeliveryPage(items=items, total=total, limit=limit, offset=offset)


async def _requeued(
    session: AsyncSession,
    principal: Principal,
    sub: WebhookSubscription,
    operation: WebhookDeliveryOperation,
    count: int,
    now: datetime,
    *,
    named: list[uuid.UUID] | None = None,
    replay_from: datetime | None = None,
) -> None:
    await outbox.add(
        session,
        WebhookDeliveriesRequeued(
            webhook_id=sub.id,
            ngo_id=sub.ngo_id,
            operation=operation,
            delivery_ids=named or [],
            replay_from=replay_from,
            count=count,
            requested_by=principal.subject,
            requested_at=now,
        ),
        subject=sub.id,
    )


async def redrive_one(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> Requeued:
    sub = await load_for(session, principal, webhook_id, lock=True)
    delivery = await repository.get_delivery(session, webhook_id, delivery_id, lock=True)
    if delivery is None:
        raise DeliveryNotFound(f"No delivery {delivery_id} of webhook {webhook_id}")
    if delivery.status != DeliveryStatus.dead:
        raise DeliveryNotDead(
            f"Delivery {delivery_id} is {delivery.status}", current_status=delivery.status
        )
    now = datetime.now(UTC)
    ids = await repository.requeue_dead(session, webhook_id, now, delivery_id=delivery_id)
    await _requeued(
        session, principal, sub, WebhookDeliveryOperation.redrive, len(ids), now, named=ids
    )
    log.info("webhook.redriven", webhook_id=str(webhook_id), count=len(ids))
    return Requeued(count=len(ids), delivery_ids=ids)


async def redrive_all(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID
) -> Requeued:
    """Every dead delivery back to pending, each with a fresh retry budget."""
    sub = await load_for(session, principal, webhook_id, lock=True)
    now = datetime.now(UTC)
    ids = await repository.requeue_dead(session, webhook_id, now)
    if ids:
        await _requeued(session, principal, sub, WebhookDeliveryOperation.redrive, len(ids), now)
    log.info("webhook.redriven", webhook_id=str(webhook_id), count=len(ids))
    return Requeued(count=len(ids), delivery_ids=ids)


def _entitled_of(event: WebhookEvent) -> Entitled:
    return Entitled(event.payload, event.sectors, event.pcodes, event.target_ngo_id)


def _matches(sub: WebhookSubscription, event_type: str, event: Entitled) -> bool:
    return matches(
        ngo_id=sub.ngo_id,
        event_types=sub.event_types,
        sectors=sub.sectors,
        pcodes=sub.pcodes,
        event_type=event_type,
        event=event,
    )


def _delivery(
    sub: WebhookSubscription,
    event_id: uuid.UUID,
    position: int,
    entity_key: str,
    now: datetime,
    replay_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "subscription_id": sub.id,
        "event_id": event_id,
        "event_position": position,
        "entity_key": entity_key,
        "status": DeliveryStatus.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "queued_at": now,
        "replay_id": replay_id,
    }


async def replay(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID, since: datetime
) -> Requeued:
    """Queue again every stored event since `since` that the subscription matches, in their
    order, as new deliveries (new `webhook-id`s: the receiver must not drop them as retries).
    """
    sub = await load_for(session, principal, webhook_id, lock=True)
    if sub.status != WebhookStatus.active:
        raise WebhookDisabled(f"Webhook {webhook_id} is disabled")
    now = datetime.now(UTC)
    replay_id = uuid.uuid4()
    count = 0
    after = 0
    while True:
        events = await repository.events_since(
            session, since, after_position=after, limit=REPLAY_PAGE
        )
        if not events:
            break
        rows = [
            _delivery(sub, e.id, e.position, e.entity_key, now, replay_id)
            for e in events
            if _matches(sub, e.type, _entitled_of(e))
        ]
        await repository.add_deliveries(session, rows)
        count += len(rows)
        after = events[-1].position
    await _requeued(
        session, principal, sub, WebhookDeliveryOperation.replay, count, now, replay_from=since
    )
    log.info("webhook.replayed", webhook_id=str(webhook_id), since=since.isoformat(), count=count)
    return Requeued(count=count, delivery_ids=[], replay_id=replay_id)


async def fan_out(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    event_type: str,
    entity_key: str,
    time: datetime,
    event: Entitled,
) -> int:
    """Store a consumed event once and queue one delivery per matching active subscription,
    in the consumer's transaction; a redelivered event (already stored) queues nothing."""
    now = datetime.now(UTC)
    position = await repository.store_event(
        session,
        {
            "id": event_id,
            "type": event_type,
            "entity_key": entity_key,
            "time": time,
            "payload": event.payload,
            "sectors": event.sectors,
            "pcodes": event.pcodes,
            "target_ngo_id": event.target_ngo_id,
            "received_at": now,
        },
    )
    if position is None:
        return 0
    subs: Sequence[WebhookSubscription] = await repository.active_subscriptions(
        session, ngo_id=event.target_ngo_id
    )
    rows = [
        _delivery(sub, event_id, position, entity_key, now)
        for sub in subs
        if _matches(sub, event_type, event)
    ]
    await repository.add_deliveries(session, rows)
    return len(rows)


PRUNE_BATCH = 1000


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, retention: timedelta
) -> int:
    """Forget stored events past the retention that nothing still needs, a batch per
    transaction; how many went. A replay reaches back as far as the retention."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            pruned = await repository.prune_events(session, now - retention, limit=PRUNE_BATCH)
        total += pruned
        if pruned < PRUNE_BATCH:
            break
    if total:
        log.info("webhook.pruned", events=total)
    return total
