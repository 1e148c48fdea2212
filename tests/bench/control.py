"""The bench's hands on the running stack: the load generator process, service processes,
their memory, and what Kafka and Postgres hold."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import orjson
import psutil  # type: ignore[import-untyped]
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from deploy.services import ROOT, SERVICES, ServiceSpec
from deploy.stack import LocalStack
from services.humanitarian_requests.config import Settings as RequestsSettings
from shared.events.kafka import create_admin, create_consumer
from shared.testing import read_to_end
from tests.bench.loadgen import Spec


@dataclass(frozen=True)
class VariantSpec(ServiceSpec):
    """A service started from another app factory (same name, port and log)."""

    factory: str = ""

    @property
    def app_factory(self) -> str:
        return self.factory


REQUESTS = next(s for s in SERVICES if s.name == "humanitarian_requests")
MONITORING = next(s for s in SERVICES if s.name == "monitoring")
REQUESTS_WITHOUT_RELAY = VariantSpec(
    "humanitarian_requests", RequestsSettings, factory="tests.bench.apps:requests_without_relay"
)


def stop_service(stack: LocalStack, name: str) -> None:
    process = stack.processes.pop(name)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_service(stack: LocalStack, spec: ServiceSpec) -> None:
    stack.start_service(spec)
    stack.wait_until_ready()


@dataclass
class LoadRun:
    records: list[dict[str, Any]]
    elapsed: float
    statuses: dict[str, int]

    def ok(self, *codes: int) -> list[dict[str, Any]]:
        wanted = codes or (201,)
        return [r for r in self.records if r["status"] in wanted]

    @property
    def errors(self) -> int:
        return sum(1 for r in self.records if r["status"] not in (200, 201))

    @property
    def error_kinds(self) -> str:
        """What the errors were: HTTP statuses, or the client-side failure (0: no answer)."""
        kinds = Counter(
            str(r["status"]) if r["status"] else r.get("error", "no answer")
            for r in self.records
            if r["status"] not in (200, 201)
        )
        return ", ".join(f"{kind} x{n}" for kind, n in kinds.most_common())


async def run_load(
    spec: Spec, on_record: Callable[[dict[str, Any]], None] | None = None
) -> LoadRun:
    """Run the load generator in its own process and follow its results as they come."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.loadgen",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 20,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(asdict(spec)).encode())  # tokens stay out of `ps`
    await process.stdin.drain()
    process.stdin.close()
    records: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    async for line in process.stdout:
        data = json.loads(line)
        if "summary" in data:
            summary = data["summary"]
            continue
        records.append(data)
        if on_record is not None:
            on_record(data)
    if await process.wait() != 0:
        raise RuntimeError(f"the load generator failed ({process.returncode}): {spec.label}")
    return LoadRun(records, summary["elapsed"], summary["statuses"])


class MemoryWatch:
    """Resident memory of every service process (and its children), sampled once a second
    while a load runs; the maximum per service is what `rss_mb_max` reports."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.max_mb: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        for name, process in list(self.stack.processes.items()):
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(process.pid)
                rss = proc.memory_info().rss + sum(
                    c.memory_info().rss for c in proc.children(recursive=True)
                )
                self.max_mb[name] = max(self.max_mb.get(name, 0.0), rss / 2**20)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(1)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        self._task = asyncio.create_task(self._run())
        try:
            yield
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self.sample()


def _tree_cpu(process: psutil.Process) -> float:
    """CPU seconds (user + system) of a process and its children."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


class CpuWatch:
    """Cores used per part of the stack over a phase: the services, Postgres (postmaster and
    its backends), Kafka, and the whole machine (everyone's processes, other engineers' too)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def _parts(self) -> dict[str, psutil.Process]:
        parts = {}
        for name, process in list(self.stack.processes.items()):
            with contextlib.suppress(psutil.Error):
                parts[name] = psutil.Process(process.pid)
        if self.stack.postgres is not None:
            with contextlib.suppress(OSError, ValueError, psutil.Error):
                pid_file = self.stack.postgres.data_dir / "postmaster.pid"
                parts["postgres"] = psutil.Process(int(pid_file.read_text().split()[0]))
        if self.stack.kafka is not None:
            marker = str(self.stack.kafka.run_dir)
            for proc in psutil.process_iter(["cmdline"]):
                if any(marker in part for part in proc.info["cmdline"] or []):
                    parts.setdefault("kafka", proc)
        return parts

    def start(self) -> None:
        self.parts = self._parts()
        self.before = {name: _tree_cpu(proc) for name, proc in self.parts.items()}
        self.machine = psutil.cpu_times()
        self.started = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Cores used per part since `start`."""
        elapsed = time.monotonic() - self.started
        cores = {
            name: (_tree_cpu(proc) - self.before[name]) / elapsed
            for name, proc in self.parts.items()
        }
        after = psutil.cpu_times()
        busy = sum(getattr(after, f) - getattr(self.machine, f) for f in ("user", "system", "nice"))
        cores["machine"] = busy / elapsed
        return cores

    @contextlib.contextmanager
    def measuring(self) -> Iterator[dict[str, float]]:
        cores: dict[str, float] = {}
        self.start()
        try:
            yield cores
        finally:
            cores.update(self.stop())


