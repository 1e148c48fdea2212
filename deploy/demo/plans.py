"""The demo mission's joint planning: operations, their tasks and milestones, a coordination
meeting, and NGOs' humanitarian notifications.

Like the rest of the demo, every entity has a stable id (uuid5 of its key) and times are
offsets from the moment of the first seed. What it is meant to show on a fresh `make run`:

- a cholera response in Bor South (active) with a task already overdue and a missed
  milestone, and a meeting whose action item becomes a task;
- a protection operation in Malakal (planned), and two food distributions in Aweil Centre
  by different organisations (both live: a duplication warning to each);
- NGO movements: one through Bor South while the cholera response is active (a live
  conflict with a mission activity), one by an NGO that takes part in that response (no
  conflict: it knows), one with an escort request in Unity, and a static clinic site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deploy.demo.data import NGOS, DemoNgo, demo_id

_BY_ACRONYM = {ngo.acronym: ngo for ngo in NGOS}


def ngo(acronym: str) -> DemoNgo:
    return _BY_ACRONYM[acronym]


@dataclass(frozen=True)
class DemoParticipant:
    """An NGO (by acronym) or a mission component (`component` and `name`)."""

    key: str
    role: str
    responsibilities: tuple[str, ...]
    ngo: str | None = None
    component: str | None = None
    name: str | None = None

    def body(self) -> dict[str, Any]:
        if self.ngo:
            return {
                "kind": "ngo",
                "ngo_id": str(ngo(self.ngo).ngo_id),
                "role": self.role,
                "responsibilities": list(self.responsibilities),
            }
        return {
            "kind": "mission_component",
            "component": self.component,
            "name": self.name,
            "role": self.role,
            "responsibilities": list(self.responsibilities),
        }

    def matches(self, held: dict[str, Any]) -> bool:
        """Whether a participant of the operation's state is this one."""
        if self.ngo:
            return held.get("ngo_id") == str(ngo(self.ngo).ngo_id)
        return held.get("component") == self.component and held.get("name") == self.name


@dataclass(frozen=True)
class DemoTask:
    key: str
    title: str
    owner: str  # a participant's key
    due_in_hours: float  # negative: already overdue when seeded
    priority: str = "medium"
    status: str = "open"  # open or in_progress once seeded
    depends_on: tuple[str, ...] = ()

    @property
    def task_id(self) -> Any:
        return demo_id("task", self.key)


@dataclass(frozen=True)
class DemoMilestone:
    key: str
    title: str
    due_in_hours: float

    @property
    def milestone_id(self) -> Any:
        return demo_id("milestone", self.key)


@dataclass(frozen=True)
class DemoOperation:
    key: str
    title: str
    objectives: tuple[str, ...]
    sectors: tuple[str, ...]
    areas: tuple[str, ...]
    starts_in_hours: float
    ends_in_hours: float
    status: str  # draft, planned or active once seeded
    participants: tuple[DemoParticipant, ...]
    tasks: tuple[DemoTask, ...] = ()
    milestones: tuple[DemoMilestone, ...] = ()

    @property
    def operation_id(self) -> Any:
        return demo_id("operation", self.key)

    def body(self, now: datetime) -> dict[str, Any]:
        return {
            "operation_id": str(self.operation_id),
            "title": self.title,
            "objectives": list(self.objectives),
            "sectors": list(self.sectors),
            "areas": list(self.areas),
            "starts_at": (now + timedelta(hours=self.starts_in_hours)).isoformat(),
            "ends_at": (now + timedelta(hours=self.ends_in_hours)).isoformat(),
            "participants": [p.body() for p in self.participants],
        }

    def participant(self, key: str) -> DemoParticipant:
        return next(p for p in self.participants if p.key == key)


def task_body(task: DemoTask, now: datetime, owner_id: str, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "task_id": str(task.task_id),
        "title": task.title,
        "owner_participant_id": owner_id,
        "due_at": (now + timedelta(hours=task.due_in_hours)).isoformat(),
        "priority": task.priority,
        "depends_on": [ids[key] for key in task.depends_on],
    }


def milestone_body(milestone: DemoMilestone, now: datetime) -> dict[str, Any]:
    return {
        "milestone_id": str(milestone.milestone_id),
        "title": milestone.title,
        "due_at": (now + timedelta(hours=milestone.due_in_hours)).isoformat(),
    }


CIVIL_AFFAIRS_LEAD = DemoParticipant(
    "civil-affairs",
    "lead",
    ("chair the coordination", "keep the task list"),
    component="civil_affairs",
    name="Civil Affairs, Bor field office",
)
FORCE_SECURITY = DemoParticipant(
    "force",
    "security",
    ("area security around treatment sites", "escort water trucks on request"),
    component="military",
    name="Sector East battalion",
)

