"""Tables of the registry: NGOs, their registrations, vetting decisions, agreements, and the
denormalised search table the compatibility search reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.ngo_registry.db.models import Base
from shared.db import EnumText
from shared.events.schemas.ngo_registry import AgreementStatus, VettingStatus

# The same server defaults as the migrations (0002_registry): a row written by plain SQL gets
# them too, and the drift test (tests/platform/test_migration_drift.py) compares them.
EMPTY_JSON_LIST = text("'[]'::jsonb")
EMPTY_JSON_OBJECT = text("'{}'::jsonb")


class Ngo(Base):
    __tablename__ = "ngos"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    acronym: Mapped[str | None] = mapped_column(Text)
    ngo_type: Mapped[str] = mapped_column(Text)
    hq_country: Mapped[str] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    sectors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    capacities: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    operating_areas: Mapped[list[str]] = mapped_column(ARRAY(Text))
    operating_points: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text))
    operational_approach: Mapped[str | None] = mapped_column(Text)
    vetting_status: Mapped[VettingStatus] = mapped_column(EnumText(VettingStatus))
    vetted_until: Mapped[date | None] = mapped_column(Date)
    eligibility: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    eligible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The profile's class (migration 0007): never below `ngo_floor()` (public), never
    # restricted (it is published on the NGO-readable topic).
    sensitivity: Mapped[str] = mapped_column(Text, server_default=text("'public'"))

    __table_args__ = (
        Index("ix_ngos_vetting_due", "vetted_until", postgresql_where="vetted_until IS NOT NULL"),
        Index("ix_ngos_sectors", "sectors", postgresql_using="gin"),
        Index("ix_ngos_operating_areas", "operating_areas", postgresql_using="gin"),
    )


class Registration(Base):
    """A national registration; (country, number) identifies one organisation."""

    __tablename__ = "registrations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ngos.id", ondelete="CASCADE"))
    country: Mapped[str] = mapped_column(Text)
    registration_number: Mapped[str] = mapped_column(Text)
    legal_status: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("country", "registration_number"),
        Index("ix_registrations_ngo_id", "ngo_id"),
    )


class VettingDecision(Base):
    """One step of the vetting workflow: who, when, why, and what the review checked."""

    __tablename__ = "vetting_decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ngos.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(Text)
    from_status: Mapped[VettingStatus | None] = mapped_column(EnumText(VettingStatus))
    to_status: Mapped[VettingStatus] = mapped_column(EnumText(VettingStatus))
    decided_by: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=EMPTY_JSON_OBJECT
    )
    vetted_until: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_vetting_decisions_ngo_id", "ngo_id", "decided_at"),)


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    ngo_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    sectors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    pcodes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    mission_responsibilities: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    reporting_obligations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(EnumText(AgreementStatus))
    signatories: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=EMPTY_JSON_LIST
    )
    version: Mapped[int] = mapped_column(Integer)
    expiring_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    terminated_by: Mapped[str | None] = mapped_column(Text)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The agreement's class (migration 0007): never below `agreement_floor()` (internal).
    sensitivity: Mapped[str] = mapped_column(Text, server_default=text("'internal'"))

    __table_args__ = (
        Index("ix_agreements_ngo_ids", "ngo_ids", postgresql_using="gin"),
        Index("ix_agreements_active_ends_on", "ends_on", postgresql_where="status = 'active'"),
    )


class ReportSubmission(Base):
    """A report a party submitted under one of an agreement's reporting obligations; one per
    (agreement, obligation, period end), which is what makes a repeated submission a no-op."""

    __tablename__ = "report_submissions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreements.id", ondelete="CASCADE")
    )
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    obligation: Mapped[str] = mapped_column(Text)
    frequency_days: Mapped[int] = mapped_column(Integer)
    period_end: Mapped[date] = mapped_column(Date)
    submitted_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Recorded by mission staff (migration 0007; null before it): an NGO party then reads
    # the submitter as `mission`, never the officer's identity.
    submitted_by_staff: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint(
            "agreement_id", "obligation", "period_end", name="uq_report_submissions_period"
        ),
    )


class SearchCell(Base):
    """One vetted NGO able to work in one sector in one county: what the search reads.

    Rebuilt for an NGO whenever its state changes, so a search is one index range scan on
    (sector, pcode) whatever the size of the registry, with distance and eligibility already
    worked out.
    """

    __tablename__ = "search_cells"

    sector: Mapped[str] = mapped_column(Text, primary_key=True)
    pcode: Mapped[str] = mapped_column(Text, primary_key=True)
    ngo_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("ngos.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text)
    distance_km: Mapped[float] = mapped_column(Float)
    via: Mapped[str] = mapped_column(Text)
    eligible: Mapped[bool] = mapped_column(Boolean)
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    capacities: Mapped[dict[str, float]] = mapped_column(JSONB)

    __table_args__ = (Index("ix_search_cells_ngo_id", "ngo_id"),)
