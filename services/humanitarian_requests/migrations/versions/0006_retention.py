"""Retention: when a request, an incident or a stored idempotent response was purged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"
RECORDS = ("aid_requests", "incidents")


def upgrade() -> None:
    for table in (*RECORDS, "idempotency_keys"):
        op.add_column(
            table, sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
        )
    for table in RECORDS:
        op.create_index(
            f"ix_{table}_restricted_updated_at",
            table,
            ["updated_at"],
            schema=SCHEMA,
            postgresql_where=sa.text("sensitivity = 'restricted'"),
        )


def downgrade() -> None:
    for table in RECORDS:
        op.drop_index(f"ix_{table}_restricted_updated_at", table_name=table, schema=SCHEMA)
    for table in (*RECORDS, "idempotency_keys"):
        op.drop_column(table, "purged_at", schema=SCHEMA)
