"""Read models of joint planning: operations, tasks, milestones and deconfliction conflicts
(the dashboard's open conflicts, overdue tasks and missed milestones).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"

TABLES = """
CREATE TABLE {s}.planning_operations (
    operation_id uuid CONSTRAINT pk_planning_operations PRIMARY KEY,
    version integer NOT NULL,
    title text NOT NULL,
    status text NOT NULL,
    sectors jsonb NOT NULL,
    areas jsonb NOT NULL,
    participants jsonb NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_planning_operations_status ON {s}.planning_operations (status);

CREATE TABLE {s}.planning_tasks (
    task_id uuid CONSTRAINT pk_planning_tasks PRIMARY KEY,
    version integer NOT NULL,
    operation_id uuid NOT NULL,
    title text NOT NULL,
    owner_participant_id uuid NOT NULL,
    due_at timestamptz NOT NULL,
    priority text NOT NULL,
    status text NOT NULL,
    overdue boolean NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_planning_tasks_overdue ON {s}.planning_tasks (due_at)
    WHERE overdue AND status IN ('open', 'in_progress', 'blocked');

CREATE TABLE {s}.planning_milestones (
    milestone_id uuid CONSTRAINT pk_planning_milestones PRIMARY KEY,
    version integer NOT NULL,
    operation_id uuid NOT NULL,
    title text NOT NULL,
    due_at timestamptz NOT NULL,
    status text NOT NULL,
    reached_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_planning_milestones_missed ON {s}.planning_milestones (due_at)
    WHERE status = 'missed';

CREATE TABLE {s}.planning_conflicts (
    conflict_id uuid CONSTRAINT pk_planning_conflicts PRIMARY KEY,
    version integer NOT NULL,
    notification_id uuid NOT NULL,
    ngo_id uuid NOT NULL,
    source text NOT NULL,
    source_id uuid NOT NULL,
    notice text NOT NULL,
    near_pcode text NOT NULL,
    between_start timestamptz NOT NULL,
    between_end timestamptz NOT NULL,
    distance_km double precision,
    reported_at timestamptz,
    flagged_at timestamptz NOT NULL,
    cleared_at timestamptz,
    cleared_reason text
);
CREATE INDEX ix_planning_conflicts_open ON {s}.planning_conflicts (between_start)
    WHERE cleared_at IS NULL
"""

DROPPED = ["planning_conflicts", "planning_milestones", "planning_tasks", "planning_operations"]


def upgrade() -> None:
    for statement in TABLES.format(s=SCHEMA).split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in DROPPED:
        op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
