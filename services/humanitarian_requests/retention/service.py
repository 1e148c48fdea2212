"""Retention: a restricted or internal request or incident past its period keeps its figures
and loses what could identify people, in every store of the requests service.

Which records: sensitivity `restricted` with a last change (`updated_at`) older than
`HUMANITARIAN_REQUESTS_RETENTION_RESTRICTED_DAYS`, or `internal` with one older than
`HUMANITARIAN_REQUESTS_RETENTION_INTERNAL_DAYS` (longer by default: less harm if disclosed,
but the same kind of personal data), and, for an aid request, ended: `closed`,
`cancelled` or `fulfilled` (delivered in full; closing it is staff paperwork that changes no
data, so a request nobody closed is not kept for ever). A request still open (`submitted`,
`triaged`, `offered`, `accepted`, `in_progress`, `escalated`) is never purged, however old.
`public` records are not purged (nothing in them was meant to be withheld).
Why the last change and not the creation or the end: data is kept while it is worked on, and
the period runs from when that stopped. A request reclassified or linked after it ended was
still being worked on; `updated_at` is never earlier than the end (`closed_at`,
`cancelled_at`, `fulfilled_at`), so no ended request goes sooner than its end allows. An
incident has no lifecycle: its last change (a link, a reclassification) is its end.

What is personal is the same in both classes: the class says how much harm a disclosure
would do, not whether a reporter typed a name. So both lose the same things.

What goes, per record:
- aid request: the title (a generic one instead: the column and the events need one), the
  description, the contact, the access and security constraints, the priority, escalation
  and cancellation reasons, the item names (their vocabulary codes, quantities and units
  stay), and the exact point (the centroid of its P-code instead: the columns and the events
  need a point);
- incident: the description and the exact point;
- history: the typed `reason` of each transition (links, reclassifications, declines);
- offers: the NGO's decline reason;
- access log: the reader's typed purpose (who read it, when and through which route stay);
- stored idempotent responses that showed the record: blanked and stamped, so a retry of the
  key is answered 410 `idempotent-response-purged`, neither the old answer nor a second
  request (`common/idempotency.py`);
- outbox: the rows about the record that were published or parked (`repository`).

What stays, so the figures of the period do not change: ids, P-codes, admin1, sector, urgency,
severity, type, status and every timestamp; the counts (affected population, casualties, item
quantities); the vulnerability factors and the classification reasons (categories, not
text); the reporting unit, the cluster links, the offers and their scores. The derived
minimum class is stored before the texts it was derived from go, so a purged record cannot be
reclassified below what its text said.

`purged_at` records the purge. A record changed after it (a purged request closed, an incident
reclassified) is due again once that change is past the period (`updated_at > purged_at`), so
nothing typed later outlives it either; otherwise a second sweep finds nothing, changes
nothing and emits nothing. The records are taken `FOR UPDATE SKIP LOCKED`: one being changed
right now waits for the next sweep, and two replicas sweeping at once never purge (or count)
a record twice.

No event per record: consumers keep their own copies under their own retention (monitoring,
joint planning); the sweep's one event says what was purged, never what it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.common.items import code_of
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.db.models.tables import AidRequest, Incident
from services.humanitarian_requests.retention import repository
from shared.classification import aid_request_floor, incident_floor
from shared.events.schemas.humanitarian_requests import RequestsRetentionPurged, RequestStatus
from shared.gazetteer import gazetteer
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

ENDED_STATUSES = frozenset({RequestStatus.fulfilled, RequestStatus.closed, RequestStatus.cancelled})
"""A request in one of these may be purged; every other status is open."""


PURGED_CLASSES = (Sensitivity.restricted, Sensitivity.internal)
"""The classes with a retention period, each swept on its own (one event each)."""


def retention_days(settings: Settings, sensitivity: Sensitivity) -> int:
    if sensitivity is Sensitivity.internal:
        return settings.retention_internal_days
    return settings.retention_restricted_days


def cutoff_of(
    now: datetime, settings: Settings, sensitivity: Sensitivity = Sensitivity.restricted
) -> datetime:
    """Records of the class whose last change is older than this are past the retention."""
    return now - timedelta(days=retention_days(settings, sensitivity))


def anonymise_request(row: AidRequest, *, now: datetime) -> None:
    if row.sensitivity_floor is None:  # a row from before the floor was stored
        texts = [row.title, row.description, *(str(i.get("item")) for i in row.items)]
        floor = aid_request_floor(row.sector, vulnerability=row.vulnerability, texts=texts)
        row.sensitivity_floor = floor.sensitivity.value
    row.title = f"{row.sector} request (details purged)"
    row.description = None
    row.contact = None
    row.access_constraints = []
    row.security_constraints = []
    row.priority_reason = None
    row.escalation_reason = None
    row.cancellation_reason = None
    # The item code is a category, not text: it stays (derived first on a row from before
    # the vocabulary, while the text it is derived from is still there).
    row.items = [
        {**item, "item": f"item {n}", "item_code": code_of(item, row.sector).value}
        for n, item in enumerate(row.items, start=1)
    ]
    row.lat, row.lon = gazetteer().centre_of(row.pcode, row.lat, row.lon)
    row.purged_at = now


def anonymise_incident(row: Incident, *, now: datetime) -> None:
    if row.sensitivity_floor is None:
        floor = incident_floor(row.incident_type, texts=[row.description])
        row.sensitivity_floor = floor.sensitivity.value
    row.description = None
    row.lat, row.lon = gazetteer().centre_of(row.pcode, row.lat, row.lon)
    row.purged_at = now


async def purge_expired(session: AsyncSession, settings: Settings) -> list[RequestsRetentionPurged]:
    """One retention pass in the caller's transaction: for each class, anonymise what expired,
    remove its copies, and record the purge (an event through the outbox). Empty when
    nothing expired."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    records = []
    for sensitivity in PURGED_CLASSES:
        record = await _purge_class(session, settings, sensitivity, now=now)
        if record is not None:
            records.append(record)
    return records


