"""Retention: restricted data past its period leaves every store of monitoring.

What is purged, for records of class `restricted` older than
`MONITORING_RETENTION_RESTRICTED_DAYS`:
- the audit trail's payloads (`audit.chain.purge_payloads`): the digests stay linked, so the
  chain still verifies, and the audit trail records the purge itself — the
  `retention.purged.v1` event goes through the outbox, and the audit group chains it like any
  other event;
- in the read models, what could identify people: a request's title and exact coordinates,
  an incident's exact coordinates, the county of an alert on a restricted request (its state
  stays), the titles of a restricted operation that ended and of its tasks and milestones
  (as joint planning's own purge; participants keep their organisations' names). Counts,
  sectors, P-codes and times stay: the figures of the period do not change;
- why restricted records were read: the `purpose` of monitoring's access-log rows, and of
  the access events the audit trail chains (`audit.chain.redact_fields`: the rest of each
  event stays readable and the chain verifies; an access event chained before redaction
  existed loses its whole payload).

The record of a purge is `retention.purged.v2` (`purged_sensitivity`, so the audit trail does
not purge it in turn); `retention.purged.v1` goes out beside it until it is retired (the
catalog's deprecation period).

The internal class (`MONITORING_RETENTION_INTERNAL_DAYS`, 730), as the requests service
purges its own internal records: an internal request that ended (fulfilled, closed, cancelled)
whose last change is older than the period, and an internal incident whose last change is,
lose the same personal data — a request's title, exact point and the typed escalation or
cancellation reason in its history, an incident's exact point, and the audit payloads of
their events (and of the request's offers: their decline reasons); recorded as a
`retention.purged.v2` with `purged_sensitivity: internal`. Public records are kept: they hold
nothing a reporter typed about people beyond what anyone may read.

A rebuild replays the topics into fresh read models, so it runs the read-model purge as its
last step (`services.monitoring.rebuild`), both classes: what retention removed does not
come back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, cast, func, literal, or_, select, union, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from services.monitoring.audit.chain import (
    purge_payloads,
    purge_payloads_with_redactable_fields,
    redact_fields,
)
from services.monitoring.config import Settings
from services.monitoring.db.models import outbox
from services.monitoring.db.models.access_log import access_log
from services.monitoring.db.models.audit import audit_log
from services.monitoring.db.models.planning import (
    planning_milestones,
    planning_operations,
    planning_tasks,
)
from services.monitoring.db.models.read_models import (
    alerts,
    incidents,
    offers,
    request_history,
    requests,
)
from shared.events.schemas.monitoring import RetentionPurged, RetentionPurgedV2
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

RESTRICTED = Sensitivity.restricted.value
INTERNAL = Sensitivity.internal.value
# The statuses of a request that ended: the only internal ones the purge may take (as the
# requests service's own purge).
ENDED = ("fulfilled", "closed", "cancelled")
OFFER_EVENTS = "concord.humanitarian_requests.offer.%"


ENDED_OPERATIONS = ("completed", "cancelled")
# The title a purged operation, task or milestone reads (the columns need one).
PURGED_TITLE = "(details purged)"


@dataclass(frozen=True)
class PurgeCounts:
    requests: int
    incidents: int
    alerts: int
    operations: int = 0

    def __add__(self, other: PurgeCounts) -> PurgeCounts:
        return PurgeCounts(
            requests=self.requests + other.requests,
            incidents=self.incidents + other.incidents,
            alerts=self.alerts + other.alerts,
            operations=self.operations + other.operations,
        )

    @property
    def total(self) -> int:
        return self.requests + self.incidents + self.alerts + self.operations


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_read_models(
    session: AsyncSession, *, cutoff: datetime, internal_cutoff: datetime | None = None
) -> PurgeCounts:
    """Anonymise the restricted read-model rows older than `cutoff` and, given
    `internal_cutoff`, the internal ones due by it (`purge_internal_read_models`)."""
    counts = await purge_restricted_read_models(session, cutoff=cutoff)
    if internal_cutoff is not None:
        counts += await purge_internal_read_models(session, cutoff=internal_cutoff)
    return counts


async def _clear_history_reasons(session: AsyncSession, request_ids: Any) -> None:
    """The typed escalation or cancellation reason of these requests' history rows."""
    await session.execute(
        update(request_history)
        .where(
            request_history.c.request_id.in_(request_ids),
            request_history.c.summary["reason"].astext.is_not(None),
        )
        .values(
            summary=request_history.c.summary.op("||")(cast(literal('{"reason": null}'), JSONB))
        )
    )


def _ended_internal_requests(cutoff: datetime) -> Select[Any]:
    return select(requests.c.request_id).where(
        requests.c.sensitivity == INTERNAL,
        requests.c.status.in_(ENDED),
        requests.c.updated_at < cutoff,
    )


