"""NGOs and agreements carry their sensitivity class; report submissions say whether mission
staff recorded them.

Existing rows get their derived minimum: an NGO's published profile `public`, an agreement
`internal` (`shared.classification.ngo_floor`, `agreement_floor`). An existing submission's
`submitted_by_staff` is unknown (null): an NGO party reads its submitter as `mission`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ngo_registry"
DEFAULTS = {"ngos": "public", "agreements": "internal"}


def upgrade() -> None:
    for table, default in DEFAULTS.items():
        op.add_column(
            table,
            sa.Column(
                "sensitivity", sa.Text, nullable=False, server_default=sa.text(f"'{default}'")
            ),
            schema=SCHEMA,
        )
    op.add_column(
        "report_submissions",
        sa.Column("submitted_by_staff", sa.Boolean, nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("report_submissions", "submitted_by_staff", schema=SCHEMA)
    for table in DEFAULTS:
        op.drop_column(table, "sensitivity", schema=SCHEMA)
