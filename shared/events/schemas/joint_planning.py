"""Events of the joint planning service: operations, tasks, meetings and notifications.

(The joint planning service owns this contract; monitoring consumes it.)

One topic for mission staff (audience `mission_staff`) and four internal, none
NGO-readable:

- `operation` (internal: an operation in a protection sector, or linked to a restricted
  incident, is restricted; its tasks, milestones and meetings inherit its class): every
  change to a joint operation (details, status, participants, linked requests and
  incidents), each event carrying the operation's full state after the change, plus the
  duplication warnings of overlap detection (one per operation of the pair).
- `task` (internal): tasks and milestones of operations, including the overdue sweep's events.
- `meeting` (internal): coordination meetings, their decisions and action items.
- `notification` (mission staff; always internal): NGOs' humanitarian notifications
  (static sites, movements), their acknowledgement and escort decisions, and the
  deconfliction conflicts flagged on them.
- `retention` (internal): what each retention sweep purged, as counts, never the data.

Why none is NGO-readable: a notification names an NGO's route, vehicles and contact, and a
conflict names the mission activity or the incident behind it; other NGOs must see neither.
What an NGO may know of a conflict is the `notice` field of a conflict event, a sentence that
gives only the time, the nearest county and (for an incident) how far away it was. The NGO
reads it on its own notification over HTTP; a per-NGO delivery can forward that field alone.

Kafka key (CloudEvents `subject`) is the aggregate id: `operation_id`, `task_id` or
`milestone_id`, `meeting_id`, `notification_id` (conflict events too, so they stay in order
with their notification). `version` rises by one per event of an aggregate.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.events.catalog import Audience, Retention, Topic
from shared.events.schemas import CATALOG
from shared.vocabulary import Sector, Sensitivity

OPERATION_TOPIC = Topic(
    "concord.joint_planning.operation.v1",
    "Joint operations: details, status, participants, links, and duplication warnings "
    "(internal: an operation may be restricted)",
    retention=Retention.restricted,
)
TASK_TOPIC = Topic(
    "concord.joint_planning.task.v1",
    "Tasks and milestones of joint operations, including overdue tasks and missed milestones "
    "(internal: a restricted operation's are restricted)",
    retention=Retention.restricted,
)
MEETING_TOPIC = Topic(
    "concord.joint_planning.meeting.v1",
    "Coordination meetings: attendees, agenda, decisions and action items "
    "(internal: a restricted operation's are restricted)",
    retention=Retention.restricted,
)
NOTIFICATION_TOPIC = Topic(
    "concord.joint_planning.notification.v1",
    "Humanitarian notifications (sites, movements) and the deconfliction conflicts on them",
    audience=Audience.mission_staff,
    retention=Retention.state,
)


class OperationStatus(StrEnum):
    """draft → planned → active → completed; draft, planned or active → cancelled."""

    draft = "draft"
    planned = "planned"
    active = "active"
    completed = "completed"
    cancelled = "cancelled"


class ParticipantRole(StrEnum):
    lead = "lead"
    implementing = "implementing"
    supporting = "supporting"
    security = "security"
    informed = "informed"


class ParticipantKind(StrEnum):
    mission_component = "mission_component"
    ngo = "ngo"


class MissionComponent(StrEnum):
    military = "military"
    police = "police"
    civil_affairs = "civil_affairs"
    human_rights = "human_rights"
    protection_of_civilians = "protection_of_civilians"
    mine_action = "mine_action"
    other = "other"


class Participant(BaseModel):
    participant_id: uuid.UUID
    kind: ParticipantKind
    ngo_id: uuid.UUID | None = None  # for kind ngo
    component: MissionComponent | None = None  # for kind mission_component
    name: str
    role: ParticipantRole
    responsibilities: list[str]
    added_at: datetime


class OperationState(BaseModel):
    """A joint operation's full state after a change (current participants only)."""

    operation_id: uuid.UUID
    title: str
    objectives: list[str]
    sectors: list[Sector]
    areas: list[str]  # P-codes (states or counties)
    # GeoJSON-like polygons, each a list of rings of [lon, lat] (outline first, then holes);
    # optional, added after v1 was first published: older events have none.
    polygons: list[list[list[list[float]]]] = Field(default_factory=list)
    starts_at: datetime
    ends_at: datetime
    status: OperationStatus
    participants: list[Participant]
    linked_request_ids: list[uuid.UUID]
    linked_incident_ids: list[uuid.UUID]
    created_by: str
    version: int
    updated_at: datetime
    # Added with the classification (older events have the defaults): the operation's class,
    # never below its derived minimum (`shared.classification.operation_floor`), the minimum
    # and why, e.g. ["sector:gbv"], ["restricted_incident:<id>"], ["kind:operation"].
    sensitivity: Sensitivity = Sensitivity.internal
    sensitivity_floor: Sensitivity | None = None
    sensitivity_reasons: list[str] = Field(default_factory=list)


