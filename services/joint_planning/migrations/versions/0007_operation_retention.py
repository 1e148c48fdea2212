"""Retention of operations and notifications: when each lost its texts.

A restricted operation that ended is purged after the restricted period (with its
participants, history, tasks, milestones and meetings); a notification, internal, loses its
contact and escort reason after the internal period past its end (`retention/service.py`).
The partial indexes hold only the rows a sweep may take.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "joint_planning"


def upgrade() -> None:
    for table in ("operations", "notifications"):
        op.add_column(
            table,
            sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
            schema=SCHEMA,
        )
    op.create_index(
        "ix_operations_restricted_ended_updated_at",
        "operations",
        ["updated_at"],
        schema=SCHEMA,
        postgresql_where=sa.text(
            "sensitivity = 'restricted' AND status IN ('completed', 'cancelled')"
        ),
    )
    op.create_index("ix_notifications_ends_at", "notifications", ["ends_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_notifications_ends_at", table_name="notifications", schema=SCHEMA)
    op.drop_index(
        "ix_operations_restricted_ended_updated_at", table_name="operations", schema=SCHEMA
    )
    for table in ("operations", "notifications"):
        op.drop_column(table, "purged_at", schema=SCHEMA)
