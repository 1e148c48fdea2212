"""The audit trail: every consumed event, chained by hashes so no row can change unseen."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    Uuid,
    func,
)

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
    # The event's `data.sensitivity`, when it has one: what retention purges by.
    Column("sensitivity", Text, nullable=True),
    # The event in canonical form (sorted keys, compact JSON); null once purged.
    Column("canonical", Text, nullable=True),
    # sha256 of `canonical`: the chain links this digest, so a purged payload keeps it sound.
    Column("payload_digest", Text, nullable=False),
    Column("purged_at", DateTime(timezone=True), nullable=True),
    # The salt of the digests that commit to the redactable fields (`audit.chain`); dropped
    # when they are redacted, so a removed value cannot be guessed back.
    Column("redaction_salt", Text, nullable=True),
    Column("redacted_at", DateTime(timezone=True), nullable=True),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("ix_audit_log_subject_position", "subject", "position"),
    Index("ix_audit_log_actor_position", "actor", "position"),
    Index("ix_audit_log_occurred_at", "occurred_at"),
    Index("ix_audit_log_sensitivity_occurred_at", "sensitivity", "occurred_at"),
)

# A hole in the trail: a message the audit group dead-lettered instead of chaining. Keyed by
# where the lost message sits on its original topic, so recording a dead letter twice (the
# recorder redelivered after a crash) records one hole. `event_id` is null when the message
# was not even a CloudEvent. A hole is filled when its event reaches the chain after all (a
# replay from the dead-letter topic): verification counts only holes whose event is absent.
audit_gaps = Table(
    "audit_gaps",
    Base.metadata,
    Column("original_topic", Text, primary_key=True),
    Column("original_partition", Integer, primary_key=True),
    Column("original_offset", BigInteger, primary_key=True),
    Column("event_id", Uuid, nullable=True),
    Column("event_type", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("error", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("dead_letter_partition", Integer, nullable=False),
    Column("dead_letter_offset", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_audit_gaps_event_id", "event_id"),
    Index("ix_audit_gaps_recorded_at", "recorded_at"),
)
