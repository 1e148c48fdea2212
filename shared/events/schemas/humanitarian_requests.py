"""Events of the humanitarian requests service: aid requests, incident reports and offers.

(The humanitarian requests service owns this contract; the monitoring service consumes it.)

Its topics:

- `aid_request` (internal): every lifecycle transition of an aid request, each event carrying
  the request's full state after the change — status, urgency, sector, location (P-code and
  admin1), affected population, priority score, reporting unit, assigned NGO, current offer,
  sensitivity, `version` and the time of every transition so far — so a consumer (the
  monitoring funnel, SLA clocks, per-NGO contribution) needs nothing else.
- `incident` (internal): incident reports as reported and as later updated (duplicate links,
  ops corrections). Protection incidents are restricted; this topic is never NGO-readable.
- `open_request` (NGO-readable): the open (not yet assigned) aid requests NGOs may volunteer
  for, coarsened: no description, contact, constraints or coordinates, location reduced to the
  admin area P-code, items named by the item vocabulary (code and label), never the
  reporter's words. Restricted requests never appear here.
- `offer` (NGO-readable): offers to NGOs and their outcome, with the same coarsened request
  summary (even less for a restricted request: admin1 only, `details_withheld`).
- `retention` (internal): what each retention sweep purged, as counts, never the data.

Kafka key (CloudEvents `subject`) is the aggregate id: `request_id`, `incident_id`, or for the
offer topic `offer_id`; the open_request topic is keyed by `request_id`. Within one aggregate,
`version` increases by one per event; consumers ignore an event whose version is not newer than
what they hold.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.events.catalog import Audience, Retention, Topic
from shared.events.schemas import CATALOG
from shared.vocabulary import ItemCode, Sector, Sensitivity, Urgency

AID_REQUEST_TOPIC = Topic(
    "concord.humanitarian_requests.aid_request.v1",
    "Every lifecycle transition of an aid request, with its full state after the change",
    retention=Retention.restricted,
)
INCIDENT_TOPIC = Topic(
    "concord.humanitarian_requests.incident.v1",
    "Incident reports from field units as reported and updated (may be restricted)",
    retention=Retention.restricted,
)
OPEN_REQUEST_TOPIC = Topic(
    "concord.humanitarian_requests.open_request.v1",
    "Open, non-restricted aid requests NGOs may respond to, location coarsened to admin area",
    audience=Audience.ngo,
    retention=Retention.state,
)
ACCESS_TOPIC = Topic(
    "concord.humanitarian_requests.access.v1",
    "Reads of restricted records served in full: who, what, when, why (the access audit)",
    retention=Retention.log,
)
OFFER_TOPIC = Topic(
    "concord.humanitarian_requests.offer.v1",
    "Offers of aid requests to NGOs and their outcome (accepted, declined, expired, withdrawn). "
    "Internal: each offer is addressed to one NGO (its ranking factors, its decline reason), so "
    "no NGO reads this topic; an NGO reaches its own offers through the API (GET /offers) or "
    "its webhooks",
    retention=Retention.restricted,
)


class RequestStatus(StrEnum):
    """Lifecycle of an aid request.

    submitted → triaged → offered → accepted → in_progress → fulfilled → closed. A declined or
    expired offer returns the request to `triaged` until the next offer (or `escalated` when
    no candidate is left). `cancelled` and `closed` are terminal.
    """

    submitted = "submitted"
    triaged = "triaged"
    offered = "offered"
    accepted = "accepted"
    in_progress = "in_progress"
    fulfilled = "fulfilled"
    closed = "closed"
    cancelled = "cancelled"
    escalated = "escalated"


class Fulfilment(StrEnum):
    none = "none"
    partial = "partial"
    full = "full"


class VulnerabilityFactor(StrEnum):
    children_under_five = "children_under_five"
    pregnant_or_lactating = "pregnant_or_lactating"
    older_persons = "older_persons"
    persons_with_disabilities = "persons_with_disabilities"
    unaccompanied_children = "unaccompanied_children"
    female_headed_households = "female_headed_households"
    displaced = "displaced"
    chronically_ill = "chronically_ill"


class IncidentType(StrEnum):
    attack_on_civilians = "attack_on_civilians"
    displacement = "displacement"
    human_rights_violation = "human_rights_violation"
    sgbv = "sgbv"
    child_protection = "child_protection"
    explosive_hazard = "explosive_hazard"
    disease_outbreak = "disease_outbreak"
    access_denial = "access_denial"
    looting_of_aid = "looting_of_aid"
    demonstration_unrest = "demonstration_unrest"
    other = "other"


PROTECTION_INCIDENT_TYPES = frozenset(
    {IncidentType.human_rights_violation, IncidentType.sgbv, IncidentType.child_protection}
)
"""Restricted by default: a report of these types is stored and emitted as `restricted`."""


class Severity(StrEnum):
    low = "low"
    moderate = "moderate"
    high = "high"
    critical = "critical"


class OfferStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"


class Location(BaseModel):
    """An exact point and the county (admin2) and state (admin1) it lies in."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    pcode: str
    admin1: str | None


