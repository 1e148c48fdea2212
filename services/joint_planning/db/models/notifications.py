"""Humanitarian notifications, the lookup tables deconfliction reads, and conflicts.

Why `notification_areas` and `notification_cells`: a re-check starts from an operation (its
P-codes) or an incident (its point) and must find the notifications it touches without
scanning them all. Each live notification is indexed by the counties its site or route
touches and by the grid cells of its corridor, with its window; both tables hold rows only
while the notification is live (not cancelled).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.joint_planning.db.models import Base
from shared.db import EnumText
from shared.events.schemas.joint_planning import (
    ConflictSource,
    EscortStatus,
    NotificationKind,
    NotificationStatus,
)
from shared.vocabulary import Sensitivity


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[NotificationKind] = mapped_column(EnumText(NotificationKind))
    status: Mapped[NotificationStatus] = mapped_column(EnumText(NotificationStatus))
    function: Mapped[str | None] = mapped_column(Text)
    location: Mapped[dict[str, float] | None] = mapped_column(JSONB)
    waypoints: Mapped[list[dict[str, float]]] = mapped_column(JSONB)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    vehicles: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    occupancy: Mapped[int | None] = mapped_column(Integer)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    pcodes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    escort_status: Mapped[EscortStatus] = mapped_column(EnumText(EscortStatus))
    escort_reason: Mapped[str | None] = mapped_column(Text)
    escort_decided_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Always internal (`shared.classification.notification_floor`; migration 0006).
    sensitivity: Mapped[Sensitivity] = mapped_column(
        EnumText(Sensitivity), server_default=text("'internal'")
    )
    # When retention took its contact and escort reason (migration 0007).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_notifications_ngo_id", "ngo_id", "starts_at"),
        # The retention sweep's query: the notifications that ended before its cutoff.
        Index("ix_notifications_ends_at", "ends_at"),
    )


class NotificationArea(Base):
    __tablename__ = "notification_areas"

    notification_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    pcode: Mapped[str] = mapped_column(Text, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_notification_areas_pcode_ends_at", "pcode", "ends_at"),)


class NotificationCell(Base):
    """A grid cell (see deconfliction.geometry) within the incident radius of the route."""

    __tablename__ = "notification_cells"

    notification_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    cell: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_notification_cells_cell_ends_at", "cell", "ends_at"),)


class Conflict(Base):
    """A conflict flagged on a notification; cleared ones stay (with `cleared_at`)."""

    __tablename__ = "conflicts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notifications.id", ondelete="CASCADE")
    )
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source: Mapped[ConflictSource] = mapped_column(EnumText(ConflictSource))
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    notice: Mapped[str] = mapped_column(Text)
    near_pcode: Mapped[str] = mapped_column(Text)
    between_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    between_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    distance_km: Mapped[float | None] = mapped_column(Float)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # One open conflict per (notification, source): a re-check that finds it again
        # changes nothing.
        Index(
            "uq_conflicts_open_source",
            "notification_id",
            "source",
            "source_id",
            unique=True,
            postgresql_where=text("cleared_at IS NULL"),
        ),
        Index(
            "ix_conflicts_open_source_id", "source_id", postgresql_where=text("cleared_at IS NULL")
        ),
    )