async def group_lags(bootstrap: str, prefix: str) -> dict[str, int]:
    """Messages not yet committed, per consumer group whose name starts with `prefix`."""
    admin = create_admin(bootstrap_servers=bootstrap, client_id="bench-lag")
    consumer = create_consumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        committed: dict[str, dict[TopicPartition, int]] = {}
        partitions: set[TopicPartition] = set()
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            committed[group] = {tp: meta.offset for tp, meta in offsets.items()}
            partitions.update(offsets)
        ends = await consumer.end_offsets(list(partitions)) if partitions else {}
        return {
            group: sum(max(0, ends[tp] - offset) for tp, offset in offsets.items())
            for group, offsets in committed.items()
        }
    finally:
        await consumer.stop()
        await admin.close()


async def group_members(bootstrap: str, prefix: str) -> dict[str, int]:
    """Members of each consumer group whose name starts with `prefix`."""
    admin = create_admin(bootstrap_servers=bootstrap, client_id="bench-members")
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        found: dict[str, int] = {}
        for name in groups:
            # One group per request, so a response aiokafka cannot decode (it has failed with
            # "Buffer underrun decoding string" on a group mid-rebalance) costs that group
            # only; it is asked again, and left out if it keeps failing (the figure's note
            # names the groups that were described).
            for _ in range(5):
                try:
                    responses = await admin.describe_consumer_groups([name])
                except KafkaError:
                    await asyncio.sleep(1)
                    continue
                for response in responses:
                    for group in response.groups:
                        # (error_code, group_id, state, protocol_type, protocol, members, ...)
                        found[str(group[1])] = len(group[5])
                break
        return found
    finally:
        await admin.close()


async def submitted_counts(bootstrap: str, topic: str, ids: set[str]) -> dict[str, int]:
    """How many `aid_request.submitted` events the topic holds for each of `ids`."""
    counts: Counter[str] = Counter()
    for record in await read_to_end(bootstrap, topic):
        event = orjson.loads(record.value or b"{}")
        subject = str(event.get("subject"))
        if "aid_request.submitted" in str(event.get("type", "")) and subject in ids:
            counts[subject] += 1
    return dict(counts)


async def stored_requests(database_url: str, ids: set[str]) -> set[str]:
    """Which of `ids` the requests service holds (each id is a primary key: at most once)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM humanitarian_requests.aid_requests WHERE id = ANY($1::uuid[])",
            list(ids),
        )
        return {str(r["id"]) for r in rows}
    finally:
        await conn.close()


async def _count(database_url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def untriaged(database_url: str) -> int:
    """Requests stored but not yet triaged (the requests service's triage worker follows
    intake's commit; until it has run, a request has no duplicate link and no offer)."""
    return await _count(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE status = 'submitted'",
    )


async def offered_count(database_url: str, ids: set[str]) -> int:
    """How many of `ids` the requests service has offered to an NGO (now or before)."""
    return await _count(
        database_url,
        "SELECT count(DISTINCT request_id) FROM humanitarian_requests.offers "
        "WHERE request_id = ANY($1::uuid[])",
        list(ids),
    )


async def unpublished(database_url: str) -> int:
    return await _count(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.outbox "
        "WHERE published_at IS NULL AND failed_at IS NULL",
    )


@dataclass
class Drain:
    """How fast a backlog went: from the last sample before it moved to the first at zero."""

    backlog: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.backlog / self.seconds if self.seconds > 0 else float("nan")


def drain_of(samples: list[tuple[float, int]]) -> Drain:
    initial = max(count for _, count in samples)
    moving = max(i for i, (_, count) in enumerate(samples) if count == initial)
    finished = next(t for t, count in samples[moving:] if count == 0)
    return Drain(initial, finished - samples[moving][0])


async def poll_until_zero(
    read: Callable[[], Any], *, every: float, timeout: float
) -> list[tuple[float, int]]:
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while True:
        count = await read()
        samples.append((time.monotonic(), count))
        if count == 0 and len(samples) > 1:
            return samples
        if time.monotonic() > deadline:
            raise TimeoutError(f"backlog still {count} after {timeout} s")
        await asyncio.sleep(every)