class AffectedPopulation(BaseModel):
    """People affected; the breakdown is optional (field units often only know a total)."""

    total: int = Field(ge=0)
    women: int | None = Field(default=None, ge=0)
    men: int | None = Field(default=None, ge=0)
    girls: int | None = Field(default=None, ge=0)
    boys: int | None = Field(default=None, ge=0)
    older_persons: int | None = Field(default=None, ge=0)
    persons_with_disabilities: int | None = Field(default=None, ge=0)


class RequestItem(BaseModel):
    """A good or service needed, and how much of it has been delivered so far.

    On the internal topics `item` is what the reporter typed and `item_code` its code in the
    item vocabulary (`shared.vocabulary.ItemCode`; absent on events before it existed). In
    an NGO-readable summary (`OpenRequestSummary`) `item` is the code's vocabulary label
    (numbered when several items of a request share it, "Other item (2)"), never the typed
    text."""

    item: str
    item_code: ItemCode | None = None
    quantity: float = Field(gt=0)
    unit: str
    delivered_quantity: float = Field(default=0, ge=0)


class AidRequestState(BaseModel):
    """An aid request's full state after a change (internal topic only)."""

    request_id: uuid.UUID
    client_id: str | None  # the field unit's own id for the report, if it sent one
    status: RequestStatus
    sector: Sector
    urgency: Urgency
    sensitivity: Sensitivity
    # The derived minimum and why (shared.classification); absent on events before it existed.
    sensitivity_floor: Sensitivity | None = None
    sensitivity_reasons: list[str] = Field(default_factory=list)
    title: str
    description: str | None
    items: list[RequestItem]
    affected_population: AffectedPopulation
    vulnerability: list[VulnerabilityFactor]
    location: Location
    access_constraints: list[str]
    security_constraints: list[str]
    reporting_unit: str
    contact: str | None
    priority_score: float  # 0 to 100, higher first
    priority_overridden: bool
    priority_reason: str | None  # the ops centre's reason, when overridden
    cluster_id: uuid.UUID  # near-duplicates share one cluster (the first report's id)
    duplicate_of: uuid.UUID | None
    current_offer_id: uuid.UUID | None
    offered_ngo_id: uuid.UUID | None  # the NGO holding the current (pending) offer
    offer_deadline: datetime | None
    offer_round: int  # how many offers have been made so far
    assigned_ngo_id: uuid.UUID | None  # the NGO that accepted
    fulfilment: Fulfilment
    escalation_reason: str | None
    cancellation_reason: str | None
    observed_at: datetime  # when the field unit observed the need (may be hours before)
    submitted_at: datetime
    triaged_at: datetime | None
    offered_at: datetime | None  # first offer
    accepted_at: datetime | None
    in_progress_at: datetime | None
    fulfilled_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    escalated_at: datetime | None
    updated_at: datetime
    version: int


class AidRequestEvent(AidRequestState):
    """Common shape of every aid-request event: the state plus who caused the change."""

    actor: str  # "field_unit:<unit>", "ngo:<id>", "ops_centre:<sub>", or "system"


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.submitted.v1",
    AID_REQUEST_TOPIC,
    "A field unit submitted an aid request (once, however often it retried)",
)
class AidRequestSubmitted(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.triaged.v1",
    AID_REQUEST_TOPIC,
    "An aid request got its priority score and duplicate links",
)
class AidRequestTriaged(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.offered.v1",
    AID_REQUEST_TOPIC,
    "An aid request was offered to an NGO (current_offer_id, offered_ngo_id, offer_deadline)",
)
class AidRequestOffered(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.offer_declined.v1",
    AID_REQUEST_TOPIC,
    "The NGO holding an aid request's offer declined it; status back to triaged",
)
class AidRequestOfferDeclined(AidRequestEvent):
    offer_id: uuid.UUID
    ngo_id: uuid.UUID
    reason: str | None


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.offer_expired.v1",
    AID_REQUEST_TOPIC,
    "An offer's response deadline passed unanswered; status back to triaged",
)
class AidRequestOfferExpired(AidRequestEvent):
    offer_id: uuid.UUID
    ngo_id: uuid.UUID


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.accepted.v1",
    AID_REQUEST_TOPIC,
    "An NGO accepted the offer and is assigned (assigned_ngo_id)",
)
class AidRequestAccepted(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.in_progress.v1",
    AID_REQUEST_TOPIC,
    "The assigned NGO started delivering",
)
class AidRequestInProgress(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.partially_fulfilled.v1",
    AID_REQUEST_TOPIC,
    "A delivery was recorded that leaves some items short (items[].delivered_quantity)",
)
class AidRequestPartiallyFulfilled(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.fulfilled.v1",
    AID_REQUEST_TOPIC,
    "Delivery finished; fulfilment is full or partial (delivered quantities in items)",
)
class AidRequestFulfilled(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.closed.v1",
    AID_REQUEST_TOPIC,
    "The ops centre closed a fulfilled request (terminal)",
)
class AidRequestClosed(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.cancelled.v1",
    AID_REQUEST_TOPIC,
    "The request was cancelled by its unit or the ops centre (terminal)",
)
class AidRequestCancelled(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.escalated.v1",
    AID_REQUEST_TOPIC,
    "No eligible NGO was found or all declined: the ops centre must act (escalation_reason)",
)
class AidRequestEscalated(AidRequestEvent):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.priority_overridden.v1",
    AID_REQUEST_TOPIC,
    "The ops centre set the priority score by hand (priority_reason)",
)
class AidRequestPriorityOverridden(AidRequestEvent):
    previous_priority_score: float


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.duplicate_linked.v1",
    AID_REQUEST_TOPIC,
    "The request was linked to (or unlinked from) a cluster of near-duplicates",
)
class AidRequestDuplicateLinked(AidRequestEvent):
    linked_by: str  # "triage" (automatic) or the ops centre actor
    reason: str | None


