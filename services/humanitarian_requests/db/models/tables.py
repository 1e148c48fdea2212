"""Tables of the requests service: aid requests, incidents, offers, history, idempotency keys
and the registry replica.

Structured parts of a report (items, population, constraints) are JSONB: they are read and
written whole, never queried inside. What is queried (status, sector, P-code, unit, NGO,
deadlines) is a column with an index.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Identity, Index, Integer, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.humanitarian_requests.db.models import Base
from shared.db import EnumText
from shared.events.schemas.humanitarian_requests import Fulfilment, OfferStatus, RequestStatus
from shared.events.schemas.ngo_registry import VettingStatus


class AidRequest(Base):
    __tablename__ = "aid_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[str | None] = mapped_column(Text)
    reporting_unit: Mapped[str] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(EnumText(RequestStatus))
    sector: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(Text)
    sensitivity: Mapped[str] = mapped_column(Text)
    # The derived minimum (shared.classification) and its reasons: a reclassification may not
    # go below it. NULL on rows from before migration 0004.
    sensitivity_floor: Mapped[str | None] = mapped_column(Text)
    sensitivity_reasons: Mapped[list[str] | None] = mapped_column(JSONB)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    affected_population: Mapped[dict[str, Any]] = mapped_column(JSONB)
    affected_total: Mapped[int] = mapped_column(Integer)
    vulnerability: Mapped[list[str]] = mapped_column(JSONB)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    pcode: Mapped[str] = mapped_column(Text)
    admin1: Mapped[str | None] = mapped_column(Text)
    access_constraints: Mapped[list[str]] = mapped_column(JSONB)
    security_constraints: Mapped[list[str]] = mapped_column(JSONB)
    contact: Mapped[str | None] = mapped_column(Text)
    priority_score: Mapped[float] = mapped_column(Float)
    priority_overridden: Mapped[bool] = mapped_column(default=False)
    priority_reason: Mapped[str | None] = mapped_column(Text)
    cluster_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    current_offer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    offered_ngo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    offer_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offer_round: Mapped[int] = mapped_column(Integer, default=0)
    assigned_ngo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fulfilment: Mapped[Fulfilment] = mapped_column(EnumText(Fulfilment), default=Fulfilment.none)
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    # Whether the NGO-readable open_request topic currently lists this request.
    ngo_visible: Mapped[bool] = mapped_column(default=False)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    triaged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    in_progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    # When retention last anonymised the row (`retention/service.py`); NULL: never.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # A unit's own id for a report is idempotent: the same client_id creates one request.
        Index(
            "uq_aid_requests_unit_client_id",
            "reporting_unit",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index("ix_aid_requests_status_sector", "status", "sector"),
        Index("ix_aid_requests_sector_observed_at", "sector", "observed_at"),
        # The triage queue (triage/repository.py): untriaged requests in submission order.
        Index(
            "ix_aid_requests_untriaged",
            "submitted_at",
            "id",
            postgresql_where=text("status = 'submitted'"),
        ),
        Index("ix_aid_requests_reporting_unit", "reporting_unit", "submitted_at"),
        Index("ix_aid_requests_assigned_ngo_id", "assigned_ngo_id", "status"),
        Index("ix_aid_requests_cluster_id", "cluster_id"),
        # The retention sweep's query: restricted requests by their last change.
        Index(
            "ix_aid_requests_restricted_updated_at",
            "updated_at",
            postgresql_where=text("sensitivity = 'restricted'"),
        ),
        # ... and internal ones, only once they ended (intake never writes to it).
        Index(
            "ix_aid_requests_internal_updated_at",
            "updated_at",
            postgresql_where=text(
                "sensitivity = 'internal' AND status IN ('fulfilled', 'closed', 'cancelled')"
            ),
        ),
    )


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[str | None] = mapped_column(Text)
    reporting_unit: Mapped[str] = mapped_column(Text)
    incident_type: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    sensitivity: Mapped[str] = mapped_column(Text)
    # The derived minimum (shared.classification) and its reasons: a reclassification may not
    # go below it. NULL on rows from before migration 0004.
    sensitivity_floor: Mapped[str | None] = mapped_column(Text)
    sensitivity_reasons: Mapped[list[str] | None] = mapped_column(JSONB)
    casualties: Mapped[dict[str, int]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    pcode: Mapped[str] = mapped_column(Text)
    admin1: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    cluster_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    # When retention last anonymised the row (`retention/service.py`); NULL: never.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "uq_incidents_unit_client_id",
            "reporting_unit",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index("ix_incidents_type_occurred_at", "incident_type", "occurred_at"),
        Index("ix_incidents_reporting_unit", "reporting_unit", "reported_at"),
        Index(
            "ix_incidents_restricted_updated_at",
            "updated_at",
            postgresql_where=text("sensitivity = 'restricted'"),
        ),
        Index(
            "ix_incidents_internal_updated_at",
            "updated_at",
            postgresql_where=text("sensitivity = 'internal'"),
        ),
    )


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The request's class (an offer names the request, its items, the NGO and the place, so it
    # is never lower); kept equal to it by a reclassification, in the same transaction.
    sensitivity: Mapped[str] = mapped_column(Text)
    status: Mapped[OfferStatus] = mapped_column(EnumText(OfferStatus))
    round: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    ranking: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # every candidate, for ops
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    respond_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_offers_request_id", "request_id"),
        Index("ix_offers_ngo_id", "ngo_id", "status"),
        # The deadline sweeper's query: pending offers by deadline.
        Index(
            "ix_offers_pending_respond_by",
            "respond_by",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class HistoryEntry(Base):
    """One row per transition of a request or incident: the queryable history."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    entity_type: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_history_entity_id", "entity_id", "id"),)


class IdempotencyKey(Base):
    """A POST's Idempotency-Key, the hash of its body and the response it got.

    Written in the same transaction as what the POST created, so either both exist or
    neither: a retry after a lost response finds the key and replays the response.
    """

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(Text, primary_key=True)  # caller and endpoint
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set when retention blanked the stored response (it showed a record since anonymised):
    # a retry is then answered 410, neither replayed nor done again.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NgoReplica(Base):
    """The registry's public NGO state, kept from its events only (never a call to it)."""

    __tablename__ = "ngo_replica"

    ngo_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    sectors: Mapped[list[str]] = mapped_column(JSONB)
    capacities: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    operating_areas: Mapped[list[str]] = mapped_column(JSONB)
    operating_points: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    vetting_status: Mapped[VettingStatus] = mapped_column(EnumText(VettingStatus))
    eligibility: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    eligible: Mapped[bool] = mapped_column()
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_ngo_replica_eligible", "eligible"),)


class AccessLogEntry(Base):
    """One row per restricted record served in full: who read what, when and why. Written in
    the read's own transaction, with an `access.restricted_read` event through the outbox so
    monitoring's audit chain has it too."""

    __tablename__ = "access_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(JSONB)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    route: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_access_log_entity", "entity_id", "at"),)
