"""Data incidents and the steps taken on them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ngo_registry"
TZ = sa.DateTime(timezone=True)
JSON = postgresql.JSONB


def upgrade() -> None:
    op.create_table(
        "data_incidents",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("occurred_at", TZ, nullable=True),
        sa.Column("discovered_at", TZ, nullable=False),
        sa.Column("records", JSON, nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("severity", sa.Text, nullable=True),
        sa.Column("revoked_ngo_ids", JSON, nullable=False),
        sa.Column("notifications", JSON, nullable=False),
        sa.Column("lessons", sa.Text, nullable=True),
        sa.Column("reported_by", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_data_incidents"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_data_incidents_status_created_at",
        "data_incidents",
        ["status", "created_at"],
        schema=SCHEMA,
    )
    op.create_table(
        "data_incident_steps",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("incident_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_data_incident_steps"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            [f"{SCHEMA}.data_incidents.id"],
            name="fk_data_incident_steps_incident_id_data_incidents",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_data_incident_steps_incident_id",
        "data_incident_steps",
        ["incident_id", "position"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("data_incident_steps", schema=SCHEMA)
    op.drop_table("data_incidents", schema=SCHEMA)
