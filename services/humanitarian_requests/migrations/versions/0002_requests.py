"""Aid requests, incidents, offers, history, idempotency keys and the registry replica.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"
TS = sa.DateTime(timezone=True)


def _location() -> list[sa.Column[object]]:
    return [
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("pcode", sa.Text, nullable=False),
        sa.Column("admin1", sa.Text),
    ]


def upgrade() -> None:
    op.create_table(
        "aid_requests",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("client_id", sa.Text),
        sa.Column("reporting_unit", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("sector", sa.Text, nullable=False),
        sa.Column("urgency", sa.Text, nullable=False),
        sa.Column("sensitivity", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("items", postgresql.JSONB, nullable=False),
        sa.Column("affected_population", postgresql.JSONB, nullable=False),
        sa.Column("affected_total", sa.Integer, nullable=False),
        sa.Column("vulnerability", postgresql.JSONB, nullable=False),
        *_location(),
        sa.Column("access_constraints", postgresql.JSONB, nullable=False),
        sa.Column("security_constraints", postgresql.JSONB, nullable=False),
        sa.Column("contact", sa.Text),
        sa.Column("priority_score", sa.Float, nullable=False),
        sa.Column("priority_overridden", sa.Boolean, nullable=False),
        sa.Column("priority_reason", sa.Text),
        sa.Column("cluster_id", sa.Uuid, nullable=False),
        sa.Column("duplicate_of", sa.Uuid),
        sa.Column("current_offer_id", sa.Uuid),
        sa.Column("offered_ngo_id", sa.Uuid),
        sa.Column("offer_deadline", TS),
        sa.Column("offer_round", sa.Integer, nullable=False),
        sa.Column("assigned_ngo_id", sa.Uuid),
        sa.Column("fulfilment", sa.Text, nullable=False),
        sa.Column("escalation_reason", sa.Text),
        sa.Column("cancellation_reason", sa.Text),
        sa.Column("ngo_visible", sa.Boolean, nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        *[
            sa.Column(f"{step}_at", TS)
            for step in (
                "triaged",
                "offered",
                "accepted",
                "in_progress",
                "fulfilled",
                "closed",
                "cancelled",
                "escalated",
            )
        ],
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_aid_requests"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_aid_requests_unit_client_id",
        "aid_requests",
        ["reporting_unit", "client_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )
    for name, columns in {
        "ix_aid_requests_status_sector": ["status", "sector"],
        "ix_aid_requests_sector_observed_at": ["sector", "observed_at"],
        "ix_aid_requests_reporting_unit": ["reporting_unit", "submitted_at"],
        "ix_aid_requests_assigned_ngo_id": ["assigned_ngo_id", "status"],
        "ix_aid_requests_cluster_id": ["cluster_id"],
    }.items():
        op.create_index(name, "aid_requests", columns, schema=SCHEMA)

    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("client_id", sa.Text),
        sa.Column("reporting_unit", sa.Text, nullable=False),
        sa.Column("incident_type", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("sensitivity", sa.Text, nullable=False),
        sa.Column("casualties", postgresql.JSONB, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        *_location(),
        sa.Column("description", sa.Text),
        sa.Column("cluster_id", sa.Uuid, nullable=False),
        sa.Column("duplicate_of", sa.Uuid),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_incidents_unit_client_id",
        "incidents",
        ["reporting_unit", "client_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )
    op.create_index(
        "ix_incidents_type_occurred_at",
        "incidents",
        ["incident_type", "occurred_at"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_incidents_reporting_unit", "incidents", ["reporting_unit", "reported_at"], schema=SCHEMA
    )

    op.create_table(
        "offers",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Uuid, nullable=False),
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("explanation", postgresql.JSONB, nullable=False),
        sa.Column("ranking", postgresql.JSONB, nullable=False),
        sa.Column("offered_at", TS, nullable=False),
        sa.Column("respond_by", TS, nullable=False),
        sa.Column("responded_at", TS),
        sa.Column("decline_reason", sa.Text),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        schema=SCHEMA,
    )
    op.create_index("ix_offers_request_id", "offers", ["request_id"], schema=SCHEMA)
    op.create_index("ix_offers_ngo_id", "offers", ["ngo_id", "status"], schema=SCHEMA)
    op.create_index(
        "ix_offers_pending_respond_by",
        "offers",
        ["respond_by"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "history",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("entity_id", sa.Uuid, nullable=False),
        sa.Column("entity_type", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("detail", postgresql.JSONB, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_history"),
        schema=SCHEMA,
    )
    op.create_index("ix_history_entity_id", "history", ["entity_id", "id"], schema=SCHEMA)

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", postgresql.JSONB),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
        schema=SCHEMA,
    )

    op.create_table(
        "ngo_replica",
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("sectors", postgresql.JSONB, nullable=False),
        sa.Column("capacities", postgresql.JSONB, nullable=False),
        sa.Column("operating_areas", postgresql.JSONB, nullable=False),
        sa.Column("operating_points", postgresql.JSONB, nullable=False),
        sa.Column("vetting_status", sa.Text, nullable=False),
        sa.Column("eligibility", postgresql.JSONB, nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("ngo_id", name="pk_ngo_replica"),
        schema=SCHEMA,
    )
    op.create_index("ix_ngo_replica_eligible", "ngo_replica", ["eligible"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("ngo_replica", "idempotency_keys", "history", "offers", "incidents"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_table("aid_requests", schema=SCHEMA)
