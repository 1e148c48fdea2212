"""Holes in the audit trail: every message the audit consumer group dead-lettered, so that
verification can say which events the chain is missing instead of calling it intact.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {SCHEMA}.audit_gaps (
            original_topic text NOT NULL,
            original_partition integer NOT NULL,
            original_offset bigint NOT NULL,
            event_id uuid,
            event_type text,
            subject text,
            error text NOT NULL,
            failed_at timestamptz,
            dead_letter_partition integer NOT NULL,
            dead_letter_offset bigint NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_audit_gaps PRIMARY KEY
                (original_topic, original_partition, original_offset)
        )"""
    )
    op.execute(f"CREATE INDEX ix_audit_gaps_event_id ON {SCHEMA}.audit_gaps (event_id)")
    op.execute(f"CREATE INDEX ix_audit_gaps_recorded_at ON {SCHEMA}.audit_gaps (recorded_at)")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.audit_gaps")
