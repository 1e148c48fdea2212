"""Retention: when a restricted incident of the replica lost its exact point.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "joint_planning"


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_incidents_restricted_updated_at",
        "incidents",
        ["updated_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("sensitivity = 'restricted'"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_restricted_updated_at", table_name="incidents", schema=SCHEMA)
    op.drop_column("incidents", "purged_at", schema=SCHEMA)
