"""Outbox rows the relay can never send are parked with their error.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_parking_v2, drop_outbox_parking_v2

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "joint_planning"


def upgrade() -> None:
    add_outbox_parking_v2(SCHEMA)


def downgrade() -> None:
    drop_outbox_parking_v2(SCHEMA)
