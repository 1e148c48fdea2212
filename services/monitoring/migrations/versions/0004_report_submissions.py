"""Reports received under agreements' reporting obligations (from the registry's
`agreement.report_submitted` events), so compliance can tell overdue from merely due.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    # The primary key's leading column serves compliance's "submissions of these agreements".
    op.execute(
        f"""CREATE TABLE {SCHEMA}.report_submissions (
            agreement_id uuid NOT NULL,
            obligation text NOT NULL,
            period_end date NOT NULL,
            submission_id uuid NOT NULL,
            ngo_id uuid NOT NULL,
            submitted_on date NOT NULL,
            submitted_at timestamptz NOT NULL,
            version integer NOT NULL,
            CONSTRAINT pk_report_submissions PRIMARY KEY (agreement_id, obligation, period_end)
        )"""
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.report_submissions")
