"""Joint operations, their participants, the area index deconfliction reads, the
append-only history, and the duplication warnings already given."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.joint_planning.db.models import Base
from shared.db import EnumText
from shared.events.schemas.joint_planning import (
    MissionComponent,
    OperationStatus,
    ParticipantKind,
    ParticipantRole,
)
from shared.vocabulary import Sensitivity


class Operation(Base):
    __tablename__ = "operations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    objectives: Mapped[list[str]] = mapped_column(JSONB)
    sectors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    areas: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # GeoJSON-like polygons: [[[lon, lat], …] rings …] each (outline first, then holes).
    polygons: Mapped[list[list[list[list[float]]]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[OperationStatus] = mapped_column(EnumText(OperationStatus))
    linked_request_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    linked_incident_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    created_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The class (migration 0006), never below the floor that `operation/classification.py`
    # derives on every change from the sectors, texts and linked incidents, and its reasons.
    sensitivity: Mapped[Sensitivity] = mapped_column(
        EnumText(Sensitivity), server_default=text("'internal'")
    )
    sensitivity_floor: Mapped[Sensitivity] = mapped_column(
        EnumText(Sensitivity), server_default=text("'internal'")
    )
    sensitivity_reasons: Mapped[list[str]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    # When retention took its texts (migration 0007; `retention/service.py`).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_operations_status", "status", "starts_at"),
        # What the retention sweep may take: restricted operations that ended.
        Index(
            "ix_operations_restricted_ended_updated_at",
            "updated_at",
            postgresql_where=text(
                "sensitivity = 'restricted' AND status IN ('completed', 'cancelled')"
            ),
        ),
        # Which operations link an incident (a linked incident found restricted raises them).
        Index("ix_operations_linked_incident_ids", "linked_incident_ids", postgresql_using="gin"),
    )


class Participant(Base):
    """A mission component or NGO in an operation; a removed one keeps its row (history)."""

    __tablename__ = "participants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    operation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("operations.id", ondelete="CASCADE")
    )
    kind: Mapped[ParticipantKind] = mapped_column(EnumText(ParticipantKind))
    ngo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    component: Mapped[MissionComponent | None] = mapped_column(EnumText(MissionComponent))
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[ParticipantRole] = mapped_column(EnumText(ParticipantRole))
    responsibilities: Mapped[list[str]] = mapped_column(JSONB)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removal_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_participants_operation_id", "operation_id"),
        # "Which operations is this NGO in" (access, eligibility loss): current rows only.
        Index(
            "ix_participants_current_ngo_id",
            "ngo_id",
            postgresql_where=text("removed_at IS NULL AND ngo_id IS NOT NULL"),
        ),
    )


class OperationArea(Base):
    """One area of a planned or active operation, with its timeframe: what deconfliction and
    overlap detection look up by P-code. Rows exist only while the operation is planned or
    active, so the index holds live work, not history."""

    __tablename__ = "operation_areas"

    operation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    pcode: Mapped[str] = mapped_column(Text, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_operation_areas_pcode_starts_at", "pcode", "starts_at"),)


class OperationCell(Base):
    """One grid cell (see deconfliction.geometry) a live operation's polygons intersect, with
    its timeframe: what deconfliction looks up for operations drawn as polygons."""

    __tablename__ = "operation_cells"

    operation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    cell: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_operation_cells_cell_starts_at", "cell", "starts_at"),)


class HistoryEntry(Base):
    """Append-only: one row per event about an operation or anything in it."""

    __tablename__ = "operation_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    operation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_operation_history_operation_id", "operation_id", "id"),)


class OverlapWarning(Base):
    """A duplication warning already given for (operation, other operation, sector): the
    primary key makes detection say it once, however often the operations change."""

    __tablename__ = "overlap_warnings"

    operation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    other_operation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sector: Mapped[str] = mapped_column(Text, primary_key=True)
    warning_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    areas: Mapped[list[str]] = mapped_column(ARRAY(Text))
    overlap_starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    overlap_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    warned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
