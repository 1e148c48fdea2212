"""Seed the demo mission through the services' public HTTP APIs, idempotently.

Everything goes through the same routes a user would call, so every change emits its events
the normal way and every read model fills up as it would in production. Each entity has a
stable id (client-supplied NGO and agreement ids; the unit's own `client_id` for field
reports), and each step looks at the current state before acting, so a second run finds the
mission already there and changes nothing.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from aiokafka import TopicPartition

from deploy.demo.client import (
    MONITORING,
    PLANNING,
    REGISTRY,
    REQUESTS,
    ConcordClient,
    ServiceUnreachable,
    service_url,
)
from deploy.demo.data import AGREEMENTS, NGOS, DemoAgreement, DemoNgo, profile
from deploy.demo.generate import aid_request, incident
from deploy.demo.lifecycle import drive_request
from deploy.demo.seed_planning import seed_planning
from shared.auth import Role
from shared.events.kafka import create_admin, create_consumer
from shared.events.schemas.ngo_registry import NGO_TOPIC
from shared.logging import get_logger

log = get_logger(__name__)

HISTORY_REQUESTS = 40
HISTORY_INCIDENTS = 16
HISTORY_SEED = 2026
CONCURRENCY = 6  # requests in flight while seeding
# The requests service's consumer group for its registry replica (services are not imported
# here: the stack must start even while one is being changed; a test checks the name).
REQUESTS_REPLICA_GROUP = "humanitarian_requests.ngo_replica"
PLANNING_REPLICA_GROUP = "joint_planning.ngo_replica"
REPLICA_GROUPS = (REQUESTS_REPLICA_GROUP, PLANNING_REPLICA_GROUP)
T = TypeVar("T")
# How the seeded history ends up: enough of each so every dashboard panel has something.
OUTCOMES = (
    ["fulfilled"] * 14 + ["in_progress"] * 6 + ["accepted"] * 6 + ["declined_once"] * 6
    + ["pending"] * 8
)  # fmt: skip

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) while seeding."""


def _quiet(phase: str, done: int, total: int) -> None:
    return None


@dataclass
class SeedReport:
    ngos_created: int = 0
    vetting_steps: int = 0
    agreements_created: int = 0
    agreements_activated: int = 0
    requests_created: int = 0
    incidents_created: int = 0
    lifecycle_steps: int = 0
    planning_steps: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.ngos_created} NGOs, {self.vetting_steps} vetting steps, "
            f"{self.agreements_created} agreements ({self.agreements_activated} activated), "
            f"{self.requests_created} requests, {self.incidents_created} incidents, "
            f"{self.lifecycle_steps} offer/delivery steps created, "
            f"{self.planning_steps} joint planning steps"
        )
        if self.skipped:
            text += "; skipped: " + "; ".join(self.skipped)
        return text


VET_CHECKS = {
    name: {"passed": True, "note": None}
    for name in (
        "registration_valid",
        "neutrality_declaration",
        "safeguarding_policy",
        "references",
    )
}


async def _ensure_ngo(client: ConcordClient, ngo: DemoNgo, report: SeedReport) -> dict[str, Any]:
    response = await client.call(REGISTRY, "GET", f"/ngos/{ngo.ngo_id}", allow=(404,))
    if response.status_code == 200:
        state: dict[str, Any] = response.json()
        return state
    created = await client.call(REGISTRY, "POST", "/ngos", json=profile(ngo))
    report.ngos_created += 1
    state = created.json()
    return state


async def _vet(client: ConcordClient, ngo: DemoNgo, status: str, report: SeedReport) -> str:
    """Walk the NGO towards its target status (a suspension waits for its agreement)."""
    target = "vetted" if ngo.target_status == "suspended" else ngo.target_status
    rng = random.Random(ngo.name)
    for _ in range(4):
        if status == target or status not in ("submitted", "under_review"):
            return status
        if target == "submitted":
            return status
        body: dict[str, Any]
        if status == "submitted":
            body = {"action": "start_review"}
        elif target == "rejected":
            body = {"action": "reject", "reason": ngo.reject_reason or "Incomplete file"}
        else:
            until = date.today() + timedelta(days=rng.randint(150, 700))
            body = {"action": "vet", "checks": VET_CHECKS, "vetted_until": str(until)}
        response = await client.call(
            REGISTRY, "POST", f"/ngos/{ngo.ngo_id}/vetting", json=body, allow=(409,)
        )
        report.vetting_steps += 1
        if response.status_code == 409:
            if body["action"] != "vet":
                return status
            # The sanctions screening refused it: record that decision, as an officer would.
            body = {"action": "reject", "reason": "Sanctions screening: listed"}
            response = await client.call(REGISTRY, "POST", f"/ngos/{ngo.ngo_id}/vetting", json=body)
        status = response.json()["vetting_status"]
    return status


async def _each(
    items: Sequence[T], work: Callable[[T], Awaitable[None]], phase: str, progress: Progress
) -> None:
    """Run `work` on every item, a few at a time (each item's own steps stay in order)."""
    limit = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(item: T) -> None:
        nonlocal done
        async with limit:
            await work(item)
        done += 1
        progress(phase, done, len(items))

    await asyncio.gather(*(one(item) for item in items))


