"""Read models: replicas and incrementally maintained aggregates, built only from events.

Everything here can be truncated and rebuilt from the topics (`services.monitoring.rebuild`).
Dashboard queries read the aggregate tables (counts per status and cell, timing histograms,
incident counts per day), whose size depends on sectors x areas x days, never on the number
of requests; the per-entity tables serve drill-down by primary key.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from services.monitoring.db.models import Base
from services.monitoring.db.models.planning import PLANNING_TABLES

# ---- replicas of the registry ----
ngos = Table(
    "ngos",
    Base.metadata,
    Column("ngo_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("acronym", Text, nullable=True),
    Column("vetting_status", Text, nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("sectors", JSONB, nullable=False),
    Column("capacities", JSONB, nullable=False),
    Column("operating_areas", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per (NGO, sector, area) it may be tasked for right now (from its eligibility).
ngo_presence = Table(
    "ngo_presence",
    Base.metadata,
    Column("ngo_id", Uuid, primary_key=True),
    Column("sector", Text, primary_key=True),
    Column("pcode", Text, primary_key=True),
    Index("ix_ngo_presence_sector_pcode", "sector", "pcode"),
)

agreements = Table(
    "agreements",
    Base.metadata,
    Column("agreement_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("ngo_ids", JSONB, nullable=False),
    Column("sectors", JSONB, nullable=False),
    Column("pcodes", JSONB, nullable=False),
    Column("reporting_obligations", JSONB, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Reports received under agreements' reporting obligations. A submission never changes, and
# the registry records one per (agreement, obligation, period end), so the first copy wins.
report_submissions = Table(
    "report_submissions",
    Base.metadata,
    Column("agreement_id", Uuid, primary_key=True),
    Column("obligation", Text, primary_key=True),
    Column("period_end", Date, primary_key=True),
    Column("submission_id", Uuid, nullable=False),
    Column("ngo_id", Uuid, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

# ---- requests ----
requests = Table(
    "requests",
    Base.metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("sector", Text, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("adm1", Text, nullable=True),
    Column("urgency", Text, nullable=False),
    Column("sensitivity", Text, nullable=False),
    Column("title", Text, nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("people_affected", Integer, nullable=False, server_default="0"),
    Column("people_reached", Integer, nullable=False, server_default="0"),
    Column("ngo_id", Uuid, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("triaged_at", DateTime(timezone=True), nullable=True),
    Column("offered_at", DateTime(timezone=True), nullable=True),
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("fulfilled_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_requests_created_at", "created_at"),
)

request_history = Table(
    "request_history",
    Base.metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("request_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=True),
    Column("summary", JSONB, nullable=False),
    Index("ix_request_history_request_id", "request_id", "occurred_at"),
)

# Requests per cell and status, with the people they concern: KPIs, funnel and gap need.
request_counts = Table(
    "request_counts",
    Base.metadata,
    Column("sector", Text, primary_key=True),
    Column("pcode", Text, primary_key=True),
    Column("urgency", Text, primary_key=True),
    Column("status", Text, primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
    Column("people_affected", BigInteger, nullable=False, server_default="0"),
    Column("people_reached", BigInteger, nullable=False, server_default="0"),
)

# The same counts summed over every cell, per status: what the KPI cards read.
status_totals = Table(
    "status_totals",
    Base.metadata,
    Column("status", Text, primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
    Column("people_affected", BigInteger, nullable=False, server_default="0"),
    Column("people_reached", BigInteger, nullable=False, server_default="0"),
)

# Open requests (submitted, triaged, offered, escalated) per sector and area: the need side
# of the coverage-gap matrix.
open_need = Table(
    "open_need",
    Base.metadata,
    Column("sector", Text, primary_key=True),
    Column("pcode", Text, primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
    Column("people_affected", BigInteger, nullable=False, server_default="0"),
)

# Durations from submission to each stage, as counts in logarithmic buckets: percentiles
# come from cumulative counts without touching the requests themselves.
timing_histogram = Table(
    "timing_histogram",
    Base.metadata,
    Column("stage", Text, primary_key=True),
    Column("sector", Text, primary_key=True),
    Column("pcode", Text, primary_key=True),
    Column("urgency", Text, primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
)

# The histogram summed over every cell, per stage: the overall funnel timings.
timing_totals = Table(
    "timing_totals",
    Base.metadata,
    Column("stage", Text, primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
)

offers = Table(
    "offers",
    Base.metadata,
    Column("offer_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("request_id", Uuid, nullable=False),
    Column("ngo_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ngo_contribution = Table(
    "ngo_contribution",
    Base.metadata,
    Column("ngo_id", Uuid, primary_key=True),
    Column("offers", BigInteger, nullable=False, server_default="0"),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("declined", BigInteger, nullable=False, server_default="0"),
    Column("fulfilled", BigInteger, nullable=False, server_default="0"),
    Column("fulfilled_on_time", BigInteger, nullable=False, server_default="0"),
    Column("people_reached", BigInteger, nullable=False, server_default="0"),
)

# ---- incidents ----
incidents = Table(
    "incidents",
    Base.metadata,
    Column("incident_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("category", Text, nullable=True),
    Column("severity", Text, nullable=True),
    Column("sensitivity", Text, nullable=False),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("occurred_on", Date, nullable=False),
    Column("duplicate", Boolean, nullable=False, server_default="false"),
    # The requests service's last change, as the event carried it (migration 0014): what
    # retention is timed by; none on a row from before it until its next event.
    Column("updated_at", DateTime(timezone=True), nullable=True),
)

incident_counts = Table(
    "incident_counts",
    Base.metadata,
    Column("pcode", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("incidents", BigInteger, nullable=False, server_default="0"),
    Index("ix_incident_counts_day", "day"),
)

# ---- SLA alerts, as the monitoring topic tells them ----
alerts = Table(
    "alerts",
    Base.metadata,
    Column("alert_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("request_id", Uuid, nullable=False),
    Column("stage", Text, nullable=False),
    Column("urgency", Text, nullable=False),
    Column("sector", Text, nullable=True),
    Column("pcode", Text, nullable=True),
    Column("level", Text, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("escalate_to", JSONB, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
    Column("resolution", Text, nullable=True),
    Column("sensitivity", Text, nullable=False, server_default="internal"),
    Index("ix_alerts_open", "raised_at", postgresql_where=text("cleared_at IS NULL")),
    Index("ix_alerts_request_id", "request_id"),
)

READ_MODEL_TABLES = (
    ngos,
    ngo_presence,
    agreements,
    report_submissions,
    requests,
    request_history,
    request_counts,
    status_totals,
    open_need,
    timing_histogram,
    timing_totals,
    offers,
    ngo_contribution,
    incidents,
    incident_counts,
    alerts,
    *PLANNING_TABLES,
)
