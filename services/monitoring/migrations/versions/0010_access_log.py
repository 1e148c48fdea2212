"""The access log: reads through monitoring that served restricted records in full.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("roles", JSONB, nullable=False),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("records", sa.Text, nullable=False),
        sa.Column("entity_ids", JSONB, nullable=False),
        sa.Column("export", sa.Text, nullable=True),
        sa.Column("restricted_records", sa.Integer, nullable=False),
        sa.Column("purpose", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_access_log_at", "access_log", ["at"], schema=SCHEMA)
    op.create_index("ix_access_log_subject_at", "access_log", ["subject", "at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_access_log_subject_at", table_name="access_log", schema=SCHEMA)
    op.drop_index("ix_access_log_at", table_name="access_log", schema=SCHEMA)
    op.drop_table("access_log", schema=SCHEMA)
