"""Retention: what joint planning holds about people leaves it after its period, in every
store of the service; ids, classes, sectors, P-codes, statuses, times and versions stay, so
the figures of the period (how many operations, where, when, how they ended) do not change.

Two classes have a period, each swept on its own and recorded by its own event:

**Restricted** (`JOINT_PLANNING_RETENTION_RESTRICTED_DAYS`, 365):
- the incident replica (`db/models/replicas.py`) keeps every incident's exact point, the
  restricted ones included (SGBV, child protection, human-rights violations: where a survivor
  was). A restricted incident whose last change (`updated_at`, the requests service's, as the
  event carried it) is older than the period loses its point: the centroid of its county
  instead (the columns and the grid cell index need a point; the centroid says no more than
  the P-code), its grid `cell` following. The row is kept, not deleted, so the version gate
  still refuses an older state redelivered from the topic (a replay would otherwise bring the
  exact point back). Deconfliction looks only at incidents of the `incident_window_hours`
  before a notified window, so a purged incident meets only a notification of a movement
  that long ago.
- a restricted operation (a protection, GBV or child-protection sector, a linked restricted
  incident, a sensitive marker: `operation/classification.py`) that ended (`completed` or
  `cancelled`; one still draft, planned or active is never purged, however old) and whose
  last change is older than the period loses its title (a generic one instead: the column
  and the views need one), objectives and exact polygons (its P-codes stay); its
  participants their typed responsibilities and removal reasons; its history the typed
  `reason` and `title` of each entry; its tasks their titles, descriptions and progress
  notes; its milestones their titles; its meetings their titles, agendas, decisions, the
  names of their attendees and the descriptions of their action items (organisations,
  owners, due dates and task links stay). A participant's name is an organisation's or a
  mission component's, not a person's: it stays.

**Internal** (`JOINT_PLANNING_RETENTION_INTERNAL_DAYS`, 730):
- an internal incident of the replica past the period loses its point the same way;
- a notification (always internal: the NGO's route, vehicles and contact) whose window ended
  before the period and whose last change is older loses its contact (who the mission calls:
  a person's name and phone), its escort reason and its vehicles' markings. Its route and
  site stay: they are the NGO's movement, not a person, and conflicts are measured on them.

Conflicts keep their notices: a notice names a time, a county and a distance, never the
operation, the incident or a person (`deconfliction/notices.py`).

The outbox: rows about a purged record that were published or parked are deleted
(`repository.delete_outbox_leftovers`): Kafka has the published ones under its own retention,
and a re-drive of a parked one would publish the old texts. Rows not yet sent stay.

Why the last change and not the end: data is kept while it is worked on, and the period runs
from when that stopped; `updated_at` is never earlier than the end. `purged_at` records the
purge; a record changed after it is due again once that change is past the period
(`updated_at > purged_at`), otherwise a second sweep finds nothing, changes nothing and emits
nothing. Records are taken `FOR UPDATE SKIP LOCKED`: one being changed right now waits for
the next sweep, and two replicas sweeping at once never purge (or count) a record twice.

No event per record: the purge is no change of state (no version), and monitoring purges its
own copies under its own retention; the sweep's one event per class says what was purged,
never what it was.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.config import Settings
from services.joint_planning.db.models import outbox
from services.joint_planning.db.models.notifications import Notification
from services.joint_planning.db.models.operations import Operation
from services.joint_planning.db.models.replicas import IncidentReplica
from services.joint_planning.db.models.work import Meeting
from services.joint_planning.deconfliction.geometry import cell_of
from services.joint_planning.retention import repository
from shared.events.schemas.joint_planning import OperationStatus, PlanningRetentionPurged
from shared.gazetteer import gazetteer
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

ENDED_STATUSES = frozenset({OperationStatus.completed, OperationStatus.cancelled})
"""An operation in one of these may be purged; a draft, planned or active one is open."""

PURGED_CLASSES = (Sensitivity.restricted, Sensitivity.internal)
"""The classes with a retention period, each swept on its own (one event each)."""

PURGED_CONTACT = {"name": "(contact purged)", "phone": None, "radio": None}
"""What a purged notification's contact reads (the views need a name)."""


def retention_days(settings: Settings, sensitivity: Sensitivity) -> int:
    if sensitivity is Sensitivity.internal:
        return settings.retention_internal_days
    return settings.retention_restricted_days


def cutoff_of(
    now: datetime, settings: Settings, sensitivity: Sensitivity = Sensitivity.restricted
) -> datetime:
    """Records of the class whose last change is older than this are past the retention."""
    return now - timedelta(days=retention_days(settings, sensitivity))


def anonymise_incident(row: IncidentReplica, *, now: datetime) -> None:
    row.lat, row.lon = gazetteer().centre_of(row.pcode, row.lat, row.lon)
    row.cell = cell_of(row.lat, row.lon)
    row.purged_at = now