def _incident_unchanged_since(cutoff: datetime) -> ColumnElement[bool]:
    """Last changed before `cutoff` (the requests service's clock); a row from before the
    read model kept the last change is timed by its occurrence day until its next event."""
    return or_(
        incidents.c.updated_at < cutoff,
        and_(incidents.c.updated_at.is_(None), incidents.c.occurred_on < cutoff.date()),
    )


def _expired_internal_incidents(cutoff: datetime) -> Select[Any]:
    return select(incidents.c.incident_id).where(
        incidents.c.sensitivity == INTERNAL, _incident_unchanged_since(cutoff)
    )


async def _anonymise_requests(session: AsyncSession, *which: Any) -> int:
    """Drop the title and exact point of the requests `which` selects; how many changed."""
    result = await session.execute(
        update(requests)
        .where(
            *which,
            or_(
                requests.c.title.is_not(None),
                requests.c.lat.is_not(None),
                requests.c.lon.is_not(None),
            ),
        )
        .values(title=None, lat=None, lon=None)
    )
    return _count(result)


async def _anonymise_incidents(session: AsyncSession, *which: Any) -> int:
    """Drop the exact point of the incidents `which` selects; how many changed."""
    result = await session.execute(
        update(incidents)
        .where(*which, or_(incidents.c.lat.is_not(None), incidents.c.lon.is_not(None)))
        .values(lat=None, lon=None)
    )
    return _count(result)


async def purge_internal_read_models(session: AsyncSession, *, cutoff: datetime) -> PurgeCounts:
    """Anonymise the internal requests that ended with a last change before `cutoff` and the
    internal incidents last changed before it; how many changed (alerts keep their county:
    an internal request's county is not what the restricted class protects)."""
    ended = _ended_internal_requests(cutoff)
    await _clear_history_reasons(session, ended)
    purged_requests = await _anonymise_requests(session, requests.c.request_id.in_(ended))
    purged_incidents = await _anonymise_incidents(
        session, incidents.c.incident_id.in_(_expired_internal_incidents(cutoff))
    )
    return PurgeCounts(requests=purged_requests, incidents=purged_incidents, alerts=0)


async def purge_internal_payloads(session: AsyncSession, *, cutoff: datetime) -> int:
    """Remove the audit payloads of the internal events of the internal records due by
    `cutoff` (their requests' offers' events too, those from before offers carried a class
    included); the digests stay, so the chain still verifies."""
    ended = _ended_internal_requests(cutoff)
    subjects = union(
        select(cast(ended.subquery().c.request_id, Text)),
        select(cast(offers.c.offer_id, Text)).where(offers.c.request_id.in_(ended)),
        select(cast(_expired_internal_incidents(cutoff).subquery().c.incident_id, Text)),
    )
    result = await session.execute(
        update(audit_log)
        .where(
            audit_log.c.subject.in_(subjects),
            or_(
                audit_log.c.sensitivity == INTERNAL,
                and_(audit_log.c.sensitivity.is_(None), audit_log.c.event_type.like(OFFER_EVENTS)),
            ),
            audit_log.c.canonical.is_not(None),
        )
        .values(canonical=None, purged_at=func.now())
    )
    return _count(result)


async def purge_restricted_operations(session: AsyncSession, *, cutoff: datetime) -> int:
    """The titles of the restricted operations that ended with a last change before `cutoff`,
    and of their tasks and milestones, as joint planning's own purge takes them; how many
    operations changed. Participants keep their names (an organisation's or a mission
    component's, never a person's); statuses, sectors, P-codes and times stay."""
    ended = select(planning_operations.c.operation_id).where(
        planning_operations.c.sensitivity == RESTRICTED,
        planning_operations.c.status.in_(ENDED_OPERATIONS),
        planning_operations.c.updated_at < cutoff,
    )
    for table in (planning_tasks, planning_milestones):
        await session.execute(
            update(table)
            .where(table.c.operation_id.in_(ended), table.c.title != PURGED_TITLE)
            .values(title=PURGED_TITLE)
        )
    result = await session.execute(
        update(planning_operations)
        .where(
            planning_operations.c.operation_id.in_(ended),
            planning_operations.c.title != PURGED_TITLE,
        )
        .values(title=PURGED_TITLE)
    )
    return _count(result)