class OperationEvent(OperationState):
    actor: str  # "ops_centre:<sub>", "admin:<sub>", or "system"


@CATALOG.event(
    "concord.joint_planning.operation.created.v1", OPERATION_TOPIC, "A joint operation was drafted"
)
class OperationCreated(OperationEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.operation.updated.v1",
    OPERATION_TOPIC,
    "An operation's title, objectives, sectors, areas or timeframe changed",
)
class OperationUpdated(OperationEvent):
    changed: list[str]  # ["sensitivity"] for a reclassification or a raise to a new minimum
    # Set when the class changed: what it was, and the reason staff gave (a raise to a new
    # minimum, e.g. a linked incident found restricted, has the system's reason).
    previous_sensitivity: Sensitivity | None = None
    reason: str | None = None


@CATALOG.event(
    "concord.joint_planning.operation.status_changed.v1",
    OPERATION_TOPIC,
    "An operation moved through draft → planned → active → completed, or was cancelled",
)
class OperationStatusChanged(OperationEvent):
    previous_status: OperationStatus
    reason: str | None = None


@CATALOG.event(
    "concord.joint_planning.operation.participant_added.v1",
    OPERATION_TOPIC,
    "A mission component or NGO joined an operation with a role and responsibilities",
)
class OperationParticipantAdded(OperationEvent):
    participant_id: uuid.UUID


@CATALOG.event(
    "concord.joint_planning.operation.participant_removed.v1",
    OPERATION_TOPIC,
    "A participant left an operation (by the ops centre, or because an implementing NGO "
    "lost its eligibility)",
)
class OperationParticipantRemoved(OperationEvent):
    participant_id: uuid.UUID
    ngo_id: uuid.UUID | None = None
    reason: str


@CATALOG.event(
    "concord.joint_planning.operation.links_changed.v1",
    OPERATION_TOPIC,
    "The aid requests or incidents linked to an operation changed",
)
class OperationLinksChanged(OperationEvent):
    pass


class DuplicationWarning(BaseModel):
    """Two operations plan the same sector in the same area over overlapping periods with
    different actors: one warning per operation of the pair, naming the other."""

    warning_id: uuid.UUID
    operation_id: uuid.UUID
    other_operation_id: uuid.UUID
    sector: Sector
    areas: list[str]  # the P-codes both cover (the more specific of each related pair)
    overlap_starts_at: datetime
    overlap_ends_at: datetime
    actors: list[str]  # lead and implementing actors of this operation
    other_actors: list[str]  # those of the other
    warned_at: datetime
    version: int = 1


@CATALOG.event(
    "concord.joint_planning.operation.duplication_warned.v1",
    OPERATION_TOPIC,
    "Another operation plans the same sector in the same area and period with other actors",
)
class OperationDuplicationWarned(DuplicationWarning):
    pass


class TaskStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    blocked = "blocked"
    done = "done"
    cancelled = "cancelled"


class TaskPriority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ProgressNote(BaseModel):
    at: datetime
    by: str
    text: str


class TaskState(BaseModel):
    task_id: uuid.UUID
    operation_id: uuid.UUID
    title: str
    description: str | None
    owner_participant_id: uuid.UUID
    due_at: datetime
    priority: TaskPriority
    status: TaskStatus
    depends_on: list[uuid.UUID]
    notes: list[ProgressNote]
    overdue: bool  # the sweep found it past due and not finished
    source_meeting_id: uuid.UUID | None = None
    source_action_item_id: uuid.UUID | None = None
    version: int
    updated_at: datetime
    # Added with the classification (older events have the default): the class inherited
    # from the operation (internal for a meeting of none).
    sensitivity: Sensitivity = Sensitivity.internal


class TaskEvent(TaskState):
    actor: str


@CATALOG.event("concord.joint_planning.task.created.v1", TASK_TOPIC, "A task was created")
class TaskCreated(TaskEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.task.updated.v1",
    TASK_TOPIC,
    "A task's title, owner, due date, priority or dependencies changed",
)
class TaskUpdated(TaskEvent):
    changed: list[str]


@CATALOG.event(
    "concord.joint_planning.task.status_changed.v1", TASK_TOPIC, "A task's status changed"
)
class TaskStatusChanged(TaskEvent):
    previous_status: TaskStatus


