"""Retention: what joint planning holds of restricted data leaves it after its period.

What it holds: the incident replica (`db/models/replicas.py`) keeps every incident's exact
point, the restricted ones included (SGBV, child protection, human-rights violations: where a
survivor was). Operations, tasks, meetings and notifications hold no restricted data: an
operation links incidents by id only; a notification's route, vehicles and contact are the
notifying NGO's (internal, not restricted); a conflict holds an incident's id, the nearest
county, the time and the distance from the route, never its point, type or details. No event
this service emits carries an incident's point, so its outbox keeps no copy either.

Which incidents: `restricted`, with a last change (`updated_at`, the requests service's, as
the event carried it) older than `JOINT_PLANNING_RETENTION_RESTRICTED_DAYS`; the period runs,
as in the requests service, from when the incident stopped being worked on.

What goes: the exact point, replaced by the centroid of its county (the columns and the grid
cell index need a point; the centroid says no more than the P-code); its grid `cell` follows.
What stays: id, type, severity, class, P-code, times, duplicate link and version. The row is
kept, not deleted, so the version gate still refuses an older state redelivered from the
topic (a replay would otherwise bring the exact point back).

Deconfliction is left as it is: it looks only at incidents of the `incident_window_hours`
before a notified window, so a purged incident (last changed a retention period ago) meets
only a notification of a movement that long ago, and would then be measured from its
county's centroid.

`purged_at` records the purge. A newer state applied after it (`updated_at > purged_at`) is
due again once it is past the period; otherwise a second sweep finds nothing and emits
nothing. Rows are taken `FOR UPDATE SKIP LOCKED`, so two replicas never purge one twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.config import Settings
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.replicas import IncidentReplica
from services.joint_planning.deconfliction.geometry import cell_of
from services.joint_planning.retention import repository
from shared.events.schemas.joint_planning import PlanningRetentionPurged
from shared.gazetteer import gazetteer
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)


def cutoff_of(now: datetime, settings: Settings) -> datetime:
    """Incidents whose last change is older than this are past the retention."""
    return now - timedelta(days=settings.retention_restricted_days)


def anonymise_incident(row: IncidentReplica, *, now: datetime) -> None:
    row.lat, row.lon = gazetteer().centre_of(row.pcode, row.lat, row.lon)
    row.cell = cell_of(row.lat, row.lon)
    row.purged_at = now


async def purge_expired(
    session: AsyncSession, settings: Settings
) -> PlanningRetentionPurged | None:
    """One retention pass in the caller's transaction: anonymise what expired and record it
    (an event through the outbox). None when nothing had expired."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    cutoff = cutoff_of(now, settings)
    incidents = await repository.lock_due_incidents(session, cutoff=cutoff)
    if not incidents:
        return None
    for incident in incidents:
        anonymise_incident(incident, now=now)
    await session.flush()
    purge_id = uuid.uuid4()
    record = PlanningRetentionPurged(
        purge_id=purge_id,
        purged_sensitivity=Sensitivity.restricted,
        retention_days=settings.retention_restricted_days,
        cutoff=cutoff,
        incidents=len(incidents),
        purged_at=now,
    )
    await outbox.add(session, record, subject=purge_id)
    log.info(
        "retention.purged",
        purge_id=str(purge_id),
        incidents=record.incidents,
        retention_days=record.retention_days,
    )
    return record
