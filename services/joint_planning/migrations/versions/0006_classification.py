"""Operations and notifications carry their sensitivity class; tasks, milestones and meetings
inherit their operation's.

Operations get their class, its derived minimum and the reasons; the existing ones in a
protection, GBV or child-protection sector, or linked to a restricted incident of the
replica, become restricted (the same rule as `shared.classification.operation_floor`, which
re-derives the reasons in full at the operation's next change). Notifications are internal.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "joint_planning"
INTERNAL = sa.text("'internal'")
PARTS = ("tasks", "milestones", "meetings")


def upgrade() -> None:
    op.add_column(
        "operations",
        sa.Column("sensitivity", sa.Text, nullable=False, server_default=INTERNAL),
        schema=SCHEMA,
    )
    op.add_column(
        "operations",
        sa.Column("sensitivity_floor", sa.Text, nullable=False, server_default=INTERNAL),
        schema=SCHEMA,
    )
    op.add_column(
        "operations",
        sa.Column(
            "sensitivity_reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_operations_linked_incident_ids",
        "operations",
        ["linked_incident_ids"],
        schema=SCHEMA,
        postgresql_using="gin",
    )
    op.add_column(
        "notifications",
        sa.Column("sensitivity", sa.Text, nullable=False, server_default=INTERNAL),
        schema=SCHEMA,
    )
    op.execute(
        """
        UPDATE joint_planning.operations o SET
            sensitivity = 'restricted',
            sensitivity_floor = 'restricted',
            sensitivity_reasons = to_jsonb(ARRAY(
                SELECT 'sector:' || s FROM unnest(o.sectors) s
                WHERE s IN ('protection', 'gbv', 'child_protection')
                UNION ALL
                SELECT 'restricted_incident:' || i.incident_id FROM joint_planning.incidents i
                WHERE i.incident_id = ANY(o.linked_incident_ids)
                AND i.sensitivity = 'restricted'
            ))
        WHERE o.sectors && ARRAY['protection', 'gbv', 'child_protection']
        OR EXISTS (
            SELECT 1 FROM joint_planning.incidents i
            WHERE i.incident_id = ANY(o.linked_incident_ids) AND i.sensitivity = 'restricted'
        )
        """
    )
    for table in PARTS:
        op.add_column(
            table,
            sa.Column("sensitivity", sa.Text, nullable=False, server_default=INTERNAL),
            schema=SCHEMA,
        )
    op.execute(
        """UPDATE joint_planning.tasks t SET sensitivity = o.sensitivity
        FROM joint_planning.operations o WHERE o.id = t.operation_id"""
    )
    op.execute(
        """UPDATE joint_planning.milestones m SET sensitivity = o.sensitivity
        FROM joint_planning.operations o WHERE o.id = m.operation_id"""
    )
    op.execute(
        """UPDATE joint_planning.meetings m SET sensitivity = o.sensitivity
        FROM joint_planning.operations o WHERE o.id = m.operation_id"""
    )
    op.execute(
        """UPDATE joint_planning.operations SET sensitivity_reasons = '["kind:operation"]'::jsonb
        WHERE sensitivity_floor = 'internal'"""
    )


def downgrade() -> None:
    for table in PARTS:
        op.drop_column(table, "sensitivity", schema=SCHEMA)
    op.drop_column("notifications", "sensitivity", schema=SCHEMA)
    op.drop_index("ix_operations_linked_incident_ids", table_name="operations", schema=SCHEMA)
    for column in ("sensitivity_reasons", "sensitivity_floor", "sensitivity"):
        op.drop_column("operations", column, schema=SCHEMA)
