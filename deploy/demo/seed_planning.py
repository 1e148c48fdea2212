"""Seed the demo mission's joint planning through joint planning's own HTTP API.

Operations, tasks, milestones, meetings and notifications carry stable client-supplied ids
(`deploy/demo/plans.py`); each step reads the current state first and only does what is
missing (an operation not yet active is moved on, an action item not yet a task becomes
one), so a second seed changes nothing. Notifications are posted by the NGO itself, with its
own token, as an NGO system would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from deploy.demo.client import PLANNING, ConcordClient
from deploy.demo.plans import (
    MEETINGS,
    NOTIFICATIONS,
    OPERATIONS,
    DemoMeeting,
    DemoNotification,
    DemoOperation,
    milestone_body,
    ngo,
    operation,
    task_body,
)
from shared.auth import Role

# Forward moves the seed makes to bring an operation to its demo status.
NEXT_STATUS = {"draft": "planned", "planned": "active"}
STATUS_ORDER = ("draft", "planned", "active")


class Counts(Protocol):
    planning_steps: int


def _state(response: httpx.Response) -> tuple[dict[str, Any], str]:
    body: dict[str, Any] = response.json()
    return body, response.headers.get("ETag", f'"{body["version"]}"')


async def _ensure_operation(
    client: ConcordClient, demo: DemoOperation, now: datetime, report: Counts
) -> dict[str, str]:
    """The operation at its demo status with its tasks and milestones; returns the
    participants' ids by key."""
    path = f"/operations/{demo.operation_id}"
    response = await client.call(PLANNING, "GET", path, allow=(404,))
    if response.status_code == 404:
        response = await client.call(PLANNING, "POST", "/operations", json=demo.body(now))
        report.planning_steps += 1
    state, tag = _state(response)
    while STATUS_ORDER.index(state["status"]) < STATUS_ORDER.index(demo.status):
        response = await client.call(
            PLANNING,
            "POST",
            path + "/status",
            json={"status": NEXT_STATUS[state["status"]]},
            headers={"If-Match": tag},
        )
        report.planning_steps += 1
        state, tag = _state(response)
    participants = {
        p.key: next(held["participant_id"] for held in state["participants"] if p.matches(held))
        for p in demo.participants
    }
    task_ids = {t.key: str(t.task_id) for t in demo.tasks}
    for task in demo.tasks:
        task_path = f"/tasks/{task.task_id}"
        response = await client.call(PLANNING, "GET", task_path, allow=(404,))
        if response.status_code == 404:
            body = task_body(task, now, participants[task.owner], task_ids)
            response = await client.call(PLANNING, "POST", path + "/tasks", json=body)
            report.planning_steps += 1
        held, tag = _state(response)
        if task.status == "in_progress" and held["status"] == "open":
            await client.call(
                PLANNING,
                "POST",
                task_path + "/status",
                json={"status": "in_progress", "note": "Started"},
                headers={"If-Match": tag},
            )
            report.planning_steps += 1
    if demo.milestones:
        held_milestones = await client.get_json(PLANNING, path + "/milestones")
        known = {m["milestone_id"] for m in held_milestones}
        for milestone in demo.milestones:
            if str(milestone.milestone_id) not in known:
                body = milestone_body(milestone, now)
                await client.call(PLANNING, "POST", path + "/milestones", json=body)
                report.planning_steps += 1
    return participants


async def _ensure_meeting(
    client: ConcordClient,
    demo: DemoMeeting,
    now: datetime,
    participants: dict[str, str],
    report: Counts,
) -> None:
    path = f"/meetings/{demo.meeting_id}"
    response = await client.call(PLANNING, "GET", path, allow=(404,))
    if response.status_code == 404:
        body = demo.body(now, participants)
        response = await client.call(PLANNING, "POST", "/meetings", json=body)
        report.planning_steps += 1
    held = {item["action_item_id"]: item for item in response.json()["action_items"]}
    for item in demo.action_items:
        if item.to_task and held[str(item.action_item_id)]["task_id"] is None:
            await client.call(
                PLANNING,
                "POST",
                f"{path}/action-items/{item.action_item_id}/task",
                json={"priority": "high"},
            )
            report.planning_steps += 1


async def _ensure_notification(
    client: ConcordClient, demo: DemoNotification, now: datetime, report: Counts
) -> None:
    path = f"/notifications/{demo.notification_id}"
    response = await client.call(PLANNING, "GET", path, allow=(404,))
    if response.status_code == 404:
        response = await client.call(
            PLANNING,
            "POST",
            "/notifications",
            role=Role.ngo,
            ngo_id=ngo(demo.ngo).ngo_id,
            json=demo.body(now),
        )
        report.planning_steps += 1
    state = response.json()
    if demo.acknowledge and state["acknowledged_at"] is None:
        await client.call(PLANNING, "POST", path + "/acknowledge")
        report.planning_steps += 1
    if demo.escort_approved is not None and state["escort_status"] == "requested":
        decision = {
            "approved": demo.escort_approved,
            "reason": "Escort from the Rubkona base; depart 07:00 from the main gate",
        }
        await client.call(PLANNING, "POST", path + "/escort", json=decision)
        report.planning_steps += 1


async def seed_planning(client: ConcordClient, report: Counts, now: datetime | None = None) -> None:
    """Operations first (a notification is checked against what is live when it arrives),
    then meetings, then the NGOs' notifications."""
    now = now or datetime.now(UTC)
    participants = {
        demo.key: await _ensure_operation(client, demo, now, report) for demo in OPERATIONS
    }
    for meeting in MEETINGS:
        await _ensure_meeting(
            client, meeting, now, participants[operation(meeting.operation).key], report
        )
    for notification in NOTIFICATIONS:
        await _ensure_notification(client, notification, now, report)
