"""Joint operations, participants, tasks, milestones, meetings, notifications, conflicts,
the deconfliction lookup tables, the history, and the registry and incident replicas.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("incident_type", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("sensitivity", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("pcode", sa.Text(), nullable=False),
        sa.Column("cell", sa.Integer(), nullable=False),
        sa.Column("duplicate_of", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incidents")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_incidents_cell_occurred_at",
        "incidents",
        ["cell", "occurred_at"],
        unique=False,
        schema="joint_planning",
        postgresql_where=sa.text("duplicate_of IS NULL"),
    )
    op.create_table(
        "ngo_eligibility",
        sa.Column("ngo_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("vetting_status", sa.Text(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("grants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ngo_id", name=op.f("pk_ngo_eligibility")),
        schema="joint_planning",
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ngo_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("function", sa.Text(), nullable=True),
        sa.Column("location", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("waypoints", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vehicles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occupancy", sa.Integer(), nullable=True),
        sa.Column("contact", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pcodes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("escort_status", sa.Text(), nullable=False),
        sa.Column("escort_reason", sa.Text(), nullable=True),
        sa.Column("escort_decided_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_notifications_ngo_id",
        "notifications",
        ["ngo_id", "starts_at"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "operation_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_history")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_operation_history_operation_id",
        "operation_history",
        ["operation_id", "id"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("objectives", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sectors", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("areas", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("linked_request_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("linked_incident_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_operations_status",
        "operations",
        ["status", "starts_at"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "overlap_warnings",
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("other_operation_id", sa.Uuid(), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.Column("warning_id", sa.Uuid(), nullable=False),
        sa.Column("areas", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("overlap_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overlap_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "operation_id", "other_operation_id", "sector", name=op.f("pk_overlap_warnings")
        ),
        schema="joint_planning",
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("ngo_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("near_pcode", sa.Text(), nullable=False),
        sa.Column("between_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("between_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["joint_planning.notifications.id"],
            name=op.f("fk_conflicts_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_conflicts_open_source_id",
        "conflicts",
        ["source_id"],
        unique=False,
        schema="joint_planning",
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index(
        "uq_conflicts_open_source",
        "conflicts",
        ["notification_id", "source", "source_id"],
        unique=True,
        schema="joint_planning",
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attendees", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("agenda", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("decisions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("action_items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_planning.operations.id"],
            name=op.f("fk_meetings_operation_id_operations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_meetings_operation_id",
        "meetings",
        ["operation_id", "held_at"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_planning.operations.id"],
            name=op.f("fk_milestones_operation_id_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_milestones_operation_id",
        "milestones",
        ["operation_id"],
        unique=False,
        schema="joint_planning",
    )
    op.create_index(
        "ix_milestones_pending_due",
        "milestones",
        ["due_at"],
        unique=False,
        schema="joint_planning",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "notification_areas",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("pcode", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["joint_planning.notifications.id"],
            name=op.f("fk_notification_areas_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", "pcode", name=op.f("pk_notification_areas")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_notification_areas_pcode_ends_at",
        "notification_areas",
        ["pcode", "ends_at"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "notification_cells",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("cell", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["joint_planning.notifications.id"],
            name=op.f("fk_notification_cells_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", "cell", name=op.f("pk_notification_cells")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_notification_cells_cell_ends_at",
        "notification_cells",
        ["cell", "ends_at"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "operation_areas",
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("pcode", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_planning.operations.id"],
            name=op.f("fk_operation_areas_operation_id_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "pcode", name=op.f("pk_operation_areas")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_operation_areas_pcode_starts_at",
        "operation_areas",
        ["pcode", "starts_at"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ngo_id", sa.Uuid(), nullable=True),
        sa.Column("component", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("responsibilities", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_planning.operations.id"],
            name=op.f("fk_participants_operation_id_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_participants_current_ngo_id",
        "participants",
        ["ngo_id"],
        unique=False,
        schema="joint_planning",
        postgresql_where=sa.text("removed_at IS NULL AND ngo_id IS NOT NULL"),
    )
    op.create_index(
        "ix_participants_operation_id",
        "participants",
        ["operation_id"],
        unique=False,
        schema="joint_planning",
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_participant_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("depends_on", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("notes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_meeting_id", sa.Uuid(), nullable=True),
        sa.Column("source_action_item_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["joint_planning.operations.id"],
            name=op.f("fk_tasks_operation_id_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        schema="joint_planning",
    )
    op.create_index(
        "ix_tasks_operation_id", "tasks", ["operation_id"], unique=False, schema="joint_planning"
    )
    op.create_index(
        "ix_tasks_overdue_due",
        "tasks",
        ["due_at"],
        unique=False,
        schema="joint_planning",
        postgresql_where=sa.text(
            "overdue_notified_at IS NULL AND status IN ('open', 'in_progress', 'blocked')"
        ),
    )


TABLES = (
    "tasks",
    "participants",
    "operation_areas",
    "notification_cells",
    "notification_areas",
    "milestones",
    "meetings",
    "conflicts",
    "overlap_warnings",
    "operations",
    "operation_history",
    "notifications",
    "ngo_eligibility",
    "incidents",
)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table, schema="joint_planning")
