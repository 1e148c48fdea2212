"""Webhooks: subscriptions, the events NGOs may receive, deliveries and their attempts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ngo_registry"
TZ = sa.DateTime(timezone=True)
TEXTS = postgresql.ARRAY(sa.Text)
EMPTY_TEXT_ARRAY = sa.text("'{}'::text[]")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event_types", TEXTS, nullable=False, server_default=EMPTY_TEXT_ARRAY),
        sa.Column("sectors", TEXTS, nullable=False, server_default=EMPTY_TEXT_ARRAY),
        sa.Column("pcodes", TEXTS, nullable=False, server_default=EMPTY_TEXT_ARRAY),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_until", TZ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
        sa.ForeignKeyConstraint(
            ["ngo_id"],
            [f"{SCHEMA}.ngos.id"],
            name="fk_webhook_subscriptions_ngo_id_ngos",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_subscriptions_ngo_id", "webhook_subscriptions", ["ngo_id"], schema=SCHEMA
    )

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("entity_key", sa.Text, nullable=False),
        sa.Column("time", TZ, nullable=False),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("sectors", TEXTS, nullable=False),
        sa.Column("pcodes", TEXTS, nullable=False),
        sa.Column("target_ngo_id", sa.Uuid),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_events"),
        sa.UniqueConstraint("position", name="uq_webhook_events_position"),
        schema=SCHEMA,
    )
    # A replay reads the events since a time.
    op.create_index("ix_webhook_events_time", "webhook_events", ["time"], schema=SCHEMA)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("subscription_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_position", sa.BigInteger, nullable=False),
        sa.Column("entity_key", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("queued_at", TZ, nullable=False),
        sa.Column("delivered_at", TZ),
        sa.Column("last_error", sa.Text),
        sa.Column("replay_id", sa.Uuid),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            [f"{SCHEMA}.webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            [f"{SCHEMA}.webhook_events.id"],
            name="fk_webhook_deliveries_event_id_webhook_events",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name="ck_webhook_deliveries_status"
        ),
        schema=SCHEMA,
    )
    # One fan-out per (subscription, event); a replay's rows are apart.
    op.create_index(
        "uq_webhook_deliveries_event",
        "webhook_deliveries",
        ["subscription_id", "event_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("replay_id IS NULL"),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_entity",
        "webhook_deliveries",
        ["subscription_id", "entity_key", "event_position"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_listing",
        "webhook_deliveries",
        ["subscription_id", "status", "created_at"],
        schema=SCHEMA,
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("delivery_id", sa.Uuid, nullable=False),
        sa.Column("attempted_at", TZ, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            [f"{SCHEMA}.webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_attempts_delivery_id",
        "webhook_attempts",
        ["delivery_id", "attempted_at"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts", schema=SCHEMA)
    op.drop_table("webhook_deliveries", schema=SCHEMA)
    op.drop_table("webhook_events", schema=SCHEMA)
    op.drop_table("webhook_subscriptions", schema=SCHEMA)