async def _purge_class(
    session: AsyncSession, settings: Settings, sensitivity: Sensitivity, *, now: datetime
) -> RequestsRetentionPurged | None:
    cutoff = cutoff_of(now, settings, sensitivity)
    requests = await repository.lock_due_requests(
        session, sensitivity, cutoff=cutoff, statuses=ENDED_STATUSES
    )
    incidents = await repository.lock_due_incidents(session, sensitivity, cutoff=cutoff)
    if not requests and not incidents:
        return None
    for request in requests:
        anonymise_request(request, now=now)
    for incident in incidents:
        anonymise_incident(incident, now=now)
    await session.flush()
    request_ids = [r.id for r in requests]
    record_ids: Sequence[uuid.UUID] = [*request_ids, *(i.id for i in incidents)]
    purge_id = uuid.uuid4()
    record = RequestsRetentionPurged(
        purge_id=purge_id,
        purged_sensitivity=sensitivity,
        retention_days=retention_days(settings, sensitivity),
        cutoff=cutoff,
        requests=len(requests),
        incidents=len(incidents),
        history_entries=await repository.strip_history_reasons(session, record_ids),
        offers=await repository.strip_decline_reasons(session, request_ids),
        access_entries=await repository.strip_access_purposes(session, record_ids),
        idempotency_responses=await repository.blank_stored_responses(session, record_ids, now=now),
        outbox_rows=await repository.delete_outbox_leftovers(session, record_ids),
        purged_at=now,
    )
    await outbox.add(session, record, subject=purge_id)
    log.info(
        "retention.purged",
        purge_id=str(purge_id),
        purged_sensitivity=sensitivity.value,
        requests=record.requests,
        incidents=record.incidents,
        idempotency_responses=record.idempotency_responses,
        outbox_rows=record.outbox_rows,
        retention_days=record.retention_days,
    )
    return record
