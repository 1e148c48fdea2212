"""Outbox and inbox: the event plumbing every service schema carries.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import create_event_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"


def upgrade() -> None:
    create_event_tables_v1(SCHEMA)


def downgrade() -> None:
    op.drop_table("processed_events", schema=SCHEMA)
    op.drop_table("outbox", schema=SCHEMA)
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.notify_outbox()")
