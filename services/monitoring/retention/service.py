"""Retention: restricted data past its period leaves every store of monitoring.

What is purged, for records of class `restricted` older than
`MONITORING_RETENTION_RESTRICTED_DAYS`:
- the audit trail's payloads (`audit.chain.purge_payloads`): the digests stay linked, so the
  chain still verifies, and the audit trail records the purge itself — the
  `retention.purged.v1` event goes through the outbox, and the audit group chains it like any
  other event;
- in the read models, what could identify people: a request's title and exact coordinates,
  an incident's exact coordinates. Counts, sectors, P-codes and times stay: the figures of
  the period do not change.

A rebuild replays the topics into fresh read models, so it runs the read-model purge as its
last step (`services.monitoring.rebuild`): what retention removed does not come back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.audit.chain import purge_payloads
from services.monitoring.config import Settings
from services.monitoring.db.models import outbox
from services.monitoring.db.models.read_models import incidents, requests
from shared.events.schemas.monitoring import RetentionPurged
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

RESTRICTED = Sensitivity.restricted.value


@dataclass(frozen=True)
class PurgeCounts:
    requests: int
    incidents: int


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
    return PurgeCounts(
        requests=int(getattr(purged_requests, "rowcount", 0) or 0),
        incidents=int(getattr(purged_incidents, "rowcount", 0) or 0),
    )


async def purge_expired(session: AsyncSession, settings: Settings) -> RetentionPurged | None:
    """One retention pass in the caller's transaction: purge what expired and record it (an
    event through the outbox). None when nothing had expired."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    days = settings.retention_restricted_days
    cutoff = now - timedelta(days=days)
    audit = await purge_payloads(session, sensitivity=RESTRICTED, occurred_before=cutoff)
    counts = await purge_read_models(session, cutoff=cutoff)
    if audit == counts.requests == counts.incidents == 0:
        return None
    purge_id = uuid.uuid4()
    record = RetentionPurged(
        purge_id=purge_id,
        sensitivity=Sensitivity.restricted,
        retention_days=days,
        cutoff=cutoff,
        audit_payloads=audit,
        requests=counts.requests,
        incidents=counts.incidents,
        purged_at=now,
    )
    await outbox.add(session, record, subject=purge_id)
    log.info(
        "retention.purged",
        audit_payloads=audit,
        requests=counts.requests,
        incidents=counts.incidents,
        retention_days=days,
    )
    return record
