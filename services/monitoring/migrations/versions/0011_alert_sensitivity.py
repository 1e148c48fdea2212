"""SLA alerts carry their request's class: `sensitivity` on the clocks and the alert feed,
filled from the requests read model for what exists.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    for table in ("sla_clocks", "alerts"):
        op.add_column(
            table,
            sa.Column("sensitivity", sa.Text, nullable=False, server_default="internal"),
            schema=SCHEMA,
        )
        op.execute(
            sa.text(
                f"UPDATE {SCHEMA}.{table} AS t SET sensitivity = r.sensitivity "  # noqa: S608 (constant names)
                f"FROM {SCHEMA}.requests AS r WHERE r.request_id = t.request_id"
            )
        )


def downgrade() -> None:
    for table in ("alerts", "sla_clocks"):
        op.drop_column(table, "sensitivity", schema=SCHEMA)