@CATALOG.event(
    "concord.humanitarian_requests.aid_request.reclassified.v1",
    AID_REQUEST_TOPIC,
    "Staff changed the request's sensitivity (never below its derived minimum), with a reason",
)
class AidRequestReclassified(AidRequestEvent):
    previous_sensitivity: Sensitivity
    reason: str


class Casualties(BaseModel):
    killed: int = Field(default=0, ge=0)
    injured: int = Field(default=0, ge=0)
    missing: int = Field(default=0, ge=0)


class IncidentState(BaseModel):
    """An incident report's full state after a change (internal topic only)."""

    incident_id: uuid.UUID
    client_id: str | None
    incident_type: IncidentType
    severity: Severity
    sensitivity: Sensitivity
    sensitivity_floor: Sensitivity | None = None
    sensitivity_reasons: list[str] = Field(default_factory=list)
    casualties: Casualties
    occurred_at: datetime
    observed_at: datetime
    location: Location
    reporting_unit: str
    description: str | None
    cluster_id: uuid.UUID
    duplicate_of: uuid.UUID | None
    reported_at: datetime
    updated_at: datetime
    version: int


@CATALOG.event(
    "concord.humanitarian_requests.incident.reported.v1",
    INCIDENT_TOPIC,
    "A field unit reported an incident (once, however often it retried)",
)
class IncidentReported(IncidentState):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.incident.updated.v1",
    INCIDENT_TOPIC,
    "An incident report changed (duplicate link, ops correction); `change` says what",
)
class IncidentUpdated(IncidentState):
    change: str
    actor: str


class OpenRequestSummary(BaseModel):
    """What an NGO may know about a request: no description, contact or coordinates, and no
    item text a reporter typed (`items`: vocabulary labels and codes, quantities, units)."""

    request_id: uuid.UUID
    sector: Sector
    urgency: Urgency
    pcode: str  # the county (admin2); the state (admin1) for a restricted request
    admin1: str | None
    items: list[RequestItem]
    affected_total: int
    priority_score: float
    submitted_at: datetime
    details_withheld: bool  # True for a restricted request: only sector, area and quantities


class ListedSensitivity(StrEnum):
    """The sensitivities an NGO-readable listing can have: restricted is not representable."""

    public = "public"
    internal = "internal"


class OpenAidRequest(OpenRequestSummary):
    """An open request on the NGO-readable topic (never a restricted one)."""

    status: RequestStatus
    sensitivity: ListedSensitivity
    version: int
    updated_at: datetime


@CATALOG.event(
    "concord.humanitarian_requests.open_request.opened.v1",
    OPEN_REQUEST_TOPIC,
    "A non-restricted aid request was triaged and is open for NGOs",
)
class OpenRequestOpened(OpenAidRequest):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.open_request.updated.v1",
    OPEN_REQUEST_TOPIC,
    "An open request changed (priority, status between offered/triaged/escalated)",
)
class OpenRequestUpdated(OpenAidRequest):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.open_request.closed.v1",
    OPEN_REQUEST_TOPIC,
    "A request is no longer open (an NGO accepted it, or it was cancelled)",
)
class OpenRequestClosed(OpenAidRequest):
    pass