OPERATIONS: tuple[DemoOperation, ...] = (
    DemoOperation(
        key="cholera-bor",
        title="Cholera response, Bor South",
        objectives=(
            "Bring the attack rate below 1 in 1,000 within three weeks",
            "Safe water for 30,000 people in Bor town",
        ),
        sectors=("wash", "health"),
        areas=("SS0303",),
        starts_in_hours=-48,
        ends_in_hours=24 * 21,
        status="active",
        participants=(
            CIVIL_AFFAIRS_LEAD,
            DemoParticipant(
                "cri", "implementing", ("chlorinate boreholes", "water trucking"), ngo="CRI"
            ),
            DemoParticipant(
                "ctn", "implementing", ("cholera treatment unit", "case line list"), ngo="CTN"
            ),
            FORCE_SECURITY,
            DemoParticipant("brsc", "informed", ("shelter for isolated households",), ngo="BRSC"),
        ),
        tasks=(
            DemoTask(
                "cholera-bor-boreholes",
                "Chlorinate the Bor town boreholes",
                "cri",
                48,
                "high",
                "in_progress",
            ),
            DemoTask(
                "cholera-bor-ctu",
                "Open the cholera treatment unit at Bor hospital",
                "ctn",
                -6,
                "critical",
            ),
            DemoTask(
                "cholera-bor-escort",
                "Escort the water trucks from the river point",
                "force",
                24,
                "high",
                depends_on=("cholera-bor-boreholes",),
            ),
        ),
        milestones=(
            DemoMilestone("cholera-bor-admitting", "Treatment unit admitting patients", -3),
            DemoMilestone("cholera-bor-chlorinated", "Every borehole chlorinated", 72),
        ),
    ),
    DemoOperation(
        key="protection-malakal",
        title="Protection patrols around the Malakal PoC site",
        objectives=("Night patrols on the firewood routes", "Referral of survivors to care"),
        sectors=("protection",),
        areas=("SS0707",),
        starts_in_hours=24,
        ends_in_hours=24 * 30,
        status="planned",
        participants=(
            DemoParticipant(
                "force",
                "lead",
                ("patrol the firewood routes at dawn and dusk",),
                component="military",
                name="Malakal company",
            ),
            DemoParticipant(
                "police", "supporting", ("community policing",), component="police", name="UNPOL"
            ),
            DemoParticipant("mmcg", "informed", ("refer survivors to the clinic",), ngo="MMCG"),
        ),
        tasks=(
            DemoTask(
                "protection-malakal-routes",
                "Agree the patrol routes with the women's committee",
                "force",
                72,
            ),
        ),
    ),
    DemoOperation(
        key="food-aweil-hbf",
        title="Food distribution, Aweil Centre (consortium)",
        objectives=("Two-month rations for 12,000 displaced people",),
        sectors=("food_security",),
        areas=("SS0501",),
        starts_in_hours=-24,
        ends_in_hours=24 * 14,
        status="active",
        participants=(
            DemoParticipant(
                "civil-affairs",
                "lead",
                ("registration with the county",),
                component="civil_affairs",
                name="Civil Affairs, Aweil",
            ),
            DemoParticipant(
                "hbf", "implementing", ("distribution", "post-distribution monitoring"), ngo="HBF"
            ),
        ),
        tasks=(DemoTask("food-aweil-registration", "Verify the beneficiary list", "hbf", 36),),
    ),
    DemoOperation(
        key="food-aweil-lrfr",
        title="Seed-and-food support, Aweil Centre",
        objectives=("Seed kits and a month of food for returnee farmers",),
        sectors=("food_security",),
        areas=("SS0501",),
        starts_in_hours=24,
        ends_in_hours=24 * 10,
        status="planned",
        participants=(
            DemoParticipant(
                "civil-affairs",
                "lead",
                ("returnee registration",),
                component="civil_affairs",
                name="Civil Affairs, Aweil",
            ),
            DemoParticipant(
                "lrfr", "implementing", ("seed fairs", "food distribution"), ngo="LRFR"
            ),
        ),
    ),
)


@dataclass(frozen=True)
class DemoActionItem:
    key: str
    description: str
    owner: str | None  # a participant's key in the meeting's operation
    due_in_hours: float | None
    to_task: bool = False

    @property
    def action_item_id(self) -> Any:
        return demo_id("action_item", self.key)


@dataclass(frozen=True)
class DemoMeeting:
    key: str
    operation: str  # an operation's key
    title: str
    held_hours_ago: float
    attendees: tuple[tuple[str, str, str | None], ...]  # name, organisation, NGO acronym
    agenda: tuple[str, ...]
    decisions: tuple[str, ...]
    action_items: tuple[DemoActionItem, ...]

    @property
    def meeting_id(self) -> Any:
        return demo_id("meeting", self.key)

    def body(self, now: datetime, participant_ids: dict[str, str]) -> dict[str, Any]:
        return {
            "meeting_id": str(self.meeting_id),
            "operation_id": str(operation(self.operation).operation_id),
            "title": self.title,
            "held_at": (now - timedelta(hours=self.held_hours_ago)).isoformat(),
            "attendees": [
                {"name": name, "organisation": org}
                | ({"ngo_id": str(ngo(acronym).ngo_id)} if acronym else {})
                for name, org, acronym in self.attendees
            ],
            "agenda": list(self.agenda),
            "decisions": list(self.decisions),
            "action_items": [
                {"action_item_id": str(item.action_item_id), "description": item.description}
                | ({"owner_participant_id": participant_ids[item.owner]} if item.owner else {})
                | (
                    {"due_at": (now + timedelta(hours=item.due_in_hours)).isoformat()}
                    if item.due_in_hours is not None
                    else {}
                )
                for item in self.action_items
            ],
        }


