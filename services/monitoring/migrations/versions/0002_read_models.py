"""Read models, the SLA clocks and the hash-chained audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"

TABLES = """
CREATE TABLE {s}.audit_log (
    position bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_audit_log PRIMARY KEY,
    event_id uuid NOT NULL CONSTRAINT uq_audit_log_event_id UNIQUE,
    event_type text NOT NULL,
    topic text NOT NULL,
    subject text NOT NULL,
    actor text,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    canonical text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE INDEX ix_audit_log_subject_position ON {s}.audit_log (subject, position);
CREATE INDEX ix_audit_log_actor_position ON {s}.audit_log (actor, position);
CREATE INDEX ix_audit_log_occurred_at ON {s}.audit_log (occurred_at);

CREATE TABLE {s}.sla_clocks (
    request_id uuid NOT NULL,
    stage text NOT NULL,
    urgency text NOT NULL,
    sector text,
    pcode text,
    started_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    next_check_at timestamptz,
    state text NOT NULL,
    escalation_level integer NOT NULL DEFAULT -1,
    alert_id uuid,
    alert_version integer NOT NULL DEFAULT 0,
    raised_at timestamptz,
    CONSTRAINT pk_sla_clocks PRIMARY KEY (request_id, stage)
);
CREATE INDEX ix_sla_clocks_due ON {s}.sla_clocks (next_check_at)
    WHERE state IN ('running', 'warning', 'breached');

CREATE TABLE {s}.ngos (
    ngo_id uuid CONSTRAINT pk_ngos PRIMARY KEY,
    version integer NOT NULL,
    name text NOT NULL,
    acronym text,
    vetting_status text NOT NULL,
    eligible boolean NOT NULL,
    sectors jsonb NOT NULL,
    capacities jsonb NOT NULL,
    operating_areas jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE {s}.ngo_presence (
    ngo_id uuid NOT NULL,
    sector text NOT NULL,
    pcode text NOT NULL,
    CONSTRAINT pk_ngo_presence PRIMARY KEY (ngo_id, sector, pcode)
);
CREATE INDEX ix_ngo_presence_sector_pcode ON {s}.ngo_presence (sector, pcode);
CREATE TABLE {s}.agreements (
    agreement_id uuid CONSTRAINT pk_agreements PRIMARY KEY,
    version integer NOT NULL,
    title text NOT NULL,
    status text NOT NULL,
    ngo_ids jsonb NOT NULL,
    sectors jsonb NOT NULL,
    pcodes jsonb NOT NULL,
    reporting_obligations jsonb NOT NULL,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE {s}.requests (
    request_id uuid CONSTRAINT pk_requests PRIMARY KEY,
    version integer NOT NULL,
    status text NOT NULL,
    sector text NOT NULL,
    pcode text NOT NULL,
    adm1 text,
    urgency text NOT NULL,
    sensitivity text NOT NULL,
    title text,
    lat double precision,
    lon double precision,
    people_affected integer NOT NULL DEFAULT 0,
    people_reached integer NOT NULL DEFAULT 0,
    ngo_id uuid,
    created_at timestamptz NOT NULL,
    triaged_at timestamptz,
    offered_at timestamptz,
    accepted_at timestamptz,
    fulfilled_at timestamptz,
    closed_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_requests_created_at ON {s}.requests (created_at);
CREATE TABLE {s}.request_history (
    position bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_request_history PRIMARY KEY,
    request_id uuid NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    status text,
    summary jsonb NOT NULL
);
CREATE INDEX ix_request_history_request_id ON {s}.request_history (request_id, occurred_at);
CREATE TABLE {s}.request_counts (
    sector text NOT NULL,
    pcode text NOT NULL,
    urgency text NOT NULL,
    status text NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    people_affected bigint NOT NULL DEFAULT 0,
    people_reached bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_request_counts PRIMARY KEY (sector, pcode, urgency, status)
);
CREATE TABLE {s}.timing_histogram (
    stage text NOT NULL,
    sector text NOT NULL,
    pcode text NOT NULL,
    urgency text NOT NULL,
    bucket integer NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_timing_histogram PRIMARY KEY (stage, sector, pcode, urgency, bucket)
);
CREATE TABLE {s}.offers (
    offer_id uuid CONSTRAINT pk_offers PRIMARY KEY,
    version integer NOT NULL,
    request_id uuid NOT NULL,
    ngo_id uuid NOT NULL,
    status text NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE {s}.ngo_contribution (
    ngo_id uuid CONSTRAINT pk_ngo_contribution PRIMARY KEY,
    offers bigint NOT NULL DEFAULT 0,
    accepted bigint NOT NULL DEFAULT 0,
    declined bigint NOT NULL DEFAULT 0,
    fulfilled bigint NOT NULL DEFAULT 0,
    fulfilled_on_time bigint NOT NULL DEFAULT 0,
    people_reached bigint NOT NULL DEFAULT 0
);
CREATE TABLE {s}.incidents (
    incident_id uuid CONSTRAINT pk_incidents PRIMARY KEY,
    version integer NOT NULL,
    pcode text NOT NULL,
    category text,
    severity text,
    sensitivity text NOT NULL,
    lat double precision,
    lon double precision,
    occurred_on date NOT NULL,
    duplicate boolean NOT NULL DEFAULT false
);
CREATE TABLE {s}.incident_counts (
    pcode text NOT NULL,
    day date NOT NULL,
    incidents bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_incident_counts PRIMARY KEY (pcode, day)
);
CREATE INDEX ix_incident_counts_day ON {s}.incident_counts (day);
CREATE TABLE {s}.alerts (
    alert_id uuid CONSTRAINT pk_alerts PRIMARY KEY,
    version integer NOT NULL,
    request_id uuid NOT NULL,
    stage text NOT NULL,
    urgency text NOT NULL,
    sector text,
    pcode text,
    level text NOT NULL,
    escalation_level integer NOT NULL,
    escalate_to jsonb NOT NULL,
    due_at timestamptz NOT NULL,
    raised_at timestamptz NOT NULL,
    cleared_at timestamptz,
    resolution text
);
CREATE INDEX ix_alerts_open ON {s}.alerts (raised_at) WHERE cleared_at IS NULL;
CREATE INDEX ix_alerts_request_id ON {s}.alerts (request_id);
"""

DROPPED = [
    "alerts",
    "incident_counts",
    "incidents",
    "ngo_contribution",
    "offers",
    "timing_histogram",
    "request_counts",
    "request_history",
    "requests",
    "agreements",
    "ngo_presence",
    "ngos",
    "sla_clocks",
    "audit_log",
]


def upgrade() -> None:
    for statement in TABLES.format(s=SCHEMA).split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in DROPPED:
        op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
