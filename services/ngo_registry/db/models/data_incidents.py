"""Data incidents (issue 13): a suspected exposure of data, from report to closure, and every
step taken on it (who, when, what) — the workflow's own audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.ngo_registry.db.models import Base
from shared.db import EnumText
from shared.events.schemas.ngo_registry import DataIncidentStatus


class DataIncident(Base):
    __tablename__ = "data_incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # reported → classified → contained → notified → closed
    status: Mapped[DataIncidentStatus] = mapped_column(EnumText(DataIncidentStatus))
    summary: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    discovered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Which records were exposed ([{kind, id}]) and to whom (NGO ids).
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    recipients: Mapped[list[str]] = mapped_column(JSONB)
    severity: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_ngo_ids: Mapped[list[str]] = mapped_column(JSONB)
    notifications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    lessons: Mapped[str | None] = mapped_column(Text, nullable=True)
    reported_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_data_incidents_status_created_at", "status", "created_at"),)


class DataIncidentStep(Base):
    __tablename__ = "data_incident_steps"

    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("data_incidents.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (Index("ix_data_incident_steps_incident_id", "incident_id", "position"),)
