"""The triage queue: a partial index of untriaged requests in submission order.

Triage left the intake transaction (triage/tasks.py): a request is stored `submitted` and
the triage worker takes the untriaged ones oldest first. The index keeps that query to the
queue, however many requests the table holds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"


def upgrade() -> None:
    op.create_index(
        "ix_aid_requests_untriaged",
        "aid_requests",
        ["submitted_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'submitted'"),
    )


def downgrade() -> None:
    op.drop_index("ix_aid_requests_untriaged", table_name="aid_requests", schema=SCHEMA)
