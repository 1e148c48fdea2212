"""Offers carry a classification: their request's sensitivity (backfilled from it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "humanitarian_requests"


def upgrade() -> None:
    op.add_column("offers", sa.Column("sensitivity", sa.Text, nullable=True), schema=SCHEMA)
    op.execute(
        "UPDATE humanitarian_requests.offers AS o SET sensitivity = r.sensitivity "
        "FROM humanitarian_requests.aid_requests AS r WHERE r.id = o.request_id"
    )
    # An offer without its request cannot exist (rows are never deleted); restricted is the
    # safe class should one ever be found.
    op.execute(
        "UPDATE humanitarian_requests.offers SET sensitivity = 'restricted' "
        "WHERE sensitivity IS NULL"
    )
    op.alter_column("offers", "sensitivity", nullable=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("offers", "sensitivity", schema=SCHEMA)
