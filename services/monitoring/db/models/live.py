"""Tickets that open the dashboard's live stream once (see `services.monitoring.live_tickets`).

In Postgres rather than in memory so that a ticket issued by one replica opens the stream on
another; only the ticket's SHA-256 is kept, so reading the table gives no usable ticket.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, LargeBinary, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from services.monitoring.db.models import Base

live_tickets = Table(
    "live_tickets",
    Base.metadata,
    Column("ticket_sha256", LargeBinary, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("roles", JSONB, nullable=False),
    Column("unit_id", Text, nullable=True),
    Column("ngo_id", Uuid, nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_live_tickets_expires_at", "expires_at"),
)
