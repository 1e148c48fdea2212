"""One round of the delivery loop: claim what is due, send it signed, record the outcome.

The claimed rows stay locked (`FOR UPDATE SKIP LOCKED`) through the HTTP calls and are
released by the commit that records what happened, so two workers never send the same
delivery at once and a later event of an entity never overtakes an earlier one. A worker
that dies mid-round commits nothing: its deliveries are still pending and go again under the
same `webhook-id`. That includes one the receiver had already accepted, which is why
receivers dedupe by `webhook-id` (docs/ngo-integration.md).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ngo_registry.config import Settings
from services.ngo_registry.db.models import outbox
from services.ngo_registry.db.models.webhooks import (
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from services.ngo_registry.webhook import repository
from services.ngo_registry.webhook.signature import headers
from shared.egress import RefusedConnection, UnsafeUrl, check_outbound_url
from shared.events.schemas.ngo_registry import DeliveryStatus, WebhookDeliveryDead
from shared.faults import crash_point
from shared.logging import get_logger
from shared.retry import Backoff


def now() -> datetime:
    return datetime.now(UTC)


log = get_logger(__name__)

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int
    max_age: timedelta
    backoff: Backoff
    timeout: float
    batch_size: int
    allow_loopback: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            max_attempts=settings.webhook_max_attempts,
            max_age=timedelta(seconds=settings.webhook_max_age_seconds),
            backoff=Backoff(
                base=settings.webhook_backoff_base_seconds,
                cap=settings.webhook_backoff_cap_seconds,
            ),
            timeout=settings.webhook_timeout_seconds,
            batch_size=settings.webhook_batch_size,
            allow_loopback=settings.webhook_allow_loopback,
        )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(event: WebhookEvent) -> bytes:
    """What the endpoint receives: the event as on its topic, without the envelope's
    internals (`id` is the event's own id, the same in a replay)."""
    return orjson.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "subject": event.entity_key,
            "time": event.time.isoformat(),
            "data": event.payload,
        }
    )


async def send(
    client: httpx.AsyncClient,
    delivery: WebhookDelivery,
    event: WebhookEvent,
    sub: WebhookSubscription,
    policy: DeliveryPolicy,
) -> Outcome:
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        # Again at every try: a name that resolved to a public address at registration may
        # point inside the mission now.
        await check_outbound_url(sub.url, allow_loopback=policy.allow_loopback)
    except UnsafeUrl as exc:
        return Outcome(None, f"refused: {exc.detail}"[:MAX_ERROR_LENGTH], took())
    body = body_of(event)
    keys = [sub.secret]
    if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now():
        keys.append(sub.previous_secret)
    signed = headers(keys, str(delivery.id), int(time.time()), body)
    try:
        response = await client.post(sub.url, content=body, headers=signed, timeout=policy.timeout)
    except RefusedConnection as exc:
        # The name moved inside the mission between the check and the connection.
        return Outcome(None, f"refused: {exc}"[:MAX_ERROR_LENGTH], took())
    except httpx.TimeoutException:
        return Outcome(None, f"timeout after {policy.timeout:g} s", took())
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH], took())
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(response.status_code, error, took())


async def record(
    session: AsyncSession,
    delivery: WebhookDelivery,
    event: WebhookEvent,
    sub: WebhookSubscription,
    outcome: Outcome,
    policy: DeliveryPolicy,
    now: datetime,
) -> None:
    await repository.add_attempt(
        session,
        {
            "id": uuid.uuid4(),
            "delivery_id": delivery.id,
            "attempted_at": now,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
        },
    )
    delivery.attempts += 1
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = now
        return
    spent = delivery.attempts >= policy.max_attempts
    too_old = now - delivery.queued_at >= policy.max_age
    if not (spent or too_old):
        delivery.next_attempt_at = now + timedelta(seconds=policy.backoff.delay(delivery.attempts))
        return
    delivery.status = DeliveryStatus.dead
    await outbox.add(
        session,
        WebhookDeliveryDead(
            webhook_id=sub.id,
            ngo_id=sub.ngo_id,
            delivery_id=delivery.id,
            event_id=event.id,
            event_type=event.type,
            attempts=delivery.attempts,
            last_error=outcome.error,
            dead_at=now,
        ),
        subject=sub.id,
    )
    log.warning(
        "webhook.delivery_dead",
        webhook_id=str(sub.id),
        delivery_id=str(delivery.id),
        attempts=delivery.attempts,
        error=outcome.error,
    )


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    policy: DeliveryPolicy,
) -> int:
    """Send what is due now, at most one batch; how many deliveries were tried."""
    async with sessionmaker() as session, session.begin():
        claimed = await repository.claim_due(session, datetime.now(UTC), limit=policy.batch_size)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(
            *(send(client, delivery, event, sub, policy) for delivery, event, sub in claimed)
        )
        crash_point("webhook.after_send")
        now = datetime.now(UTC)
        for (delivery, event, sub), outcome in zip(claimed, outcomes, strict=True):
            await record(session, delivery, event, sub, outcome, policy, now)
        log.info(
            "webhook.round",
            tried=len(claimed),
            delivered=sum(1 for o in outcomes if o.delivered),
        )
        return len(claimed)
