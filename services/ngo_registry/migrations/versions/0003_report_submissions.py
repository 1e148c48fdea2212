"""Report submissions: what agreement parties reported under each reporting obligation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ngo_registry"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_submissions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("agreement_id", sa.Uuid, nullable=False),
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("obligation", sa.Text, nullable=False),
        sa.Column("frequency_days", sa.Integer, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("submitted_on", sa.Date, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("submitted_by", sa.Text, nullable=False),
        sa.Column("submitted_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_submissions"),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            [f"{SCHEMA}.agreements.id"],
            name="fk_report_submissions_agreement_id_agreements",
            ondelete="CASCADE",
        ),
        # One report per obligation and period: the idempotency key of a submission, and
        # (leading column) the access path of an agreement's listing.
        sa.UniqueConstraint(
            "agreement_id", "obligation", "period_end", name="uq_report_submissions_period"
        ),
        sa.CheckConstraint("frequency_days > 0", name="ck_report_submissions_frequency"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("report_submissions", schema=SCHEMA)
