"""Retention: restricted data past its period leaves every store of monitoring.

What is purged, for records of class `restricted` older than
`MONITORING_RETENTION_RESTRICTED_DAYS`:
- the audit trail's payloads (`audit.chain.purge_payloads`): the digests stay linked, so the
  chain still verifies, and the audit trail records the purge itself — the
  `retention.purged.v1` event goes through the outbox, and the audit group chains it like any
  other event;
- in the read models, what could identify people: a request's title and exact coordinates,
  an incident's exact coordinates, the county of an alert on a restricted request (its state
  stays). Counts, sectors, P-codes and times stay: the figures of the period do not change;
- why restricted records were read: the `purpose` of monitoring's access-log rows, and of
  the access events the audit trail chains (`audit.chain.redact_fields`: the rest of each
  event stays readable and the chain verifies; an access event chained before redaction
  existed loses its whole payload).

The record of a purge is `retention.purged.v2` (`purged_sensitivity`, so the audit trail does
not purge it in turn); `retention.purged.v1` goes out beside it until it is retired (the
catalog's deprecation period).

A rebuild replays the topics into fresh read models, so it runs the read-model purge as its
last step (`services.monitoring.rebuild`): what retention removed does not come back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.audit.chain import (
    purge_payloads,
    purge_payloads_with_redactable_fields,
    redact_fields,
)
from services.monitoring.config import Settings
from services.monitoring.db.models import outbox
from services.monitoring.db.models.access_log import access_log
from services.monitoring.db.models.read_models import alerts, incidents, requests
from shared.events.schemas.monitoring import RetentionPurged, RetentionPurgedV2
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

RESTRICTED = Sensitivity.restricted.value


@dataclass(frozen=True)
class PurgeCounts:
    requests: int
    incidents: int
    alerts: int


async def purge_read_models(session: AsyncSession, *, cutoff: datetime) -> PurgeCounts:
    """Anonymise the restricted read-model rows older than `cutoff`; how many changed."""
    purged_requests = await session.execute(
        update(requests)
        .where(
            requests.c.sensitivity == RESTRICTED,
            requests.c.created_at < cutoff,
            or_(
                requests.c.title.is_not(None),
                requests.c.lat.is_not(None),
                requests.c.lon.is_not(None),
            ),
        )
        .values(title=None, lat=None, lon=None)
    )
    purged_incidents = await session.execute(
        update(incidents)
        .where(
            incidents.c.sensitivity == RESTRICTED,
            incidents.c.occurred_on < cutoff.date(),
            or_(incidents.c.lat.is_not(None), incidents.c.lon.is_not(None)),
        )
        .values(lat=None, lon=None)
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
        requests=int(getattr(purged_requests, "rowcount", 0) or 0),
        incidents=int(getattr(purged_incidents, "rowcount", 0) or 0),
        alerts=int(getattr(purged_alerts, "rowcount", 0) or 0),
    )


async def purge_access_purposes(session: AsyncSession, *, cutoff: datetime) -> int:
    """Remove the purpose of the access-log rows older than `cutoff`; how many changed."""
    result = await session.execute(
        update(access_log)
        .where(access_log.c.at < cutoff, access_log.c.purpose.is_not(None))
        .values(purpose=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(session: AsyncSession, settings: Settings) -> RetentionPurgedV2 | None:
    """One retention pass in the caller's transaction: purge what expired and record it (an
    event through the outbox). None when nothing had expired."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    days = settings.retention_restricted_days
    cutoff = now - timedelta(days=days)
    audit = await purge_payloads(session, sensitivity=RESTRICTED, occurred_before=cutoff)
    audit += await purge_payloads_with_redactable_fields(session, occurred_before=cutoff)
    purposes = await redact_fields(session, occurred_before=cutoff)
    counts = await purge_read_models(session, cutoff=cutoff)
    access_entries = await purge_access_purposes(session, cutoff=cutoff)
    if not any((audit, purposes, counts.requests, counts.incidents, counts.alerts, access_entries)):
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
    log.info(
        "retention.purged",
        audit_payloads=audit,
        audit_purposes=purposes,
        requests=counts.requests,
        incidents=counts.incidents,
        alerts=counts.alerts,
        access_entries=access_entries,
        retention_days=days,
    )
    return record
