"""Aid requests and incidents keep their derived minimum sensitivity and its reasons.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"
TABLES = ("aid_requests", "incidents")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("sensitivity_floor", sa.Text, nullable=True), schema=SCHEMA)
        op.add_column(table, sa.Column("sensitivity_reasons", JSONB, nullable=True), schema=SCHEMA)


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "sensitivity_reasons", schema=SCHEMA)
        op.drop_column(table, "sensitivity_floor", schema=SCHEMA)
