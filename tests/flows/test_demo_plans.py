"""The demo mission's joint planning is what joint planning accepts, and shows what it should.

Every body the seeder sends is validated against joint planning's own HTTP schemas, and the
demo's promises (an implementer is eligible, a movement meets an active operation, a task is
already overdue) are checked against the same rules the service applies, without a stack.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from deploy.demo.data import AGREEMENTS, DemoNgo, counties_of
from deploy.demo.movements import movement
from deploy.demo.plans import MEETINGS, NOTIFICATIONS, OPERATIONS, milestone_body, ngo, task_body
from deploy.demo.seed import PLANNING_REPLICA_GROUP
from services.joint_planning.app import ELIGIBILITY_GROUP
from services.joint_planning.common.areas import counties_in
from services.joint_planning.deconfliction.geometry import Point, counties_along
from services.joint_planning.meeting.schemas import MeetingCreate
from services.joint_planning.milestone.schemas import MilestoneCreate
from services.joint_planning.notification.schemas import NotificationCreate
from services.joint_planning.operation.schemas import OperationCreate
from services.joint_planning.task.schemas import TaskCreate
from services.ngo_registry.agreement.schemas import AgreementCreate
from shared.gazetteer import gazetteer

NOW = datetime.now(UTC).replace(microsecond=0)


def _grants(demo: DemoNgo, today: date) -> list[tuple[str, list[str]]]:
    """What the registry will grant the NGO once seeded: every sector of every activated
    agreement it is party to, in that agreement's areas (`compute_grants`)."""
    if demo.target_status != "vetted":
        return []
    grants: list[tuple[str, list[str]]] = []
    for agreement in AGREEMENTS:
        body = AgreementCreate.model_validate(agreement.body(today))
        if agreement.activate and demo in agreement.parties:
            grants.extend((sector.value, list(body.pcodes)) for sector in body.sectors)
    return grants


def test_operations_tasks_and_milestones_are_what_joint_planning_accepts() -> None:
    assert len({o.operation_id for o in OPERATIONS}) == len(OPERATIONS) >= 3
    for demo in OPERATIONS:
        body = OperationCreate.model_validate(demo.body(NOW))
        assert gazetteer().unknown(body.areas) == []
        assert any(p.role == "lead" for p in demo.participants), demo.key
        ids = {t.key: str(t.task_id) for t in demo.tasks}
        for task in demo.tasks:
            created = TaskCreate.model_validate(
                task_body(task, NOW, "00000000-0000-0000-0000-000000000001", ids)
            )
            assert created.due_at <= body.ends_at, task.key
            assert task.owner in {p.key for p in demo.participants}
        for milestone in demo.milestones:
            assert (
                MilestoneCreate.model_validate(milestone_body(milestone, NOW)).due_at
                <= body.ends_at
            )


def test_every_implementer_will_be_eligible_for_its_operation() -> None:
    gaz = gazetteer()
    today = NOW.date()
    for demo in OPERATIONS:
        for participant in demo.participants:
            if participant.role != "implementing":
                continue
            assert participant.ngo, participant.key
            grants = _grants(ngo(participant.ngo), today)
            assert any(
                all(any(gaz.covers(p, area) for s, ps in grants if s == sector for p in ps)
                    for area in demo.areas)
                for sector in demo.sectors
            ), (demo.key, participant.ngo)  # fmt: skip


def test_the_demo_shows_overdue_work_a_meeting_task_and_a_duplication() -> None:
    active = [o for o in OPERATIONS if o.status == "active"]
    assert any(t.due_in_hours < 0 for o in active for t in o.tasks)
    assert any(m.due_in_hours < 0 for o in active for m in o.milestones)
    for meeting in MEETINGS:
        demo = next(o for o in OPERATIONS if o.key == meeting.operation)
        participants = {p.key: f"00000000-0000-0000-0000-{i:012d}" for i, p in
                        enumerate(demo.participants)}  # fmt: skip
        MeetingCreate.model_validate(meeting.body(NOW, participants))
    assert any(item.to_task and item.owner for m in MEETINGS for item in m.action_items)
    # Two live operations, same sector and area, different implementers: a duplication.
    aweil = [o for o in OPERATIONS if o.areas == ("SS0501",) and o.status in ("planned", "active")]
    implementers = [{p.ngo for p in o.participants if p.role == "implementing"} for o in aweil]
    assert len(aweil) == 2 and implementers[0] != implementers[1]


def test_notifications_are_accepted_and_one_meets_an_active_operation() -> None:
    live_conflicts = 0
    for demo in NOTIFICATIONS:
        body = NotificationCreate.model_validate(demo.body(NOW))
        assert ngo(demo.ngo).target_status == "vetted"
        route = [Point(p.lat, p.lon) for p in body.waypoints] or [
            Point(body.location.lat, body.location.lon)  # type: ignore[union-attr]
        ]
        counties = set(counties_along(route))
        for key in demo.conflicts_with:
            operation = next(o for o in OPERATIONS if o.key == key)
            assert counties & set(counties_in(operation.areas)), (demo.key, key)
            starts = NOW + timedelta(hours=operation.starts_in_hours)
            ends = NOW + timedelta(hours=operation.ends_in_hours)
            assert body.starts_at < ends and body.ends_at > starts
            assert all(p.ngo != demo.ngo for p in operation.participants)
            live_conflicts += operation.status == "active"
    assert live_conflicts >= 1
    assert any(n.escort_reason for n in NOTIFICATIONS)
    assert any(n.kind == "static_site" for n in NOTIFICATIONS)


def test_the_seed_waits_for_joint_plannings_own_replica_group() -> None:
    assert PLANNING_REPLICA_GROUP == ELIGIBILITY_GROUP


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simulated_movements_are_what_joint_planning_accepts(seed: int) -> None:
    rng = random.Random(seed)
    escorts = 0
    for _ in range(200):
        demo, body = movement(rng, now=NOW)
        notification = NotificationCreate.model_validate(body)
        assert demo.target_status == "vetted"
        assert NOW < notification.starts_at < notification.ends_at
        first = notification.waypoints[0]
        start = counties_along([Point(first.lat, first.lon)])[0]
        assert start in counties_of(demo.areas)  # it sets out from where it works
        escorts += notification.escort_requested
    assert 0 < escorts < 200
