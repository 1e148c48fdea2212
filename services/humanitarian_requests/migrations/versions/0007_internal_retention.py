"""Retention of the internal class: the sweep's indexes for internal requests and incidents.

An aid request's index holds only the ended ones (the only ones the sweep may purge), so
intake and the open lifecycle never write to it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"
WHERE = {
    "aid_requests": "sensitivity = 'internal' AND status IN ('fulfilled', 'closed', 'cancelled')",
    "incidents": "sensitivity = 'internal'",
}


def upgrade() -> None:
    for table, where in WHERE.items():
        op.create_index(
            f"ix_{table}_internal_updated_at",
            table,
            ["updated_at"],
            schema=SCHEMA,
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for table in WHERE:
        op.drop_index(f"ix_{table}_internal_updated_at", table_name=table, schema=SCHEMA)
