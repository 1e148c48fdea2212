"""The access log: every read through monitoring that served restricted records in full."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from services.monitoring.db.models import Base

# One row per read and kind of record (a map read that served restricted requests and
# incidents writes two), in the read's own transaction, beside the
# `access.restricted_read.v1` event the outbox publishes for the audit trail.
access_log = Table(
    "access_log",
    Base.metadata,
    Column("id", Uuid, primary_key=True),
    Column("subject", Text, nullable=False),  # the reader's token subject
    Column("roles", JSONB, nullable=False),
    Column("route", Text, nullable=False),
    Column("records", Text, nullable=False),  # aid_request, incident, audited_event, export
    Column("entity_ids", JSONB, nullable=False),  # ids served in full (empty for an export)
    Column("export", Text, nullable=True),
    Column("restricted_records", Integer, nullable=False),
    # Why: removed by retention once the read is past the restricted period.
    Column("purpose", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_access_log_at", "at"),
    Index("ix_access_log_subject_at", "subject", "at"),
)
