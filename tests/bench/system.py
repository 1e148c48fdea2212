"""Concord against the machine's own limits: the four services as processes, a load generator
in its own process, and the bare database, broker and HTTP stack as baselines, in one run.

Phases, in order (see docs/benchmarks.md for what each figure means):

1. NGOs eligible for every request are announced on the registry topic; a warm-up.
2. Closed loop: intake at `CONCURRENCY` in flight → the maximum intake rate.
3. Closed loop: `/healthz` of the same service (the FastAPI stack, middleware and uvicorn
   with nothing behind them) at the same concurrency.
4. Bare asyncpg loop: the request row and its outbox row, one commit each, same concurrency.
5. Open loop at half the maximum intake rate, with an external subscriber on the request and
   offer topics and a poller on monitoring's read model: HTTP latency from the intended send
   time, and from each 201 to the event, the offer and the read-model row.
6. Bare Kafka round trip at the same rate with messages of the events' size.
7. One store-and-forward batch of 500.
8. Backlogs: monitoring stopped, the requests service restarted without its relay, a closed
   loop of submissions; then the normal service's relay drains the outbox, then monitoring's
   consumer groups drain Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.stack import LocalStack, free_port_block
from services.humanitarian_requests.config import Settings as RequestsSettings
from services.humanitarian_requests.tests.helpers import (
    ngo_state,
    publish_registry_events,
    wait_for_replica,
)
from shared.auth import Role, issue_token
from shared.events.kafka import create_consumer, topic_partitions
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC, OFFER_TOPIC
from shared.gazetteer import gazetteer
from tests.bench import baselines
from tests.bench.control import (
    MONITORING,
    REQUESTS,
    REQUESTS_WITHOUT_RELAY,
    CpuWatch,
    LoadRun,
    MemoryWatch,
    drain_of,
    group_lags,
    group_members,
    offered_count,
    poll_until_zero,
    run_load,
    start_service,
    stop_service,
    stored_requests,
    submitted_counts,
    unpublished,
    untriaged,
)
from tests.bench.figures import Figures, load_average, percentile
from tests.bench.loadgen import Spec
from tests.bench.workload import NGOS_PER_SECTOR, SECTORS, batch_item

CONCURRENCY = 16
UNITS = 16
SUBMITTED = "aid_request.submitted"
OFFER_MADE = "offer.made"


@dataclass(frozen=True)
class Sizes:
    warmup: int
    closed: int  # submissions in the max-rate closed loop
    noop_seconds: float
    bare_seconds: float
    open_seconds: float
    kafka_seconds: float
    batch: int
    backlog: int  # submissions queued behind the stopped relay and consumers


FULL = Sizes(
    warmup=100,
    closed=2000,
    noop_seconds=15,
    bare_seconds=15,
    open_seconds=60,
    kafka_seconds=30,
    batch=500,
    backlog=2000,
)
QUICK = Sizes(
    warmup=20,
    closed=300,
    noop_seconds=3,
    bare_seconds=3,
    open_seconds=10,
    kafka_seconds=6,
    batch=500,
    backlog=250,
)


Profiler = Callable[[int, str], Coroutine[Any, Any, Callable[[], Awaitable[None]]]]
"""Starts py-spy on a pid, into a file of that name; returns what stops it."""


def say(line: str) -> None:
    print(f"[bench] {line}", flush=True)


@dataclass
class Watch:
    """What an external party sees: first arrival of each request's submitted event and offer
    on Kafka (a consumer of no group, from the end), and its first sight in monitoring's
    read model (a poller every `poll_every` seconds on `monitoring.requests`)."""

    bootstrap: str
    database_url: str
    poll_every: float = 0.01
    submitted: dict[str, float] = field(default_factory=dict)
    offered: dict[str, float] = field(default_factory=dict)
    visible: dict[str, float] = field(default_factory=dict)
    pending_visible: set[str] = field(default_factory=set)
    envelope_sizes: list[int] = field(default_factory=list)

    def on_record(self, record: dict[str, Any]) -> None:
        if record["status"] == 201 and record.get("id"):
            self.pending_visible.add(record["id"])

    async def run(self, ready: asyncio.Event) -> None:
        await asyncio.gather(self._subscribe(ready), self._poll())

    async def _subscribe(self, ready: asyncio.Event) -> None:
        consumer = create_consumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in (AID_REQUEST_TOPIC.name, OFFER_TOPIC.name)
                for p in sorted(
                    consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
                )
            ]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:
                await consumer.position(partition)
            ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=100)
                arrived = time.monotonic()
                for messages in batches.values():
                    for message in messages:
                        event = orjson.loads(message.value or b"{}")
                        kind = str(event.get("type", ""))
                        if SUBMITTED in kind:
                            self.submitted.setdefault(str(event.get("subject")), arrived)
                            self.envelope_sizes.append(len(message.value or b""))
                        elif OFFER_MADE in kind:
                            request_id = str(event.get("data", {}).get("request_id"))
                            self.offered.setdefault(request_id, arrived)
        finally:
            await consumer.stop()

    async def _poll(self) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            while True:
                if self.pending_visible:
                    ids = [uuid.UUID(i) for i in self.pending_visible]
                    rows = await conn.fetch(
                        "SELECT request_id FROM monitoring.requests WHERE request_id = ANY($1)",
                        ids,
                    )
                    seen = time.monotonic()
                    for row in rows:
                        key = str(row["request_id"])
                        self.visible[key] = seen
                        self.pending_visible.discard(key)
                await asyncio.sleep(self.poll_every)
        finally:
            await conn.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    found = await topic_partitions(consumer, topic, attempts=100)
    if not found:
        raise LookupError(topic)
    return found


def _tokens() -> list[str]:
    settings = RequestsSettings()
    return [
        issue_token(
            settings, subject=f"bench-unit-{i}", roles=[Role.field_unit], unit_id=f"bench-unit-{i}"
        )
        for i in range(UNITS)
    ]


async def _seed_ngos(stack: LocalStack) -> None:
    assert stack.kafka_bootstrap_servers and stack.database_url
    states = [a.pcode for a in gazetteer().at_level(1)]
    ngos = [
        ngo_state(
            name=f"Bench {sector.value} {i}",
            sector=sector,
            pcodes=states,
            near=states[(i * len(SECTORS) + n) % len(states)],
        )
        for n, sector in enumerate(SECTORS)
        for i in range(NGOS_PER_SECTOR)
    ]
    await publish_registry_events(stack.kafka_bootstrap_servers, ngos)
    for ngo in ngos:
        await wait_for_replica(stack.database_url, ngo.ngo_id, 1)


def _latencies(run: LoadRun, arrivals: dict[str, float]) -> tuple[list[float], int]:
    """Milliseconds from each 201 to the arrival; and how many never arrived."""
    latencies, missing = [], 0
    for record in run.ok():
        arrived = arrivals.get(record.get("id") or "")
        if arrived is None:
            missing += 1
        else:
            latencies.append((arrived - record["done"]) * 1000)
    return latencies, missing


async def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    # The condition is the subscriber's and poller's state, filled by other tasks.
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


class SystemBench:
    def __init__(self, stack: LocalStack, sizes: Sizes) -> None:
        assert stack.database_url and stack.kafka_bootstrap_servers
        self.stack = stack
        self.sizes = sizes
        self.database_url = stack.database_url
        self.bootstrap = stack.kafka_bootstrap_servers
        self.tokens = _tokens()
        self.url = httpx.URL(stack.service_url(REQUESTS))
        self.figures = Figures()
        self.memory = MemoryWatch(stack)
        self.next_index = 0  # every submission of the run gets its own place
        self.profile: Profiler | None = None

    def spec(self, label: str, **kwargs: Any) -> Spec:
        count = kwargs.get("count") or int(kwargs.get("rate", 0) * kwargs.get("duration", 0))
        spec = Spec(
            host=self.url.host,
            port=self.url.port or 80,
            path="/aid-requests",
            tokens=self.tokens,
            key_prefix=label,
            first_index=self.next_index,
            label=label,
            **kwargs,
        )
        self.next_index += count
        return spec

    async def settle(self) -> float:
        """Wait until every request is triaged, the outbox is empty and monitoring's groups
        have consumed everything, so one phase's backlog is not charged to the next; returns
        the seconds it took."""
        started = time.monotonic()
        await poll_until_zero(lambda: untriaged(self.database_url), every=0.1, timeout=600)
        await poll_until_zero(lambda: unpublished(self.database_url), every=0.1, timeout=600)
        await poll_until_zero(lambda: _total_lag(self.bootstrap), every=0.25, timeout=600)
        return time.monotonic() - started

    async def open_loop(
        self, label: str, rate: float, seconds: float
    ) -> tuple[LoadRun, Watch, float]:
        """An open loop at `rate` with the external subscriber and the read-model poller
        watching; waits (up to 60 s) for every 201's event, offer and read-model row."""
        say(f"open loop at {rate:.1f}/s for {seconds:.0f} s with an external subscriber")
        watch = Watch(self.bootstrap, self.database_url)
        ready = asyncio.Event()
        watcher = asyncio.create_task(watch.run(ready))
        await asyncio.wait_for(ready.wait(), 60)
        profiling = []
        if self.profile is not None and label == "steady":
            for service in (REQUESTS, MONITORING):
                pid = self.stack.processes[service.name].pid
                name = f"steady-{service.name}"
                profiling.append(asyncio.create_task(self.profile(pid, name)))
        async with self.memory.watching():
            run = await run_load(
                self.spec(label, mode="open", rate=rate, duration=seconds), watch.on_record
            )
            for started in profiling:
                await (await started)()
            created = {r["id"] for r in run.ok() if r.get("id")}
            await _wait_for(
                lambda: (
                    created <= watch.submitted.keys()
                    and created <= watch.offered.keys()
                    and created <= watch.visible.keys()
                ),
                timeout=60,
            )
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        return run, watch, load_average()

    async def run(self) -> Figures:
        f, sizes = self.figures, self.sizes
        say("seeding eligible NGOs through the registry topic")
        await _seed_ngos(self.stack)
        await run_load(self.spec("warmup", mode="closed", concurrency=4, count=sizes.warmup))
        await self.settle()

        say(f"closed loop: intake at {CONCURRENCY} in flight")
        async with self.memory.watching():
            profiling = None
            if self.profile is not None:
                pid = self.stack.processes[REQUESTS.name].pid
                profiling = asyncio.create_task(self.profile(pid, "intake"))
            # A profile needs samples: at least 1000 submissions under it.
            count = max(sizes.closed, 1000) if profiling else sizes.closed
            with CpuWatch(self.stack).measuring() as cores:
                intake = await run_load(
                    self.spec("intake", mode="closed", concurrency=CONCURRENCY, count=count)
                )
            if profiling is not None:
                await (await profiling)()
        rate = len(intake.ok()) / intake.elapsed
        f.add("intake_per_s", rate, note=f"{CONCURRENCY} in flight, {count} submissions")
        f.add("intake_errors", intake.errors, goal="<= 0", note=intake.error_kinds)
        service_ms = [(r["done"] - r["sent"]) * 1000 for r in intake.ok()]
        f.add("intake_closed_p50_ms", percentile(service_ms, 0.5))
        f.add("intake_closed_p99_ms", percentile(service_ms, 0.99))
        for part, used in cores.items():
            f.add(f"intake_cpu_cores[{part}]", used, note="of 2; machine = every process")
        caught_up = await self.settle()
        # Triage follows the 201 (the field unit sees the outcome on the request's status):
        # the share of offers is read from the service once everything has settled.
        offered = await offered_count(self.database_url, {r["id"] for r in intake.ok()})
        f.add(
            "intake_readmodel_catch_up_s",
            caught_up,
            note="after the closed loop, until monitoring has consumed everything",
        )
        f.add(
            "intake_offered_share",
            offered / max(len(intake.ok()), 1),
            note="201s offered once triaged",
        )

        say("closed loop: /healthz of the same stack")
        noop = await run_load(
            Spec(
                host=self.url.host,
                port=self.url.port or 80,
                path="/healthz",
                method="GET",
                body="none",
                mode="closed",
                concurrency=CONCURRENCY,
                duration=sizes.noop_seconds,
                label="noop",
            )
        )
        noop_rate = len(noop.ok(200)) / noop.elapsed
        f.add("noop_per_s", noop_rate, note="GET /healthz, same uvicorn/FastAPI/middleware")
        f.add("noop_errors", noop.errors, goal="<= 0", note=noop.error_kinds)

        say("bare asyncpg loop: request row + outbox row, one commit each")
        bare = await baselines.bare_insert_loop(
            self.database_url, concurrency=CONCURRENCY, duration=sizes.bare_seconds
        )
        f.add("bare_insert_tx_per_s", bare.per_second, note=f"{CONCURRENCY} connections")
        f.add("bare_insert_errors", bare.errors, goal="<= 0")
        f.add("bare_insert_p99_ms", percentile(bare.latencies_ms, 0.99))
        f.add("intake_ratio", rate / bare.per_second, goal=">= 0.5")
        f.add("intake_vs_noop", rate / noop_rate, note="what HTTP alone leaves")

        await self.settle()
        half = max(rate / 2, 1.0)
        steady, watch, load_open = await self.open_loop("steady", half, sizes.open_seconds)
        # Every request counts, failed ones too: a timeout is a very slow answer, not a gap.
        http_ms = [(r["done"] - r["t"]) * 1000 for r in steady.records]
        f.add("open_rate_per_s", half, note=f"{sizes.open_seconds:.0f} s open loop")
        f.add("open_errors", steady.errors, goal="<= 0", note=steady.error_kinds)
        f.add("http_p50_ms", percentile(http_ms, 0.5), note="from the intended send time")
        f.add(
            "http_p99_ms",
            percentile(http_ms, 0.99),
            note="coordinated omission corrected, errors included",
        )
        e2e, e2e_missing = _latencies(steady, watch.submitted)
        readmodel, readmodel_missing = _latencies(steady, watch.visible)
        match, match_missing = _latencies(steady, watch.offered)
        size = int(sum(watch.envelope_sizes) / max(len(watch.envelope_sizes), 1)) or 2000

        say(f"bare Kafka round trip at {half:.1f}/s, {size} bytes, acks=all")
        trip = await baselines.kafka_round_trip(
            self.bootstrap, rate=half, duration=sizes.kafka_seconds, size=size
        )
        kafka_p99 = percentile(trip.latencies_ms, 0.99)
        f.add("kafka_rtt_p50_ms", percentile(trip.latencies_ms, 0.5), note=f"{size} bytes")
        f.add("kafka_rtt_p99_ms", kafka_p99)
        f.add("kafka_rtt_errors", trip.errors, goal="<= 0")
        e2e_p99 = percentile(e2e, 0.99)
        f.add("e2e_p50_ms", percentile(e2e, 0.5), load=load_open)
        f.add("e2e_p99_ms", e2e_p99, load=load_open, note="201 → submitted event at a subscriber")
        f.add("e2e_missing", e2e_missing, goal="<= 0", load=load_open)
        f.add("e2e_latency_ratio", e2e_p99 / kafka_p99, goal="<= 5", load=load_open)
        readmodel_p99 = percentile(readmodel, 0.99)
        f.add(
            "readmodel_p99_ms",
            readmodel_p99,
            load=load_open,
            note="201 → row in monitoring.requests",
        )
        f.add("readmodel_missing", readmodel_missing, goal="<= 0", load=load_open)
        f.add("readmodel_latency_ratio", readmodel_p99 / kafka_p99, goal="<= 10", load=load_open)
        match_p99 = percentile(match, 0.99)
        f.add(
            "match_latency_p99_ms",
            match_p99,
            load=load_open,
            note="201 → offer.made at a subscriber",
        )
        f.add("match_missing", match_missing, goal="<= 0", load=load_open)
        f.add("match_latency_ratio", match_p99 / kafka_p99, goal="<= 10", load=load_open)

        await self.settle()
        quarter = max(rate / 4, 1.0)
        light, light_watch, load_light = await self.open_loop(
            "light", quarter, sizes.open_seconds / 2
        )
        f.add(
            "quarter_rate_per_s", quarter, load=load_light, note="a second open loop, for capacity"
        )
        f.add("quarter_errors", light.errors, goal="<= 0", load=load_light, note=light.error_kinds)
        light_http = [(r["done"] - r["t"]) * 1000 for r in light.records]
        f.add("quarter_http_p99_ms", percentile(light_http, 0.99), load=load_light)
        for name, arrivals in (
            ("e2e", light_watch.submitted),
            ("readmodel", light_watch.visible),
            ("match", light_watch.offered),
        ):
            latencies, missing = _latencies(light, arrivals)
            f.add(f"quarter_{name}_p99_ms", percentile(latencies, 0.99), load=load_light)
            f.add(f"quarter_{name}_missing", missing, goal="<= 0", load=load_light)

        await self.settle()
        say(f"store-and-forward batch of {sizes.batch}")
        async with self.memory.watching():
            items = [batch_item(self.next_index + i) for i in range(sizes.batch)]
            self.next_index += sizes.batch
            async with httpx.AsyncClient(base_url=str(self.url), timeout=600) as client:
                started = time.monotonic()
                answer = await client.post(
                    "/reports/batch",
                    json={"items": items},
                    headers={"Authorization": f"Bearer {self.tokens[0]}"},
                )
                batch_seconds = time.monotonic() - started
        created_items = answer.json().get("created", 0) if answer.status_code == 200 else 0
        f.add(
            "batch_items_per_s",
            created_items / batch_seconds,
            note=f"{sizes.batch} items, one request",
        )
        f.add("batch_errors", sizes.batch - created_items, goal="<= 0")
        f.add("batch_ratio", created_items / batch_seconds / bare.per_second, goal=">= 0.5")

        await self._backlogs(rate)
        await self._replicas(rate)
        rss = self.memory.max_mb
        biggest = max(rss, key=lambda name: rss[name]) if rss else "none"
        f.add("rss_mb_max", rss.get(biggest, float("nan")), goal="<= 300", note=biggest)
        for name, mb in sorted(rss.items()):
            f.add(f"rss_mb_{name}", mb)
        return f

    async def _backlogs(self, intake_rate: float) -> None:
        f, stack = self.figures, self.stack
        say("backlog: waiting for monitoring to catch up, then stopping it")
        await self.settle()
        stop_service(stack, MONITORING.name)
        stop_service(stack, REQUESTS.name)
        await asyncio.to_thread(start_service, stack, REQUESTS_WITHOUT_RELAY)
        say(f"backlog: {self.sizes.backlog} submissions with the relay off")
        queued = await run_load(
            self.spec("backlog", mode="closed", concurrency=CONCURRENCY, count=self.sizes.backlog)
        )
        f.add("backlog_errors", queued.errors, goal="<= 0", note=queued.error_kinds)
        accepted = len(queued.ok())
        # The triage worker still runs (only the relay is off): wait until it has triaged the
        # backlog, so the relay is timed on every outbox row the submissions will ever queue.
        await poll_until_zero(lambda: untriaged(self.database_url), every=0.1, timeout=600)
        stop_service(stack, REQUESTS.name)
        waiting = await unpublished(self.database_url)
        say(f"backlog: {waiting} outbox rows; starting the requests service with its relay")
        async with self.memory.watching():
            poller = asyncio.create_task(
                poll_until_zero(lambda: unpublished(self.database_url), every=0.05, timeout=600)
            )
            await asyncio.to_thread(start_service, stack, REQUESTS)
            relay = drain_of(await poller)
            f.add("relay_events_per_s", relay.per_second, note=f"{relay.backlog} outbox rows")
            relay_rate = accepted / relay.seconds if relay.seconds > 0 else float("nan")
            f.add("relay_submissions_per_s", relay_rate)
            f.add("relay_ratio", relay_rate / intake_rate, goal=">= 2")

            say("backlog: starting monitoring; its consumer groups drain")
            series: dict[str, list[tuple[float, int]]] = {}
            started = asyncio.create_task(asyncio.to_thread(start_service, stack, MONITORING))
            deadline = time.monotonic() + 600
            consumer_cpu: CpuWatch | None = None
            consumer_cores: dict[str, float] = {}
            profiling: asyncio.Task[Callable[[], Awaitable[None]]] | None = None
            while True:
                if started.done() and consumer_cpu is None:
                    # From monitoring's readiness on: what draining costs, not the start-up.
                    consumer_cpu = CpuWatch(stack)
                    consumer_cpu.start()
                    if self.profile is not None:
                        pid = stack.processes[MONITORING.name].pid
                        profiling = asyncio.create_task(self.profile(pid, "drain"))
                lags = await group_lags(self.bootstrap, "monitoring.")
                now = time.monotonic()
                for group, lag in lags.items():
                    series.setdefault(group, []).append((now, lag))
                if started.done() and lags and all(s[-1][1] == 0 for s in series.values()):
                    if consumer_cpu is not None:
                        consumer_cores = consumer_cpu.stop()
                    if profiling is not None:
                        await (await profiling)()
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"monitoring still behind: {lags}")
                await asyncio.sleep(0.25)
            await started
        slowest_name, slowest_rate, slowest_events = "", float("inf"), 0.0
        for group, samples in sorted(series.items()):
            drained = drain_of(samples)
            if drained.backlog == 0:
                continue
            per_submission = accepted / drained.seconds
            f.add(
                f"consumer_events_per_s[{group}]",
                drained.per_second,
                note=f"{drained.backlog} events",
            )
            if per_submission < slowest_rate:
                slowest_name, slowest_rate, slowest_events = (
                    group,
                    per_submission,
                    drained.per_second,
                )
        f.add("consumer_slowest_events_per_s", slowest_events, note=slowest_name)
        f.add(
            "consumer_cpu_cores[monitoring]",
            consumer_cores.get("monitoring", float("nan")),
            note="while its groups drained",
        )
        f.add("consumer_cpu_cores[machine]", consumer_cores.get("machine", float("nan")))
        f.add("consumer_ratio", slowest_rate / intake_rate, goal=">= 1.5", note=slowest_name)

    async def _replicas(self, intake_rate: float) -> None:
        """Two replicas of the requests service on one database and one broker, as a load
        balancer would see them: the closed loop spread over both, then proof that nothing
        was lost or doubled (one row and one `submitted` event per 201, the outbox drained by
        the one relay that leads) and that both replicas took requests and sit in the
        service's consumer groups."""
        f, stack = self.figures, self.stack
        await self.settle()
        second_port = free_port_block()
        second = f"{REQUESTS.name}_2"
        say(f"replicas: a second requests service on port {second_port}")
        stack.start_service(REQUESTS, name=second, port=second_port)
        try:
            await asyncio.to_thread(stack.wait_until_ready)
            members = await group_members(self.bootstrap, f"{REQUESTS.name}.")
            spec = self.spec(
                "replicas",
                mode="closed",
                concurrency=CONCURRENCY,
                count=self.sizes.closed,
                ports=[self.url.port or 80, second_port],
            )
            async with self.memory.watching():
                run = await run_load(spec)
            rate = len(run.ok()) / run.elapsed
            f.add("replicas_intake_per_s", rate, note=f"2 replicas, {CONCURRENCY} in flight")
            f.add("replicas_errors", run.errors, goal="<= 0", note=run.error_kinds)
            f.add("replicas_intake_gain", rate / intake_rate, note="÷ intake_per_s (1 replica)")
            served = {port: 0 for port in spec.ports}
            for record in run.ok():
                served[record["port"]] += 1
            f.add("replicas_least_served_share", min(served.values()) / max(len(run.ok()), 1))
            f.add(
                "replicas_group_members_min",
                min(members.values(), default=0),
                goal=">= 2",
                note=", ".join(f"{g}: {n}" for g, n in sorted(members.items())),
            )
            await self.settle()
            created = {r["id"] for r in run.ok() if r.get("id")}
            counts = await submitted_counts(self.bootstrap, AID_REQUEST_TOPIC.name, created)
            stored = await stored_requests(self.database_url, created)
            lost = sum(1 for rid in created if counts.get(rid, 0) == 0 or rid not in stored)
            doubled = sum(1 for n in counts.values() if n > 1)
            f.add("replicas_lost", lost, goal="<= 0", note=f"of {len(created)} 201s")
            f.add("replicas_duplicated", doubled, goal="<= 0", note="submitted events per 201")
        finally:
            stop_service(stack, second)


async def _total_lag(bootstrap: str) -> int:
    return sum((await group_lags(bootstrap, "monitoring.")).values())


async def run(stack: LocalStack, *, quick: bool) -> Figures:
    return await SystemBench(stack, QUICK if quick else FULL).run()
