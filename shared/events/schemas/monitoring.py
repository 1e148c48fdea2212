"""Events of the monitoring service: SLA warnings, breaches, escalations and their clearing,
and what its retention job purged.

(The monitoring service owns this contract.)

The SLA engine keeps one clock per request and stage (triage, offer, acceptance,
fulfilment). When a clock passes its warning point, then its target, then each further
escalation step, one event goes out here; when the stage is finally reached (or the request
closes) a clearing event follows. Every event carries the alert's full state after the change
and a `version` that rises with each change of that alert, so a replica keeps the latest.
The topic is internal (Concord's services; people and mission systems read alerts through
the API and the CAP feed), never NGOs: alerts name requests and areas, which may be
sensitive. An alert's `sensitivity` is its request's: an alert about a restricted request is
restricted (rendered for unentitled staff at the state level, and purged by retention with
the request's other copies).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from shared.events.catalog import Audience, Retention, Topic
from shared.events.schemas import CATALOG
from shared.vocabulary import Sector, Sensitivity, Urgency

SLA_TOPIC = Topic(
    "concord.monitoring.sla.v1",
    "SLA alerts on requests: warnings, breaches and escalations, and their clearing",
    # Internal, not mission_staff: an alert on a restricted request is restricted. Mission
    # systems read alerts through the CAP feed, which applies need-to-know and the access
    # audit.
    audience=Audience.internal,
    retention=Retention.state,
)


class SlaStage(StrEnum):
    """The step of a request's life the clock waits for."""

    triage = "triage"
    offer = "offer"
    acceptance = "acceptance"
    fulfilment = "fulfilment"


class AlertLevel(StrEnum):
    warning = "warning"
    breach = "breach"
    cleared = "cleared"


class SlaAlertState(BaseModel):
    """An SLA alert's full state after a change."""

    alert_id: uuid.UUID
    request_id: uuid.UUID
    stage: SlaStage
    urgency: Urgency
    sector: Sector | None = None
    pcode: str | None = None
    level: AlertLevel
    escalation_level: int  # 0 warning, 1 breach, 2+ each further escalation step
    escalate_to: list[str]  # who must act now, from the configured escalation chain
    started_at: datetime
    due_at: datetime
    raised_at: datetime
    cleared_at: datetime | None = None
    resolution: str | None = None  # why it cleared: stage reached, request closed
    version: int
    # The request's class when the alert changed (absent on alerts raised before it was
    # carried: internal).
    sensitivity: Sensitivity = Sensitivity.internal


@CATALOG.event(
    "concord.monitoring.sla.warning_raised.v1",
    SLA_TOPIC,
    "A request's stage clock passed its warning point and the stage is not reached yet",
)
class SlaWarningRaised(SlaAlertState):
    pass


@CATALOG.event(
    "concord.monitoring.sla.breached.v1",
    SLA_TOPIC,
    "A request's stage clock passed its target (or a further escalation step)",
)
class SlaBreached(SlaAlertState):
    pass


@CATALOG.event(
    "concord.monitoring.sla.cleared.v1",
    SLA_TOPIC,
    "The stage an alert waited for was reached, or the request closed: the alert is over",
)
class SlaCleared(SlaAlertState):
    pass


RETENTION_TOPIC = Topic(
    "concord.monitoring.retention.v1",
    "What monitoring's retention job purged: counts per store and the cut-off, never the data "
    "(internal: the audit trail chains it)",
    retention=Retention.log,
)


@CATALOG.event(
    "concord.monitoring.retention.purged.v1",
    RETENTION_TOPIC,
    "Data of a sensitivity class past its retention was purged from monitoring's stores",
)
class RetentionPurged(BaseModel):
    """Superseded by `retention.purged.v2`, produced beside it for the deprecation period:
    its `sensitivity` made monitoring purge the payload of its own purge records."""

    purge_id: uuid.UUID
    sensitivity: Sensitivity
    retention_days: int
    cutoff: datetime
    audit_payloads: int  # audit rows whose payload was removed (their digests stay chained)
    requests: int  # request read-model rows anonymised (title, exact coordinates)
    incidents: int  # incident read-model rows anonymised (exact coordinates)
    purged_at: datetime


@CATALOG.event(
    "concord.monitoring.retention.purged.v2",
    RETENTION_TOPIC,
    "Data past its retention was purged from monitoring's stores: restricted payloads and "
    "read-model details, and the purposes of the reads of restricted records",
)
class RetentionPurgedV2(BaseModel):
    """One sweep that purged something; the subject is `purge_id`.

    The class is `purged_sensitivity`, not `sensitivity` (as the requests' and planning's
    purge records name it): the audit trail purges the payload of every event whose
    `sensitivity` is restricted once it is past the retention, and this record holds no
    personal data, so it stays readable there."""

    purge_id: uuid.UUID
    purged_sensitivity: Sensitivity
    retention_days: int
    cutoff: datetime
    audit_payloads: int  # audit rows whose payload was removed (their digests stay chained)
    audit_purposes: int  # access events in the audit trail whose `purpose` was removed
    requests: int  # request read-model rows anonymised (title, exact coordinates)
    incidents: int  # incident read-model rows anonymised (exact coordinates)
    alerts: int  # alerts on restricted requests placed in their state (admin1) only
    access_entries: int  # access-log rows whose purpose was removed
    purged_at: datetime
    # Added with the retention of operations (older events have 0): restricted operations
    # that ended whose titles (and their tasks' and milestones') were removed.
    operations: int = 0


ACCESS_TOPIC = Topic(
    "concord.monitoring.access.v1",
    "Reads of restricted records served in full through monitoring (drill-downs, map layers, "
    "CAP messages, the audit trail's payloads, exports): who, what, when, why",
    retention=Retention.log,
)


class AccessedRecords(StrEnum):
    """What a read through monitoring served in full."""

    aid_request = "aid_request"
    incident = "incident"
    sla_alert = "sla_alert"  # alerts on restricted requests (the alert feed)
    audited_event = "audited_event"  # an event's payload from the audit trail
    export = "export"  # a bulk export: named by `export`, counted by `restricted_records`


@CATALOG.event(
    "concord.monitoring.access.restricted_read.v1",
    ACCESS_TOPIC,
    "Restricted records were served in full through monitoring (one event per read and kind "
    "of record; an export names itself and counts them)",
)
class MonitoringRestrictedRead(BaseModel):
    """One read that served restricted records in full; the subject is `access_id`.

    The reader is `actor` (its token subject), so that the audit trail's actor column holds
    who read, and still holds it once retention has removed the `purpose`."""

    access_id: uuid.UUID
    actor: str
    roles: list[str]
    route: str
    records: AccessedRecords
    entity_ids: list[uuid.UUID]  # the records served in full (empty for an export)
    export: str | None = None  # the export's name, e.g. requests.csv
    restricted_records: int  # how many restricted records were served in full
    purpose: str | None = None
    at: datetime
