"""Read models of joint planning: operations, tasks, milestones and deconfliction conflicts.

Each row is the latest state an event carried for its aggregate (every joint planning event
holds the full state and a `version`), so what the dashboard lists — open conflicts, overdue
tasks, missed milestones — follows from the rows alone: a conflict is open until its cleared
state arrives, a task is overdue while the sweep's flag is set and it is unfinished. The
partial indexes hold only those rows, so the lists cost what is open, not what ever was.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

from services.monitoring.db.models import Base

UNFINISHED_TASK_STATUSES = ("open", "in_progress", "blocked")

planning_operations = Table(
    "planning_operations",
    Base.metadata,
    Column("operation_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("sectors", JSONB, nullable=False),
    Column("areas", JSONB, nullable=False),
    # [{participant_id, name, role}]: enough to name a task's owner.
    Column("participants", JSONB, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The operation's class (migration 0013): retention takes a restricted one's titles.
    Column("sensitivity", Text, nullable=False, server_default="internal"),
    Index("ix_planning_operations_status", "status"),
)

planning_tasks = Table(
    "planning_tasks",
    Base.metadata,
    Column("task_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("operation_id", Uuid, nullable=False),
    Column("title", Text, nullable=False),
    Column("owner_participant_id", Uuid, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("priority", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The operation's class (migration 0013): retention takes a restricted one's titles.
    Column("sensitivity", Text, nullable=False, server_default="internal"),
    Index(
        "ix_planning_tasks_overdue",
        "due_at",
        postgresql_where=text("overdue AND status IN ('open', 'in_progress', 'blocked')"),
    ),
)

planning_milestones = Table(
    "planning_milestones",
    Base.metadata,
    Column("milestone_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("operation_id", Uuid, nullable=False),
    Column("title", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("reached_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The operation's class (migration 0013): retention takes a restricted one's titles.
    Column("sensitivity", Text, nullable=False, server_default="internal"),
    Index("ix_planning_milestones_missed", "due_at", postgresql_where=text("status = 'missed'")),
)

planning_conflicts = Table(
    "planning_conflicts",
    Base.metadata,
    Column("conflict_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("notification_id", Uuid, nullable=False),
    Column("ngo_id", Uuid, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_id", Uuid, nullable=False),
    Column("notice", Text, nullable=False),
    Column("near_pcode", Text, nullable=False),
    Column("between_start", DateTime(timezone=True), nullable=False),
    Column("between_end", DateTime(timezone=True), nullable=False),
    Column("distance_km", Float, nullable=True),
    Column("reported_at", DateTime(timezone=True), nullable=True),
    Column("flagged_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
    Column("cleared_reason", Text, nullable=True),
    Index(
        "ix_planning_conflicts_open", "between_start", postgresql_where=text("cleared_at IS NULL")
    ),
)

PLANNING_TABLES = (planning_operations, planning_tasks, planning_milestones, planning_conflicts)
