"""What this service knows of other services, kept from their events only.

- `ngo_eligibility`: the registry's NGO events; who may be an implementing participant.
- `incidents`: the requests service's incident events; where and when security incidents
  happened. The type is kept for mission staff only and never shown to an NGO. A restricted
  incident past its retention keeps its county's centroid instead of its point.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.joint_planning.db.models import Base
from shared.db import EnumText
from shared.vocabulary import Sensitivity


class NgoEligibility(Base):
    __tablename__ = "ngo_eligibility"

    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    vetting_status: Mapped[str] = mapped_column(Text)
    eligible: Mapped[bool] = mapped_column(Boolean)
    grants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IncidentReplica(Base):
    __tablename__ = "incidents"

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    incident_type: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    sensitivity: Mapped[Sensitivity] = mapped_column(EnumText(Sensitivity))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    pcode: Mapped[str] = mapped_column(Text)
    cell: Mapped[int] = mapped_column(Integer)
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When retention last replaced the exact point (`retention/service.py`); NULL: never.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_incidents_cell_occurred_at",
            "cell",
            "occurred_at",
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        # The retention sweep's query: restricted incidents by their last change.
        Index(
            "ix_incidents_restricted_updated_at",
            "updated_at",
            postgresql_where=text("sensitivity = 'restricted'"),
        ),
    )
