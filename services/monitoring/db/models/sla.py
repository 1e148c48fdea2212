"""The SLA engine's own state: one clock per request and stage (not a read model: it is
what the sweep acts on, and it survives a rebuild)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, Uuid, text

from services.monitoring.db.models import Base

sla_clocks = Table(
    "sla_clocks",
    Base.metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("stage", Text, primary_key=True),
    Column("urgency", Text, nullable=False),
    Column("sector", Text, nullable=True),
    Column("pcode", Text, nullable=True),
    # The request's class, kept current from its events: the alerts' `sensitivity`.
    Column("sensitivity", Text, nullable=False, server_default="internal"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("next_check_at", DateTime(timezone=True), nullable=True),
    # running → warning → breached (escalation_level rises) → met | cancelled
    Column("state", Text, nullable=False),
    Column("escalation_level", Integer, nullable=False, server_default="-1"),
    Column("alert_id", Uuid, nullable=True),
    Column("alert_version", Integer, nullable=False, server_default="0"),
    Column("raised_at", DateTime(timezone=True), nullable=True),
    Index(
        "ix_sla_clocks_due",
        "next_check_at",
        postgresql_where=text("state IN ('running', 'warning', 'breached')"),
    ),
)