async def purge_restricted_read_models(session: AsyncSession, *, cutoff: datetime) -> PurgeCounts:
    """Anonymise the restricted read-model rows older than `cutoff`; how many changed."""
    await _clear_history_reasons(
        session,
        select(requests.c.request_id).where(
            requests.c.sensitivity == RESTRICTED, requests.c.created_at < cutoff
        ),
    )
    purged_requests = await _anonymise_requests(
        session, requests.c.sensitivity == RESTRICTED, requests.c.created_at < cutoff
    )
    purged_incidents = await _anonymise_incidents(
        session, incidents.c.sensitivity == RESTRICTED, _incident_unchanged_since(cutoff)
    )
    # An alert keeps the state its request is in (the request's own admin1), not the county.
    purged_alerts = await session.execute(
        update(alerts)
        .where(
            alerts.c.sensitivity == RESTRICTED,
            alerts.c.raised_at < cutoff,
            alerts.c.request_id == requests.c.request_id,
            alerts.c.pcode.is_distinct_from(requests.c.adm1),
        )
        .values(pcode=requests.c.adm1)
    )
    return PurgeCounts(
        requests=purged_requests,
        incidents=purged_incidents,
        alerts=_count(purged_alerts),
        operations=await purge_restricted_operations(session, cutoff=cutoff),
    )


async def purge_access_purposes(session: AsyncSession, *, cutoff: datetime) -> int:
    """Remove the purpose of the access-log rows older than `cutoff`; how many changed."""
    result = await session.execute(
        update(access_log)
        .where(access_log.c.at < cutoff, access_log.c.purpose.is_not(None))
        .values(purpose=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(session: AsyncSession, settings: Settings) -> list[RetentionPurgedV2]:
    """One retention pass in the caller's transaction: purge what expired, per class, and
    record each class's purge (an event through the outbox); empty when nothing had."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    records = [await _purge_restricted(session, settings, now=now)]
    records.append(await _purge_internal(session, settings, now=now))
    return [r for r in records if r is not None]


async def _purge_restricted(
    session: AsyncSession, settings: Settings, *, now: datetime
) -> RetentionPurgedV2 | None:
    days = settings.retention_restricted_days
    cutoff = now - timedelta(days=days)
    audit = await purge_payloads(session, sensitivity=RESTRICTED, occurred_before=cutoff)
    audit += await purge_payloads_with_redactable_fields(session, occurred_before=cutoff)
    purposes = await redact_fields(session, occurred_before=cutoff)
    counts = await purge_restricted_read_models(session, cutoff=cutoff)
    access_entries = await purge_access_purposes(session, cutoff=cutoff)
    if not any((audit, purposes, counts.total, access_entries)):
        return None
    purge_id = uuid.uuid4()
    record = RetentionPurgedV2(
        purge_id=purge_id,
        purged_sensitivity=Sensitivity.restricted,
        retention_days=days,
        cutoff=cutoff,
        audit_payloads=audit,
        audit_purposes=purposes,
        requests=counts.requests,
        incidents=counts.incidents,
        alerts=counts.alerts,
        access_entries=access_entries,
        operations=counts.operations,
        purged_at=now,
    )
    await outbox.add(session, record, subject=purge_id)
    # The superseded type, still produced beside v2 for the deprecation period.
    superseded = RetentionPurged(
        purge_id=purge_id,
        sensitivity=Sensitivity.restricted,
        retention_days=days,
        cutoff=cutoff,
        audit_payloads=audit,
        requests=counts.requests,
        incidents=counts.incidents,
        purged_at=now,
    )
    await outbox.add(session, superseded, subject=purge_id)
    _logged(record)
    return record


async def _purge_internal(
    session: AsyncSession, settings: Settings, *, now: datetime
) -> RetentionPurgedV2 | None:
    """The internal class: v2 only (the superseded v1 is not extended to a new class)."""
    days = settings.retention_internal_days
    cutoff = now - timedelta(days=days)
    # The payloads first: which rows are due is read from the read models, unchanged by it.
    audit = await purge_internal_payloads(session, cutoff=cutoff)
    counts = await purge_internal_read_models(session, cutoff=cutoff)
    if not any((audit, counts.requests, counts.incidents)):
        return None
    purge_id = uuid.uuid4()
    record = RetentionPurgedV2(
        purge_id=purge_id,
        purged_sensitivity=Sensitivity.internal,
        retention_days=days,
        cutoff=cutoff,
        audit_payloads=audit,
        audit_purposes=0,
        requests=counts.requests,
        incidents=counts.incidents,
        alerts=0,
        access_entries=0,
        purged_at=now,
    )
    await outbox.add(session, record, subject=purge_id)
    _logged(record)
    return record


def _logged(record: RetentionPurgedV2) -> None:
    log.info(
        "retention.purged",
        purged_sensitivity=record.purged_sensitivity.value,
        audit_payloads=record.audit_payloads,
        audit_purposes=record.audit_purposes,
        requests=record.requests,
        incidents=record.incidents,
        alerts=record.alerts,
        access_entries=record.access_entries,
        operations=record.operations,
        retention_days=record.retention_days,
    )
