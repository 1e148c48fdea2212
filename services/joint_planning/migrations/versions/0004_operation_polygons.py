"""Operation areas as polygons: the polygons on the operation, and the grid cells they cover
while the operation is live (what deconfliction looks up).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "joint_planning"


def upgrade() -> None:
    op.add_column(
        "operations",
        sa.Column(
            "polygons",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "operation_cells",
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("cell", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            [f"{SCHEMA}.operations.id"],
            name=op.f("fk_operation_cells_operation_id_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "cell", name=op.f("pk_operation_cells")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_operation_cells_cell_starts_at",
        "operation_cells",
        ["cell", "starts_at"],
        unique=False,
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("operation_cells", schema=SCHEMA)
    op.drop_column("operations", "polygons", schema=SCHEMA)