MEETINGS: tuple[DemoMeeting, ...] = (
    DemoMeeting(
        key="cholera-bor-weekly-1",
        operation="cholera-bor",
        title="Cholera coordination, Bor (week 1)",
        held_hours_ago=20,
        attendees=(
            ("Amina Deng", "UNMISS Civil Affairs", None),
            ("Peter Lual", "Clearwater Relief International", "CRI"),
            ("Grace Achol", "Common Table Nutrition", "CTN"),
            ("Maj. Okoro", "Sector East battalion", None),
        ),
        agenda=("Case numbers and attack rate", "Water points", "Access to Bor hospital"),
        decisions=(
            "Treatment unit at Bor hospital, not at the market",
            "Water trucks move only with the daily escort",
        ),
        action_items=(
            DemoActionItem(
                "cholera-bor-line-list",
                "Share the case line list with the health cluster every morning",
                "ctn",
                24,
                to_task=True,
            ),
            DemoActionItem("cholera-bor-latrines", "Map the latrines near the market", None, None),
        ),
    ),
)


def operation(key: str) -> DemoOperation:
    return next(o for o in OPERATIONS if o.key == key)


@dataclass(frozen=True)
class DemoNotification:
    key: str
    ngo: str  # acronym
    kind: str  # movement or static_site
    starts_in_hours: float
    hours: float
    contact: str
    waypoints: tuple[tuple[float, float], ...] = ()  # (lat, lon)
    site: tuple[float, float] | None = None
    function: str | None = None
    occupancy: int | None = None
    vehicles: tuple[tuple[str, int], ...] = ()
    escort_reason: str | None = None
    acknowledge: bool = False
    escort_approved: bool | None = None
    conflicts_with: tuple[str, ...] = field(default=())  # operation keys it must meet

    @property
    def notification_id(self) -> Any:
        return demo_id("notification", self.key)

    def body(self, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "notification_id": str(self.notification_id),
            "kind": self.kind,
            "starts_at": (now + timedelta(hours=self.starts_in_hours)).isoformat(),
            "ends_at": (now + timedelta(hours=self.starts_in_hours + self.hours)).isoformat(),
            "vehicles": [{"vehicle_type": v, "count": n} for v, n in self.vehicles],
            "contact": {"name": self.contact, "radio": f"{self.ngo} base, channel 4"},
        }
        if self.kind == "static_site" and self.site:
            body |= {
                "location": {"lat": self.site[0], "lon": self.site[1]},
                "function": self.function,
                "occupancy": self.occupancy,
            }
        else:
            body["waypoints"] = [{"lat": lat, "lon": lon} for lat, lon in self.waypoints]
        if self.escort_reason:
            body |= {"escort_requested": True, "escort_reason": self.escort_reason}
        return body


NOTIFICATIONS: tuple[DemoNotification, ...] = (
    DemoNotification(
        key="swda-bor-convoy",
        ngo="SWDA",
        kind="movement",
        starts_in_hours=3,
        hours=8,
        contact="SWDA logistics officer",
        waypoints=((6.05, 31.60), (6.20, 31.56), (6.38, 31.52)),
        vehicles=(("truck", 4), ("land cruiser", 1)),
        acknowledge=True,
        conflicts_with=("cholera-bor",),
    ),
    DemoNotification(
        key="cri-bor-water",
        ngo="CRI",
        kind="movement",
        starts_in_hours=2,
        hours=6,
        contact="CRI water engineer",
        waypoints=((6.18, 31.58), (6.22, 31.55)),
        vehicles=(("water truck", 2),),
    ),
    DemoNotification(
        key="mha-rubkona-leer",
        ngo="MHA",
        kind="movement",
        starts_in_hours=20,
        hours=10,
        contact="MHA field coordinator",
        waypoints=((9.28, 29.80), (8.90, 29.90), (8.30, 30.10)),
        vehicles=(("land cruiser", 2), ("truck", 1)),
        escort_reason="Armed group reported on the Rubkona-Leer road last week",
        escort_approved=True,
    ),
    DemoNotification(
        key="rcv-rubkona-clinic",
        ngo="RCV",
        kind="static_site",
        starts_in_hours=-12,
        hours=24 * 30,
        contact="RCV camp manager",
        site=(9.26, 29.78),
        function="clinic",
        occupancy=1200,
        acknowledge=True,
    ),
)
