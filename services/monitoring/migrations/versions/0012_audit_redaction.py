"""Redactable fields in the audit chain: the salt that commits to them, and when they were
redacted (retention removes a read's `purpose` and keeps the rest of the event verifiable).

Existing rows get no salt: their digests stay what they were, and retention purges the whole
payload of those that hold a redactable value.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("redaction_salt", sa.Text, nullable=True), schema=SCHEMA)
    op.add_column(
        "audit_log",
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("audit_log", "redacted_at", schema=SCHEMA)
    op.drop_column("audit_log", "redaction_salt", schema=SCHEMA)
