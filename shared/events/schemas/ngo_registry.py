"""Events of the NGO registry: the public state of every NGO and agreement.

Consumers (the requests service's matching replica, monitoring's coverage matrix) keep local
copies from these events alone. Every NGO event carries the NGO's full public state *after*
the change, including its vetting status and its computed eligibility: the (sector, areas)
pairs it may be tasked for right now, which the registry derives from its vetting and its
active agreements. Confidential vetting notes, reviewers' checks and contact people never
appear here.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.events.catalog import Audience, Retention, Topic
from shared.events.schemas import CATALOG
from shared.vocabulary import Sector

NGO_TOPIC = Topic(
    "concord.ngo_registry.ngo.v1",
    "The public directory: every change to an NGO's profile, vetting status and eligibility",
    audience=Audience.ngo,
    retention=Retention.state,
)
AGREEMENT_TOPIC = Topic(
    "concord.ngo_registry.agreement.v1",
    "Partnership agreements (MoUs) between the mission and NGOs, through their lifecycle",
    audience=Audience.mission_staff,
    retention=Retention.state,
)


class NgoType(StrEnum):
    international = "international"
    national = "national"
    local = "local"
    un_agency = "un_agency"
    red_cross_red_crescent = "red_cross_red_crescent"


class VettingStatus(StrEnum):
    submitted = "submitted"
    under_review = "under_review"
    vetted = "vetted"
    rejected = "rejected"
    suspended = "suspended"
    expired = "expired"


class Capacity(BaseModel):
    """A typed resource with a quantity: `staff 40 persons`, `water_trucking 120 m3/day`."""

    resource: str
    quantity: float = Field(ge=0)
    unit: str


class PublishedSensitivity(StrEnum):
    """The classes a record on a registry topic can have: restricted is not representable
    (the NGO topic is NGO-readable; agreements go to the mission's own systems)."""

    public = "public"
    internal = "internal"


class OperatingPoint(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0)


class EligibilityGrant(BaseModel):
    """The NGO may be tasked for `sector` in these areas (and everything inside them)."""

    sector: Sector
    pcodes: list[str]
    agreement_id: uuid.UUID
    valid_until: date


class NgoState(BaseModel):
    """An NGO's full public state after a change."""

    ngo_id: uuid.UUID
    name: str
    acronym: str | None = None
    ngo_type: NgoType
    hq_country: str
    website: str | None = None
    sectors: list[Sector]
    capacities: list[Capacity]
    operating_areas: list[str]
    # On this topic and in the public directory: the centre of each base's 0.1° grid cell,
    # the radius widened to cover the exact circle (`operating_points_grid_degrees` says so;
    # older events, before the coarsening, have it null). Exact points are for staff only.
    operating_points: list[OperatingPoint] = []
    languages: list[str] = []
    vetting_status: VettingStatus
    vetted_until: date | None = None
    eligibility: list[EligibilityGrant]
    eligible: bool  # True when vetted (not suspended or expired) with at least one grant
    version: int
    updated_at: datetime
    # Added with the classification (older events have the defaults): the profile's class
    # (never restricted on this topic) and the grid the operating points were coarsened to.
    sensitivity: PublishedSensitivity = PublishedSensitivity.public
    operating_points_grid_degrees: float | None = None


@CATALOG.event("concord.ngo_registry.ngo.registered.v1", NGO_TOPIC, "An NGO was registered")
class NgoRegistered(NgoState):
    pass


@CATALOG.event(
    "concord.ngo_registry.ngo.updated.v1",
    NGO_TOPIC,
    "An NGO's profile, sectors, capacities or areas changed",
)
class NgoUpdated(NgoState):
    pass


@CATALOG.event(
    "concord.ngo_registry.ngo.vetting_changed.v1",
    NGO_TOPIC,
    "An NGO moved through the vetting workflow (submitted, under review, vetted, rejected, "
    "suspended, reinstated, expired)",
)
class NgoVettingChanged(NgoState):
    previous_status: VettingStatus | None
    decided_by: str
    reason: str | None = None


@CATALOG.event(
    "concord.ngo_registry.ngo.eligibility_changed.v1",
    NGO_TOPIC,
    "What an NGO may be tasked for changed (an agreement started, ended or changed scope)",
)
class NgoEligibilityChanged(NgoState):
    pass


class AgreementStatus(StrEnum):
    draft = "draft"
    active = "active"
    expired = "expired"
    terminated = "terminated"


class ReportingObligation(BaseModel):
    what: str
    frequency_days: int = Field(gt=0)


class AgreementParty(BaseModel):
    ngo_id: uuid.UUID
    role: str
    responsibilities: list[str] = []


class AgreementState(BaseModel):
    """An agreement's full state after a change."""

    agreement_id: uuid.UUID
    title: str
    parties: list[AgreementParty]
    sectors: list[Sector]
    pcodes: list[str]
    mission_responsibilities: list[str] = []
    reporting_obligations: list[ReportingObligation] = []
    starts_on: date
    ends_on: date
    status: AgreementStatus
    signatories: list[str] = []
    version: int
    updated_at: datetime
    # Added with the classification (older events have the default): never below internal.
    sensitivity: PublishedSensitivity = PublishedSensitivity.internal


@CATALOG.event(
    "concord.ngo_registry.agreement.created.v1", AGREEMENT_TOPIC, "A draft agreement was created"
)
class AgreementCreated(AgreementState):
    pass


@CATALOG.event(
    "concord.ngo_registry.agreement.updated.v1", AGREEMENT_TOPIC, "A draft agreement changed"
)
class AgreementUpdated(AgreementState):
    pass


@CATALOG.event(
    "concord.ngo_registry.agreement.activated.v1", AGREEMENT_TOPIC, "An agreement came into force"
)
class AgreementActivated(AgreementState):
    pass


@CATALOG.event(
    "concord.ngo_registry.agreement.expiring.v1",
    AGREEMENT_TOPIC,
    "An active agreement ends within the configured lead time",
)
class AgreementExpiring(AgreementState):
    days_left: int


@CATALOG.event(
    "concord.ngo_registry.agreement.expired.v1", AGREEMENT_TOPIC, "An agreement reached its end"
)
class AgreementExpired(AgreementState):
    pass


@CATALOG.event(
    "concord.ngo_registry.agreement.terminated.v1",
    AGREEMENT_TOPIC,
    "An agreement was ended early",
)
class AgreementTerminated(AgreementState):
    terminated_by: str
    reason: str


class ReportSubmission(BaseModel):
    """A report an agreement party submitted under one of the agreement's reporting
    obligations. Immutable once recorded: `version` is always 1, so a replica keeps the first
    copy it sees and ignores any redelivery."""

    submission_id: uuid.UUID
    agreement_id: uuid.UUID
    ngo_id: uuid.UUID
    obligation: str  # the obligation's `what`
    frequency_days: int = Field(gt=0)  # of that obligation when the report was submitted
    period_end: date  # last day of the reporting period the report covers
    submitted_on: date  # the day the party says it submitted (defaults to the recording day)
    summary: str
    submitted_by: str
    submitted_at: datetime  # when the registry recorded it
    version: int = 1


@CATALOG.event(
    "concord.ngo_registry.agreement.report_submitted.v1",
    AGREEMENT_TOPIC,
    "A party submitted a report due under an active agreement's reporting obligation",
)
class AgreementReportSubmitted(ReportSubmission):
    pass


WEBHOOK_TOPIC = Topic(
    "concord.ngo_registry.webhook.v1",
    "NGOs' webhook subscriptions and the operations on their deliveries (never a secret)",
    audience=Audience.mission_staff,
    retention=Retention.state,
)


class WebhookStatus(StrEnum):
    active = "active"
    disabled = "disabled"


class DeliveryStatus(StrEnum):
    """Where one delivery of an event to a webhook stands. In no event: the registry's
    delivery table and its API (`GET /webhooks/{id}/deliveries`) carry it; it lives here,
    beside `WebhookStatus`, so the table and the API share one enum."""

    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class WebhookFilter(BaseModel):
    """What a subscription receives; an empty list means any."""

    event_types: list[str] = []
    sectors: list[Sector] = []
    pcodes: list[str] = []


class WebhookState(BaseModel):
    """A webhook subscription after a change. The signing secret is never in an event."""

    webhook_id: uuid.UUID
    ngo_id: uuid.UUID
    url: str
    filter: WebhookFilter
    status: WebhookStatus
    version: int
    updated_at: datetime


@CATALOG.event(
    "concord.ngo_registry.webhook.registered.v1",
    WEBHOOK_TOPIC,
    "An NGO registered a webhook endpoint",
)
class WebhookRegistered(WebhookState):
    registered_by: str


@CATALOG.event(
    "concord.ngo_registry.webhook.secret_rotated.v1",
    WEBHOOK_TOPIC,
    "A webhook's signing secret was replaced (the new secret is not in the event)",
)
class WebhookSecretRotated(WebhookState):
    rotated_by: str


@CATALOG.event(
    "concord.ngo_registry.webhook.disabled.v1",
    WEBHOOK_TOPIC,
    "A webhook was disabled: nothing more is delivered to it",
)
class WebhookDisabled(WebhookState):
    disabled_by: str


class WebhookDeliveryOperation(StrEnum):
    redrive = "redrive"
    replay = "replay"


@CATALOG.event(
    "concord.ngo_registry.webhook.deliveries_requeued.v1",
    WEBHOOK_TOPIC,
    "Deliveries of a webhook were queued again: dead ones re-driven, or stored events replayed "
    "from a time",
)
class WebhookDeliveriesRequeued(BaseModel):
    webhook_id: uuid.UUID
    ngo_id: uuid.UUID
    operation: WebhookDeliveryOperation
    delivery_ids: list[uuid.UUID] = []  # a re-drive of one delivery names it
    replay_from: datetime | None = None
    count: int = Field(ge=0)
    requested_by: str
    requested_at: datetime


@CATALOG.event(
    "concord.ngo_registry.webhook.delivery_dead.v1",
    WEBHOOK_TOPIC,
    "A webhook delivery used its retry budget and was parked in the dead-letter list",
)
class WebhookDeliveryDead(BaseModel):
    webhook_id: uuid.UUID
    ngo_id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempts: int
    last_error: str | None = None
    dead_at: datetime


DATA_INCIDENT_TOPIC = Topic(
    "concord.ngo_registry.data_incident.v1",
    "Data incidents from report to closure: classification, containment (the NGO access "
    "revoked), notification and lessons (internal: it names the records exposed)",
    retention=Retention.state,
)


class DataIncidentStatus(StrEnum):
    reported = "reported"
    classified = "classified"
    contained = "contained"
    notified = "notified"
    closed = "closed"


class DataIncidentSeverity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ExposedRecord(BaseModel):
    kind: str  # aid_request, incident, offer, ngo, operation, export, …
    id: str


class DataIncidentNotification(BaseModel):
    recipient: str
    channel: str
    notified_at: datetime


class DataIncidentState(BaseModel):
    """A data incident after a step, in full (internal topic)."""

    incident_id: uuid.UUID
    status: DataIncidentStatus
    summary: str
    occurred_at: datetime | None
    discovered_at: datetime
    records: list[ExposedRecord]
    recipients: list[uuid.UUID]
    severity: DataIncidentSeverity | None
    revoked_ngo_ids: list[uuid.UUID]
    notifications: list[DataIncidentNotification]
    lessons: str | None
    reported_by: str
    actor: str  # who took this step
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int


@CATALOG.event(
    "concord.ngo_registry.data_incident.reported.v1",
    DATA_INCIDENT_TOPIC,
    "A suspected data incident was reported: what, when, which records, which recipients",
)
class DataIncidentReported(DataIncidentState):
    pass


@CATALOG.event(
    "concord.ngo_registry.data_incident.classified.v1",
    DATA_INCIDENT_TOPIC,
    "A data incident was given (or changed) its severity",
)
class DataIncidentClassified(DataIncidentState):
    pass


@CATALOG.event(
    "concord.ngo_registry.data_incident.contained.v1",
    DATA_INCIDENT_TOPIC,
    "A data incident was contained: the named NGOs' access suspended in the same step",
)
class DataIncidentContained(DataIncidentState):
    pass


@CATALOG.event(
    "concord.ngo_registry.data_incident.notified.v1",
    DATA_INCIDENT_TOPIC,
    "The people and organisations concerned by a data incident were notified",
)
class DataIncidentNotified(DataIncidentState):
    pass


@CATALOG.event(
    "concord.ngo_registry.data_incident.closed.v1",
    DATA_INCIDENT_TOPIC,
    "A data incident was closed, with its lessons learned",
)
class DataIncidentClosed(DataIncidentState):
    pass
