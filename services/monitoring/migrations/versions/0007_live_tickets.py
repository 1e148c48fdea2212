"""Single-use tickets for the dashboard's live stream (no bearer token in its URL).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {SCHEMA}.live_tickets (
            ticket_sha256 bytea NOT NULL,
            subject text NOT NULL,
            roles jsonb NOT NULL,
            unit_id text,
            ngo_id uuid,
            expires_at timestamptz NOT NULL,
            CONSTRAINT pk_live_tickets PRIMARY KEY (ticket_sha256)
        )"""
    )
    op.execute(f"CREATE INDEX ix_live_tickets_expires_at ON {SCHEMA}.live_tickets (expires_at)")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.live_tickets")