async def seed_registry(client: ConcordClient, report: SeedReport, progress: Progress) -> None:
    statuses: dict[uuid.UUID, str] = {}

    async def ngo_step(ngo: DemoNgo) -> None:
        state = await _ensure_ngo(client, ngo, report)
        statuses[ngo.ngo_id] = await _vet(client, ngo, state["vetting_status"], report)

    await _each(NGOS, ngo_step, "NGOs", progress)
    today = datetime.now(UTC).date()

    async def agreement_step(agreement: DemoAgreement) -> None:
        path = f"/agreements/{agreement.agreement_id}"
        response = await client.call(REGISTRY, "GET", path, allow=(404,))
        if response.status_code == 404:
            body = agreement.body(today)
            response = await client.call(REGISTRY, "POST", "/agreements", json=body)
            report.agreements_created += 1
        if agreement.activate and response.json()["status"] == "draft":
            await client.call(REGISTRY, "POST", path + "/activate")
            report.agreements_activated += 1

    await _each(AGREEMENTS, agreement_step, "agreements", progress)
    for ngo in NGOS:
        if ngo.target_status == "suspended" and statuses[ngo.ngo_id] == "vetted":
            body = {"action": "suspend", "reason": "Reporting obligations missed twice"}
            await client.call(REGISTRY, "POST", f"/ngos/{ngo.ngo_id}/vetting", json=body)
            report.vetting_steps += 1


async def _replica_lag(bootstrap: str, group: str) -> int | None:
    """Messages of the NGO topic a service's replica group has not yet committed."""
    consumer = create_consumer(bootstrap_servers=bootstrap, group_id=None)
    admin = create_admin(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        partitions = [
            TopicPartition(NGO_TOPIC.name, p)
            for p in sorted(consumer.partitions_for_topic(NGO_TOPIC.name) or ())
        ]
        if not partitions:
            return None
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group)
        lag = 0
        for tp in partitions:
            done = committed[tp].offset if tp in committed else 0
            lag += max(0, int(ends[tp]) - int(done))
        return lag
    finally:
        await admin.close()
        await consumer.stop()


async def wait_for_replicas(client: ConcordClient, *, timeout: float = 90.0) -> None:
    """Let the requests and joint planning services take in the registry's events before
    requests flow and operations name their implementers.

    Both check against their own replica of the registry. Monitoring keeps the same replica
    from the same topic: once it counts every eligible NGO, the registry's relay has
    published them; then each service's replica group must have committed up to the end of
    the NGO topic."""
    expected = sum(1 for n in NGOS if n.target_status == "vetted")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        kpis = await client.get_json(MONITORING, "/api/kpis", role=Role.ops_centre)
        if int(kpis.get("eligible_ngos", 0) or 0) >= expected:
            break
        await asyncio.sleep(0.5)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap is None:
        await asyncio.sleep(2.0)
        return
    for group in REPLICA_GROUPS:
        while loop.time() < deadline:
            lag = await _replica_lag(bootstrap, group)
            if lag is None or lag == 0:
                break
            await asyncio.sleep(0.5)
        else:
            log.warning("demo.replica_lagging", group=group, waited_seconds=timeout)


async def seed_history(client: ConcordClient, report: SeedReport, progress: Progress) -> None:
    # Generated in a fixed order from a fixed seed: the same reports from the same units with
    # the same `client_id`s every time (only the posting runs concurrently). A unit's
    # `client_id` is what makes a second seed find the first report; an Idempotency-Key
    # would not do, as the observation times move with the clock.
    rng = random.Random(HISTORY_SEED)
    now = datetime.now(UTC)
    requests = [
        (index, *aid_request(rng, f"demo-history-request-{index:03d}", now=now, max_age_hours=72))
        for index in range(HISTORY_REQUESTS)
    ]
    incidents = [
        incident(rng, f"demo-history-incident-{index:03d}", now=now, max_age_hours=96)
        for index in range(HISTORY_INCIDENTS)
    ]
    planned: list[tuple[uuid.UUID, str]] = []  # request id, outcome

    async def request_step(item: tuple[int, str, dict[str, Any]]) -> None:
        index, unit, body = item
        response = await client.call(
            REQUESTS,
            "POST",
            "/aid-requests",
            role=Role.field_unit,
            unit_id=unit,
            json=body,
        )
        report.requests_created += response.status_code == 201
        planned.append((uuid.UUID(response.json()["request_id"]), OUTCOMES[index % len(OUTCOMES)]))

    async def incident_step(item: tuple[str, dict[str, Any]]) -> None:
        unit, body = item
        response = await client.call(
            REQUESTS,
            "POST",
            "/incidents",
            role=Role.field_unit,
            unit_id=unit,
            json=body,
        )
        report.incidents_created += response.status_code == 201

    async def lifecycle_step(item: tuple[uuid.UUID, str]) -> None:
        report.lifecycle_steps += await drive_request(client, *item)

    await _each(requests, request_step, "requests", progress)
    await _each(incidents, incident_step, "incidents", progress)
    await _each(planned, lifecycle_step, "offers and deliveries", progress)


async def seed(client: ConcordClient, progress: Progress = _quiet) -> SeedReport:
    """Seed (or complete) the demo mission; returns what was created this time."""
    for service in (REGISTRY, REQUESTS, PLANNING, MONITORING):
        if not await client.is_up(service):
            raise ServiceUnreachable(service, service_url(service))
    report = SeedReport()
    await seed_registry(client, report, progress)
    await wait_for_replicas(client)
    await seed_history(client, report, progress)
    progress("joint planning", 0, 1)
    await seed_planning(client, report)
    progress("joint planning", 1, 1)
    log.info("demo.seeded", summary=report.summary())
    return report