@CATALOG.event(
    "concord.joint_planning.task.progress_noted.v1", TASK_TOPIC, "A progress note was added"
)
class TaskProgressNoted(TaskEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.task.overdue.v1",
    TASK_TOPIC,
    "A task passed its due date unfinished (once per task, from the overdue sweep)",
)
class TaskOverdue(TaskEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.task.reclassified.v1",
    TASK_TOPIC,
    "A task follows its operation's new class (in the operation's transaction)",
)
class TaskReclassified(TaskEvent):
    previous_sensitivity: Sensitivity


class MilestoneStatus(StrEnum):
    pending = "pending"
    reached = "reached"
    missed = "missed"


class MilestoneState(BaseModel):
    milestone_id: uuid.UUID
    operation_id: uuid.UUID
    title: str
    due_at: datetime
    status: MilestoneStatus
    reached_at: datetime | None
    version: int
    updated_at: datetime
    # Added with the classification (older events have the default): the class inherited
    # from the operation (internal for a meeting of none).
    sensitivity: Sensitivity = Sensitivity.internal


class MilestoneEvent(MilestoneState):
    actor: str


@CATALOG.event("concord.joint_planning.milestone.created.v1", TASK_TOPIC, "A milestone was set")
class MilestoneCreated(MilestoneEvent):
    pass


@CATALOG.event("concord.joint_planning.milestone.reached.v1", TASK_TOPIC, "A milestone was reached")
class MilestoneReached(MilestoneEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.milestone.missed.v1",
    TASK_TOPIC,
    "A milestone's date passed before it was reached (once, from the overdue sweep)",
)
class MilestoneMissed(MilestoneEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.milestone.reclassified.v1",
    TASK_TOPIC,
    "A milestone follows its operation's new class (in the operation's transaction)",
)
class MilestoneReclassified(MilestoneEvent):
    previous_sensitivity: Sensitivity


class Attendee(BaseModel):
    name: str
    organisation: str
    ngo_id: uuid.UUID | None = None
    participant_id: uuid.UUID | None = None


class ActionItem(BaseModel):
    action_item_id: uuid.UUID
    description: str
    owner_participant_id: uuid.UUID | None = None
    due_at: datetime | None = None
    task_id: uuid.UUID | None = None  # set once the item became a task


class MeetingState(BaseModel):
    meeting_id: uuid.UUID
    operation_id: uuid.UUID | None
    title: str
    held_at: datetime
    attendees: list[Attendee]
    agenda: list[str]
    decisions: list[str]
    action_items: list[ActionItem]
    version: int
    updated_at: datetime
    # Added with the classification (older events have the default): the class inherited
    # from the operation (internal for a meeting of none).
    sensitivity: Sensitivity = Sensitivity.internal


class MeetingEvent(MeetingState):
    actor: str


@CATALOG.event(
    "concord.joint_planning.meeting.recorded.v1",
    MEETING_TOPIC,
    "A coordination meeting was recorded",
)
class MeetingRecorded(MeetingEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.meeting.updated.v1",
    MEETING_TOPIC,
    "A meeting's attendees, agenda, decisions or action items changed",
)
class MeetingUpdated(MeetingEvent):
    changed: list[str]


@CATALOG.event(
    "concord.joint_planning.meeting.action_item_converted.v1",
    MEETING_TOPIC,
    "An action item became a task with an owner (task_id on the item)",
)
class MeetingActionItemConverted(MeetingEvent):
    action_item_id: uuid.UUID
    task_id: uuid.UUID


@CATALOG.event(
    "concord.joint_planning.meeting.reclassified.v1",
    MEETING_TOPIC,
    "A meeting follows its operation's new class (in the operation's transaction)",
)
class MeetingReclassified(MeetingEvent):
    previous_sensitivity: Sensitivity


class NotificationKind(StrEnum):
    static_site = "static_site"
    movement = "movement"


class NotificationStatus(StrEnum):
    submitted = "submitted"
    acknowledged = "acknowledged"
    cancelled = "cancelled"


class EscortStatus(StrEnum):
    not_requested = "not_requested"
    requested = "requested"
    approved = "approved"
    declined = "declined"


class Point(BaseModel):
    lat: float
    lon: float


class UnrestrictedSensitivity(StrEnum):
    """The classes a record on a mission-staff topic can have: restricted is not representable."""

    public = "public"
    internal = "internal"


class Vehicle(BaseModel):
    vehicle_type: str
    count: int
    markings: str | None = None


