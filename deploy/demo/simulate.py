"""The field simulator: field units reporting and NGOs answering, for a bounded time.

Field units post aid requests and incidents spread over the mission area (urgency and
incidents concentrated in the hotspot states), now and then a burst from one place (a
displacement wave), a retry of the last report with the same `Idempotency-Key` (a dropped
link), and an offline batch of reports queued hours ago (`POST /reports/batch`). NGOs watch
their offers and accept, decline, or let them expire, after a realistic delay, then start
and finish deliveries. Only loopback is ever called.

Like the field units it plays, it does not give up on a bad link: a 5xx, a 503 with
`Retry-After`, a dropped connection or a timeout is retried with the same `Idempotency-Key`
after a jittered backoff (`deploy.demo.retrying`), and the simulator keeps running through an
outage of the service or its database. What it retried, and what it gave up on, is counted in
its summary.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from deploy.demo.client import REQUESTS, ConcordClient, ServiceError, ServiceUnreachable
from deploy.demo.generate import aid_request, incident
from deploy.demo.lifecycle import deliver, read_request, start_delivery
from deploy.demo.movements import MovementNotifier
from deploy.demo.retrying import RetryPolicy
from shared.auth import Role
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass
class SimulationStats:
    """What the simulator sent and what came back (`sent` and `outcomes` by kind)."""

    sent: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    request_ids: set[str] = field(default_factory=set)
    retried: Counter[str] = field(default_factory=Counter)  # retries, by reason (503, timeout …)
    gave_up: Counter[str] = field(default_factory=Counter)  # requests abandoned, by last reason

    def rows(self) -> list[tuple[str, str]]:
        sent = ", ".join(f"{k} {v}" for k, v in sorted(self.sent.items())) or "-"
        back = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "-"
        retried = ", ".join(f"{k} {v}" for k, v in sorted(self.retried.items())) or "-"
        gave_up = ", ".join(f"{k} {v}" for k, v in sorted(self.gave_up.items())) or "-"
        return [("sent", sent), ("came back", back), ("retried", retried), ("gave up", gave_up)]


@dataclass
class Simulator:
    client: ConcordClient
    rate: float = 1.0  # field reports per second, on average
    duration: float = 60.0  # seconds of reporting
    seed: int | None = None
    answer_delay: tuple[float, float] = (0.5, 4.0)  # seconds an NGO takes to answer an offer
    stats: SimulationStats = field(default_factory=SimulationStats)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    _seen_offers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.run_tag = uuid.uuid4().hex[:8]
        self.counter = 0
        self.last_report: tuple[str, dict[str, Any]] | None = None
        self.movements = MovementNotifier(self.client, random.Random(self.seed))
        # The client retries as a field unit does, and counts into this run's summary.
        self.retry.retried = self.stats.retried
        self.retry.gave_up = self.stats.gave_up
        self.client.retry = self.retry

    def _client_id(self, kind: str) -> str:
        self.counter += 1
        return f"sim-{self.run_tag}-{kind}-{self.counter:05d}"

    async def _post_request(self, unit: str, body: dict[str, Any], *, retry: bool) -> None:
        key = str(body["client_id"])
        response = await self.client.call(
            REQUESTS,
            "POST",
            "/aid-requests",
            role=Role.field_unit,
            unit_id=unit,
            json=body,
            headers={"Idempotency-Key": key},
            allow=(422, 409),
        )
        self.stats.sent["retries" if retry else "aid requests"] += 1
        if response.status_code in (200, 201):
            state = response.json()
            self.stats.request_ids.add(state["request_id"])
            self.stats.outcomes["replayed" if retry else state["status"]] += 1
        else:
            self.stats.outcomes[f"refused {response.status_code}"] += 1

    async def _report_once(self) -> None:
        now = datetime.now(UTC)
        if movement := await self.movements.tick(now):
            self.stats.sent["movements"] += 1
            self.stats.outcomes[movement] += 1
        roll = self.rng.random()
        if roll < 0.06 and self.last_report is not None:
            await self._post_request(*self.last_report, retry=True)
        elif roll < 0.10:
            await self._burst(now)
        elif roll < 0.15:
            await self._offline_batch(now)
        elif roll < 0.32:
            unit, body = incident(self.rng, self._client_id("incident"), now=now)
            response = await self.client.call(
                REQUESTS,
                "POST",
                "/incidents",
                role=Role.field_unit,
                unit_id=unit,
                json=body,
                headers={"Idempotency-Key": str(body["client_id"])},
                allow=(404, 405, 422),
            )
            self.stats.sent["incidents"] += 1
            self.stats.outcomes[f"incident {response.status_code}"] += 1
        else:
            unit, body = aid_request(self.rng, self._client_id("request"), now=now)
            self.last_report = (unit, body)
            await self._post_request(unit, body, retry=False)

    async def _burst(self, now: datetime) -> None:
        """Several units report the same displacement wave at once (near-duplicates)."""
        unit, first = aid_request(self.rng, self._client_id("burst"), now=now)
        self.stats.sent["bursts"] += 1
        reports = [first]
        for _ in range(self.rng.randint(3, 7)):
            copy = dict(first, client_id=self._client_id("burst"))
            reports.append(copy)
        await asyncio.gather(*(self._post_request(unit, b, retry=False) for b in reports))

    async def _offline_batch(self, now: datetime) -> None:
        """A unit back online uploads what it queued over the last hours."""
        items: list[dict[str, Any]] = []
        unit = None
        for _ in range(self.rng.randint(3, 8)):
            if self.rng.random() < 0.75:
                unit_id, body = aid_request(
                    self.rng, self._client_id("queued"), now=now, max_age_hours=8
                )
                items.append({"kind": "aid_request", **body})
            else:
                unit_id, body = incident(
                    self.rng, self._client_id("queued"), now=now, max_age_hours=8
                )
                items.append({"kind": "incident", **body})
            unit = unit or unit_id
        assert unit is not None
        response = await self.client.call(
            REQUESTS,
            "POST",
            "/reports/batch",
            role=Role.field_unit,
            unit_id=unit,
            json={"items": items},
            headers={"Idempotency-Key": f"batch-{self._client_id('batch')}"},
            allow=(404, 405, 413, 422),
        )
        self.stats.sent["offline batches"] += 1
        self.stats.sent["batched items"] += len(items)
        if response.status_code != 200:
            self.stats.outcomes[f"batch {response.status_code}"] += 1
            return
        result = response.json()
        for outcome in result.get("results", []):
            self.stats.outcomes[f"batch {outcome['result']}"] += 1
            if outcome.get("kind") == "aid_request" and outcome.get("id"):
                self.stats.request_ids.add(str(outcome["id"]))

    def _later(self, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            try:
                await action()
            except ServiceError as exc:
                self.stats.outcomes[f"error {exc.status_code}"] += 1
            except (ServiceUnreachable, httpx.HTTPError):
                self.stats.outcomes["no answer"] += 1

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _watch_offers(self) -> None:
        # Not retried: the next look comes half a second later anyway, and a look that waited
        # out an outage would hold up the field units' reports behind it.
        try:
            offers = await self.client.get_json(
                REQUESTS,
                "/offers",
                role=Role.ops_centre,
                params={"status": "pending", "limit": 200},
                retry=False,
            )
        except ServiceError as exc:
            self.stats.outcomes[f"offers unseen ({exc.status_code})"] += 1
            return
        except (ServiceUnreachable, httpx.HTTPError):
            self.stats.outcomes["offers unseen (no answer)"] += 1
            return
        for offer in offers:
            if offer["offer_id"] in self._seen_offers:
                continue
            self._seen_offers.add(offer["offer_id"])
            self.stats.outcomes["offers received"] += 1
            roll = self.rng.random()
            delay = self.rng.uniform(*self.answer_delay)
            if roll < 0.68:
                self._later(delay, functools.partial(self._answer, offer, accept=True))
            elif roll < 0.88:
                self._later(delay, functools.partial(self._answer, offer, accept=False))
            else:
                self.stats.outcomes["offers left to expire"] += 1

    async def _answer(self, offer: dict[str, Any], *, accept: bool) -> None:
        verb = "accept" if accept else "decline"
        response = await self.client.call(
            REQUESTS,
            "POST",
            f"/offers/{offer['offer_id']}/{verb}",
            role=Role.ngo,
            ngo_id=uuid.UUID(offer["ngo_id"]),
            json=None if accept else {"reason": "Our teams are committed elsewhere"},
            headers={"Idempotency-Key": f"{verb}-{offer['offer_id']}"},
            allow=(409,),
        )
        label = "accepted" if accept else "declined"
        self.stats.outcomes[label if response.status_code == 200 else f"{verb} too late"] += 1
        if accept and response.status_code == 200:
            request_id = uuid.UUID(offer["request_id"])
            self._later(self.rng.uniform(0.5, 3.0), functools.partial(self._deliver, request_id))

    async def _deliver(self, request_id: uuid.UUID) -> None:
        state = await read_request(self.client, request_id)
        if state["status"] == "accepted" and await start_delivery(self.client, state):
            self.stats.outcomes["deliveries started"] += 1
            state = await read_request(self.client, request_id)
        if state["status"] == "in_progress":
            await asyncio.sleep(self.rng.uniform(0.5, 3.0))
            state = await read_request(self.client, request_id)
            partial = self.rng.random() < 0.15
            if await deliver(self.client, state, fraction=0.5 if partial else 1.0):
                self.stats.outcomes["partly delivered" if partial else "fulfilled"] += 1

    async def run(self, on_tick: Callable[[SimulationStats, float], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_report = started
        next_watch = started
        while (elapsed := loop.time() - started) < self.duration:
            if loop.time() >= next_report:
                self._later(0, self._report_once)
                next_report += self.rng.expovariate(self.rate)
            if loop.time() >= next_watch:
                await self._watch_offers()
                next_watch = loop.time() + 0.5
            if on_tick is not None:
                on_tick(self.stats, elapsed)
            await asyncio.sleep(min(0.1, max(0.0, next_report - loop.time())))
        # Let what is already under way (answers, deliveries) finish, briefly.
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=8)
        for task in set(self._pending):
            task.cancel()
            self.stats.outcomes["abandoned at the end"] += 1
        if on_tick is not None:
            on_tick(self.stats, loop.time() - started)
        log.info(
            "demo.simulated",
            sent=dict(self.stats.sent),
            outcomes=dict(self.stats.outcomes),
            retried=dict(self.stats.retried),
            gave_up=dict(self.stats.gave_up),
        )