class RetractionReason(StrEnum):
    reclassified_restricted = "reclassified_restricted"


@CATALOG.event(
    "concord.humanitarian_requests.open_request.retracted.v1",
    OPEN_REQUEST_TOPIC,
    "Withdrawn: a listed request became restricted. A tombstone: NGO systems delete what they "
    "hold of it (its earlier listings included); nothing else about it is said",
)
class OpenRequestRetracted(BaseModel):
    request_id: uuid.UUID
    reason: RetractionReason
    version: int
    retracted_at: datetime


class RankingFactor(BaseModel):
    """One term of a candidate's score, so the ranking is explainable."""

    factor: str  # sector_fit, area_coverage, distance, spare_capacity, open_load, track_record
    value: float
    weight: float
    note: str | None = None


class OfferState(BaseModel):
    """An offer's full state after a change. Addressed to one NGO (`ngo_id`)."""

    offer_id: uuid.UUID
    request_id: uuid.UUID
    ngo_id: uuid.UUID
    status: OfferStatus
    round: int  # 1 for the first offer of a request, 2 for the next …
    rank: int  # the NGO's place in the ranking when the offer was made (1 = top)
    score: float
    explanation: list[RankingFactor]  # this NGO's own factors (never other NGOs')
    request: OpenRequestSummary
    # The offer's class: its request's (never lower), kept equal when the request is
    # reclassified. Absent on events before it existed.
    sensitivity: Sensitivity | None = None
    offered_at: datetime
    respond_by: datetime
    responded_at: datetime | None
    decline_reason: str | None
    updated_at: datetime
    version: int


@CATALOG.event(
    "concord.humanitarian_requests.offer.made.v1",
    OFFER_TOPIC,
    "An aid request was offered to an NGO, to answer by respond_by",
)
class OfferMade(OfferState):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.offer.accepted.v1", OFFER_TOPIC, "The NGO accepted the offer"
)
class OfferAccepted(OfferState):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.offer.declined.v1", OFFER_TOPIC, "The NGO declined the offer"
)
class OfferDeclined(OfferState):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.offer.expired.v1",
    OFFER_TOPIC,
    "The offer's deadline passed without an answer",
)
class OfferExpired(OfferState):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.offer.withdrawn.v1",
    OFFER_TOPIC,
    "The offer was withdrawn (the request was cancelled or reassigned by the ops centre)",
)
class OfferWithdrawn(OfferState):
    pass


@CATALOG.event(
    "concord.humanitarian_requests.offer.reclassified.v1",
    OFFER_TOPIC,
    "The offer follows its request's new class (in the reclassification's transaction); "
    "to restricted, its NGO reads only the coarse summary from here on",
)
class OfferReclassified(OfferState):
    previous_sensitivity: Sensitivity


class RestrictedRead(BaseModel):
    """A restricted record was served in full to a principal entitled to it."""

    access_id: uuid.UUID
    subject: str  # the reader's token subject
    roles: list[str]
    entity_type: str  # aid_request or incident
    entity_id: uuid.UUID
    route: str
    purpose: str | None
    at: datetime


@CATALOG.event(
    "concord.humanitarian_requests.access.restricted_read.v1",
    ACCESS_TOPIC,
    "A restricted request or incident was read in full (API detail, or a list with a purpose)",
)
class RestrictedReadRecorded(RestrictedRead):
    pass


RETENTION_TOPIC = Topic(
    "concord.humanitarian_requests.retention.v1",
    "What the requests service's retention sweep purged: counts per store and the cut-off, "
    "never the data (internal: the audit trail chains it)",
    retention=Retention.log,
)


@CATALOG.event(
    "concord.humanitarian_requests.retention.purged.v1",
    RETENTION_TOPIC,
    "Requests and incidents past their retention were anonymised, with their copies in the "
    "history, the offers, the access log, the stored idempotent responses and the outbox",
)
class RequestsRetentionPurged(BaseModel):
    """One sweep that purged something; the subject is `purge_id`.

    The class is `purged_sensitivity`, not `sensitivity`: monitoring's audit trail purges the
    payload of every event whose `sensitivity` is restricted once it is past the retention,
    and this record holds no personal data, so it stays readable there."""

    purge_id: uuid.UUID
    purged_sensitivity: Sensitivity
    retention_days: int
    cutoff: datetime  # records whose last change is older than this (and that ended) were purged
    requests: int  # aid requests anonymised
    incidents: int  # incidents anonymised
    history_entries: int  # history rows whose typed reason was removed
    offers: int  # offers whose decline reason was removed
    access_entries: int  # access-log rows whose purpose was removed
    idempotency_responses: int  # stored responses blanked (a retry of their key gets 410)
    outbox_rows: int  # published or parked outbox rows about the purged records, deleted
    purged_at: datetime