class NotificationState(BaseModel):
    """A notification's full state after a change (internal: it holds the NGO's route)."""

    notification_id: uuid.UUID
    ngo_id: uuid.UUID
    kind: NotificationKind
    status: NotificationStatus
    function: str | None  # of a static site: "clinic", "warehouse", "distribution point"
    location: Point | None  # of a static site
    waypoints: list[Point]  # of a movement, in travel order
    starts_at: datetime
    ends_at: datetime
    vehicles: list[Vehicle]
    occupancy: int | None  # people at a static site
    pcodes: list[str]  # the counties the site or route touches
    escort_status: EscortStatus
    escort_reason: str | None  # the NGO's reason for asking, then the mission's decision
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    version: int
    updated_at: datetime
    # Added with the classification (older events have the default): a notification is
    # internal (`shared.classification.notification_floor`), never restricted.
    sensitivity: UnrestrictedSensitivity = UnrestrictedSensitivity.internal


class NotificationEvent(NotificationState):
    actor: str


@CATALOG.event(
    "concord.joint_planning.notification.submitted.v1",
    NOTIFICATION_TOPIC,
    "An NGO notified a static site or a movement",
)
class NotificationSubmitted(NotificationEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.notification.updated.v1",
    NOTIFICATION_TOPIC,
    "An NGO changed a notification's window, route, site or vehicles",
)
class NotificationUpdated(NotificationEvent):
    changed: list[str]


@CATALOG.event(
    "concord.joint_planning.notification.acknowledged.v1",
    NOTIFICATION_TOPIC,
    "The mission acknowledged a notification (it informs; it is not a permission)",
)
class NotificationAcknowledged(NotificationEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.notification.cancelled.v1",
    NOTIFICATION_TOPIC,
    "The NGO withdrew a notification",
)
class NotificationCancelled(NotificationEvent):
    pass


@CATALOG.event(
    "concord.joint_planning.notification.escort_decided.v1",
    NOTIFICATION_TOPIC,
    "The mission approved or declined a requested escort, with its reason",
)
class NotificationEscortDecided(NotificationEvent):
    pass


class ConflictSource(StrEnum):
    mission_activity = "mission_activity"
    security_incident = "security_incident"


class ConflictState(BaseModel):
    """A deconfliction conflict on a notification.

    `notice` is everything the NGO is told; `source_id` (the operation or incident) and the
    rest are for the mission. Neither carries an incident's type or details."""

    conflict_id: uuid.UUID
    notification_id: uuid.UUID
    ngo_id: uuid.UUID
    source: ConflictSource
    source_id: uuid.UUID
    notice: str
    near_pcode: str
    between_start: datetime
    between_end: datetime
    distance_km: float | None  # to an incident
    reported_at: datetime | None  # when the incident happened
    flagged_at: datetime
    cleared_at: datetime | None
    version: int


@CATALOG.event(
    "concord.joint_planning.notification.conflict_flagged.v1",
    NOTIFICATION_TOPIC,
    "Deconfliction found a planned or active operation, or a recent security incident, on a "
    "notification's place and time (notice: what the NGO is told)",
)
class NotificationConflictFlagged(ConflictState):
    pass


@CATALOG.event(
    "concord.joint_planning.notification.conflict_cleared.v1",
    NOTIFICATION_TOPIC,
    "A conflict no longer holds (the operation moved or ended, the notification changed)",
)
class NotificationConflictCleared(ConflictState):
    reason: str


RETENTION_TOPIC = Topic(
    "concord.joint_planning.retention.v1",
    "What joint planning's retention sweep purged: counts and the cut-off, never the data "
    "(internal: the audit trail chains it)",
    retention=Retention.log,
)


@CATALOG.event(
    "concord.joint_planning.retention.purged.v1",
    RETENTION_TOPIC,
    "Restricted incidents past their retention lost their exact point in the incident replica",
)
class PlanningRetentionPurged(BaseModel):
    """One sweep that purged something; the subject is `purge_id`.

    The class is `purged_sensitivity`, not `sensitivity`: monitoring's audit trail purges the
    payload of every event whose `sensitivity` is restricted once it is past the retention,
    and this record holds no personal data, so it stays readable there."""

    purge_id: uuid.UUID
    purged_sensitivity: Sensitivity
    retention_days: int
    cutoff: datetime  # records whose last change is older than this (and that ended) were purged
    incidents: int  # incident replica rows whose exact point was replaced by their county's
    purged_at: datetime
    # Added with the retention of operations and notifications (older events have 0).
    operations: int = 0  # restricted operations that ended: title, objectives, polygons
    participants: int = 0  # participants whose responsibilities or removal reason went
    history_entries: int = 0  # history rows whose typed reason or title was removed
    tasks: int = 0  # tasks whose title, description and notes went
    milestones: int = 0  # milestones whose title went
    meetings: int = 0  # meetings whose title, agenda, decisions and names went
    notifications: int = 0  # notifications (internal) whose contact and escort reason went
    outbox_rows: int = 0  # published or parked outbox rows about the purged records, deleted
