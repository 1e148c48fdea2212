"""The planning read models carry their operation's class, so retention can take the titles
of restricted operations that ended (`retention/service.py`); what exists is internal until
its next event says otherwise (a rebuild replays the class from the topics).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"
TABLES = ("planning_operations", "planning_tasks", "planning_milestones")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("sensitivity", sa.Text, nullable=False, server_default="internal"),
            schema=SCHEMA,
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, "sensitivity", schema=SCHEMA)