def anonymise_operation(row: Operation, *, now: datetime) -> None:
    sector = row.sectors[0] if row.sectors else "joint"
    row.title = f"{sector} operation (details purged)"
    row.objectives = []
    row.polygons = []
    row.purged_at = now


def anonymise_meeting(row: Meeting) -> None:
    row.title = "meeting (details purged)"
    row.agenda = []
    row.decisions = []
    row.attendees = [
        {**attendee, "name": f"attendee {n}"} for n, attendee in enumerate(row.attendees, 1)
    ]
    row.action_items = [
        {**item, "description": f"action item {n}"} for n, item in enumerate(row.action_items, 1)
    ]


def anonymise_notification(row: Notification, *, now: datetime) -> None:
    row.contact = dict(PURGED_CONTACT)
    row.escort_reason = None
    row.vehicles = [{**vehicle, "markings": None} for vehicle in row.vehicles]
    row.purged_at = now


async def purge_expired(session: AsyncSession, settings: Settings) -> list[PlanningRetentionPurged]:
    """One retention pass in the caller's transaction: for each class, anonymise what expired,
    remove its copies, and record the purge (an event through the outbox). Empty when nothing
    had expired."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    records = [
        await _purge_restricted(session, settings, now=now),
        await _purge_internal(session, settings, now=now),
    ]
    return [r for r in records if r is not None]


async def _purge_restricted(
    session: AsyncSession, settings: Settings, *, now: datetime
) -> PlanningRetentionPurged | None:
    sensitivity = Sensitivity.restricted
    cutoff = cutoff_of(now, settings, sensitivity)
    incidents = await repository.lock_due_incidents(session, sensitivity, cutoff=cutoff)
    operations = await repository.lock_due_operations(
        session, cutoff=cutoff, statuses=ENDED_STATUSES
    )
    if not incidents and not operations:
        return None
    for incident in incidents:
        anonymise_incident(incident, now=now)
    for operation in operations:
        anonymise_operation(operation, now=now)
    operation_ids = [o.id for o in operations]
    meetings = await repository.lock_meetings(session, operation_ids) if operations else []
    for meeting in meetings:
        anonymise_meeting(meeting)
    await session.flush()
    participants = history = outbox_rows = 0
    task_ids: list[uuid.UUID] = []
    milestone_ids: list[uuid.UUID] = []
    if operations:
        participants = await repository.strip_participants(session, operation_ids)
        history = await repository.strip_history_texts(session, operation_ids)
        task_ids = await repository.strip_tasks(session, operation_ids)
        milestone_ids = await repository.strip_milestones(session, operation_ids)
        subjects = [*operation_ids, *task_ids, *milestone_ids, *(m.id for m in meetings)]
        outbox_rows = await repository.delete_outbox_leftovers(session, subjects)
    return await _recorded(
        session,
        PlanningRetentionPurged(
            purge_id=uuid.uuid4(),
            purged_sensitivity=sensitivity,
            retention_days=retention_days(settings, sensitivity),
            cutoff=cutoff,
            incidents=len(incidents),
            operations=len(operations),
            participants=participants,
            history_entries=history,
            tasks=len(task_ids),
            milestones=len(milestone_ids),
            meetings=len(meetings),
            outbox_rows=outbox_rows,
            purged_at=now,
        ),
    )


async def _purge_internal(
    session: AsyncSession, settings: Settings, *, now: datetime
) -> PlanningRetentionPurged | None:
    sensitivity = Sensitivity.internal
    cutoff = cutoff_of(now, settings, sensitivity)
    incidents = await repository.lock_due_incidents(session, sensitivity, cutoff=cutoff)
    notifications = await repository.lock_due_notifications(session, cutoff=cutoff)
    if not incidents and not notifications:
        return None
    for incident in incidents:
        anonymise_incident(incident, now=now)
    for notification in notifications:
        anonymise_notification(notification, now=now)
    await session.flush()
    outbox_rows = 0
    if notifications:
        outbox_rows = await repository.delete_outbox_leftovers(
            session, [n.id for n in notifications]
        )
    return await _recorded(
        session,
        PlanningRetentionPurged(
            purge_id=uuid.uuid4(),
            purged_sensitivity=sensitivity,
            retention_days=retention_days(settings, sensitivity),
            cutoff=cutoff,
            incidents=len(incidents),
            notifications=len(notifications),
            outbox_rows=outbox_rows,
            purged_at=now,
        ),
    )


async def _recorded(
    session: AsyncSession, record: PlanningRetentionPurged
) -> PlanningRetentionPurged:
    await outbox.add(session, record, subject=record.purge_id)
    log.info(
        "retention.purged",
        purge_id=str(record.purge_id),
        purged_sensitivity=record.purged_sensitivity.value,
        incidents=record.incidents,
        operations=record.operations,
        notifications=record.notifications,
        outbox_rows=record.outbox_rows,
        retention_days=record.retention_days,
    )
    return record
