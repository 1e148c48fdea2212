"""The audit trail: every consumed event, chained by hashes so no row can change unseen."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Table, Text, Uuid, func

from services.monitoring.db.models import Base

audit_log = Table(
    "audit_log",
    Base.metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("event_type", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("actor", Text, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The event exactly as hashed (sorted keys, compact JSON): verification re-hashes this text.
    Column("canonical", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("ix_audit_log_subject_position", "subject", "position"),
    Index("ix_audit_log_actor_position", "actor", "position"),
    Index("ix_audit_log_occurred_at", "occurred_at"),
)
