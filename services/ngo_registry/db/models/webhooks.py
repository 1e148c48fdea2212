"""Tables of webhooks: NGOs' subscriptions, the events they may receive, and the delivery of
each event to each subscription with every attempt made.

Delivery state lives here, not in memory: a restarted worker picks up exactly where the last
one stopped (a delivery whose send was cut off is still `pending` and goes again under the
same `webhook-id`, which the receiver's dedupe absorbs).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.ngo_registry.db.models import Base
from shared.db import EnumText
from shared.events.schemas.ngo_registry import DeliveryStatus, WebhookStatus

EMPTY_TEXT_ARRAY = text("'{}'::text[]")


class WebhookSubscription(Base):
    """An NGO's endpoint and what it wants; an empty filter list means "any"."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ngos.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=EMPTY_TEXT_ARRAY
    )
    sectors: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=EMPTY_TEXT_ARRAY
    )
    pcodes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=EMPTY_TEXT_ARRAY
    )
    # The signing key itself: HMAC needs it in the clear. It never leaves this table except
    # in the one answer that creates or rotates it, and never appears in an event.
    secret: Mapped[str] = mapped_column(Text)
    # After a rotation the old secret also signs until `previous_secret_until`, so a receiver
    # can switch without dropping deliveries signed in between.
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[WebhookStatus] = mapped_column(EnumText(WebhookStatus))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_webhook_subscriptions_ngo_id", "ngo_id"),)


class WebhookEvent(Base):
    """One event an NGO may be entitled to, stored once however many subscriptions get it.

    `payload` is the event's data exactly as an NGO topic carries it (redacted by its model);
    `sectors`, `pcodes` and `target_ngo_id` are what the filters and entitlement look at.
    `position` is the order of arrival, which per entity is the producer's order (Kafka keeps
    one entity on one partition); deliveries of one entity go out in this order.
    """

    __tablename__ = "webhook_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    type: Mapped[str] = mapped_column(Text)
    entity_key: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    sectors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    pcodes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    target_ngo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_webhook_events_time", "time"),)


class WebhookDelivery(Base):
    """One event to one subscription: pending until a 2xx, `dead` past the retry budget.

    Its id is the `webhook-id` header, the same on every retry. A replay makes new rows
    (`replay_id` set) so the receiver does not drop the replayed events as duplicates.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_events.id", ondelete="CASCADE")
    )
    event_position: Mapped[int] = mapped_column(BigInteger)
    entity_key: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(EnumText(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the retry budget's clock started: creation, or the last re-drive.
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    replay_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        # The fan-out of one event to one subscription happens once (a replay aside).
        Index(
            "uq_webhook_deliveries_event",
            "subscription_id",
            "event_id",
            unique=True,
            postgresql_where="replay_id IS NULL",
        ),
        # What the delivery loop scans: pending rows by due time.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where="status = 'pending'",
        ),
        # The order rule: the earliest pending delivery of one entity for one subscription.
        Index(
            "ix_webhook_deliveries_entity",
            "subscription_id",
            "entity_key",
            "event_position",
            postgresql_where="status = 'pending'",
        ),
        Index("ix_webhook_deliveries_listing", "subscription_id", "status", "created_at"),
    )


class WebhookAttempt(Base):
    """One try of a delivery: the receiver's status (None when it never answered), the
    error, and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id", "attempted_at"),)
