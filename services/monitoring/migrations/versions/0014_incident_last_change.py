"""The incident read model keeps the requests service's last change of each incident, so
retention runs from when an incident stopped being worked on, as the requests service's own
purge does (`retention/service.py`); a row from before it has none until its next event and
is timed by its occurrence day meanwhile.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("incidents", "updated_at", schema=SCHEMA)
