"""Small totals kept beside the per-cell counts, so the dashboard's KPI, gap and funnel
queries read a handful of rows whatever the number of requests; filled from the per-cell
counts for databases that already hold them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"

STATEMENTS = [
    f"""CREATE TABLE {SCHEMA}.status_totals (
        status text CONSTRAINT pk_status_totals PRIMARY KEY,
        requests bigint NOT NULL DEFAULT 0,
        people_affected bigint NOT NULL DEFAULT 0,
        people_reached bigint NOT NULL DEFAULT 0
    )""",
    f"""CREATE TABLE {SCHEMA}.open_need (
        sector text NOT NULL,
        pcode text NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        people_affected bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_open_need PRIMARY KEY (sector, pcode)
    )""",
    f"""CREATE TABLE {SCHEMA}.timing_totals (
        stage text NOT NULL,
        bucket integer NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_timing_totals PRIMARY KEY (stage, bucket)
    )""",
    """INSERT INTO monitoring.status_totals
        SELECT status, sum(requests), sum(people_affected), sum(people_reached)
        FROM monitoring.request_counts GROUP BY status""",
    """INSERT INTO monitoring.open_need
        SELECT sector, pcode, sum(requests), sum(people_affected)
        FROM monitoring.request_counts
        WHERE status IN ('submitted', 'triaged', 'offered', 'escalated')
        GROUP BY sector, pcode""",
    """INSERT INTO monitoring.timing_totals
        SELECT stage, bucket, sum(requests) FROM monitoring.timing_histogram
        GROUP BY stage, bucket""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("timing_totals", "open_need", "status_totals"):
        op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
