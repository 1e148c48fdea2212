"""`make chaos`: faults during load through the real services, then check the whole history.

    python -m tests.chaos            # the full run (one broker, then three), <= 15 minutes
    python -m tests.chaos --quick    # a short run with every single-broker fault, <= 4 minutes

Self-contained like `make test`: it starts its own Postgres and Kafka in a temporary
directory, the four services as processes (as `make run` does), drives field units at them,
injects faults, drains every topic and read model, checks the history (see
`tests/chaos/history.py`), prints `name=value` lines and a table, and stops everything. It
exits 1 when any of chaos_lost, chaos_duplicated, chaos_phantom or chaos_order is above 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from deploy.services import ROOT, SERVICES
from deploy.stack import LocalStack, free_port_block, port_is_free
from services.humanitarian_requests.config import Settings as RequestsSettings
from services.monitoring.audit.handlers import AUDIT_GROUP
from services.monitoring.consumers import READ_MODEL_GROUP
from shared.auth import Role, issue_token
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC
from shared.testing import committed_to_end
from tests.chaos.faults import Faults
from tests.chaos.history import check
from tests.chaos.load import FieldUnits, LoadRecord

STARTED = time.monotonic()


def say(line: str) -> None:
    print(f"[chaos {time.monotonic() - STARTED:6.1f}s] {line}", flush=True)


async def schedule(faults: Faults, stack: LocalStack, *, quick: bool, brokers: int) -> None:
    """The faults, one after another, while the load runs."""
    requests_token = issue_token(
        RequestsSettings(), subject="chaos", roles=[Role.field_unit], unit_id="chaos-big"
    )
    requests_url = stack.service_url(next(s for s in SERVICES if s.name == "humanitarian_requests"))
    await asyncio.sleep(3)
    await faults.kill_service("humanitarian_requests")
    await faults.kill_service("monitoring")
    await faults.crash_at("humanitarian_requests", "relay.after_publish")
    await faults.crash_at("monitoring", "consumer.before_offset_commit")
    await faults.poison()
    status = await faults.oversized(requests_url, requests_token)
    if status < 400:
        say(f"the oversized report was accepted ({status}); the history check will say more")
    await faults.postgres_crash(down_for=5 if quick else 15)
    await faults.wait_ready("humanitarian_requests")
    await faults.broker_crash(down_for=15 if quick else 30, node=brokers)
    await faults.wait_ready("humanitarian_requests")
    if not quick:
        await faults.kill_service("ngo_registry")
        await faults.kill_service("joint_planning")
        await faults.kill_service("humanitarian_requests")
        await faults.rebalance_storm(rounds=4, every=4)
        await faults.rolling_restart()


async def drain(stack: LocalStack, timeout: float) -> None:
    """Wait until every request is triaged, the requests outbox is empty and monitoring has
    consumed the whole topic.

    Triage runs after intake's commit (the requests service's triage worker), and commits a
    request's outcome with its events in one transaction: once no request is `submitted`
    and the outbox is empty (one snapshot), no event of the load is still to come, and the
    history check reads stores that no longer change."""
    assert stack.database_url and stack.kafka_bootstrap_servers
    deadline = time.monotonic() + timeout
    said = time.monotonic()
    while True:
        untriaged: int | None = None
        backlog: int | None = None
        lagging: list[str] = []
        try:
            async with asyncio.timeout(30):
                conn = await asyncpg.connect(stack.database_url)
                try:
                    row = await conn.fetchrow(
                        "SELECT (SELECT count(*) FROM humanitarian_requests.aid_requests"
                        "        WHERE status = 'submitted') AS untriaged,"
                        "       (SELECT count(*) FROM humanitarian_requests.outbox"
                        "        WHERE published_at IS NULL AND failed_at IS NULL) AS backlog"
                    )
                    assert row is not None
                    untriaged, backlog = row["untriaged"], row["backlog"]
                finally:
                    await conn.close()
            for group in (READ_MODEL_GROUP, AUDIT_GROUP):
                if not await committed_to_end(
                    stack.kafka_bootstrap_servers, group, [AID_REQUEST_TOPIC.name]
                ):
                    lagging.append(group)
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            lagging.append(f"not checked: {error!r}")
        if untriaged == 0 and backlog == 0 and not lagging:
            return
        if time.monotonic() - said > 15:
            say(
                f"draining: untriaged {untriaged}, outbox backlog {backlog}, "
                f"behind: {lagging or 'none'}"
            )
            said = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"not drained after {timeout} s: untriaged {untriaged}, "
                f"outbox backlog {backlog}, behind: {lagging}"
            )
        await asyncio.sleep(1)


async def scenario(name: str, stack: LocalStack, *, quick: bool, brokers: int) -> dict[str, Any]:
    say(f"{name}: starting the four services")
    await asyncio.to_thread(stack.start_services)
    faults = Faults(stack, say)
    settings = RequestsSettings()
    tokens: dict[str, str] = {}

    def token_for(unit: str) -> str:
        if unit not in tokens:
            tokens[unit] = issue_token(
                settings, subject=unit, roles=[Role.field_unit], unit_id=unit
            )
        return tokens[unit]

    url = stack.service_url(next(s for s in SERVICES if s.name == "humanitarian_requests"))
    units = FieldUnits(url, token_for, rate=8 if quick else 10, duration=0, patience=180)
    load_task: asyncio.Task[LoadRecord] | None = None
    started = time.monotonic()
    fault_task = asyncio.create_task(schedule(faults, stack, quick=quick, brokers=brokers))
    # The load lasts as long as the faults do, plus a few calm seconds at the end.
    units.duration = 10_000
    load_task = asyncio.create_task(units.run())
    try:
        await fault_task
    finally:
        units.duration = time.monotonic() - started + 5
    record = await load_task
    say(f"{name}: load done ({len(record.submissions)} submissions); draining")
    await drain(stack, timeout=240)
    assert stack.database_url and stack.kafka_bootstrap_servers
    findings = await check(
        record, database_url=stack.database_url, bootstrap=stack.kafka_bootstrap_servers
    )
    for kind, items in (
        ("lost", findings.lost),
        ("duplicated", findings.duplicated),
        ("phantom", findings.phantom),
        ("order", findings.order),
    ):
        for item in items[:10]:
            say(f"{name}: {kind}: {item}")
    await asyncio.to_thread(stack.stop_services)
    figures: dict[str, Any] = {
        **findings.figures(),
        "chaos_submissions": len(record.submissions),
        "chaos_attempts": sum(len(s.attempts) for s in record.submissions),
        "chaos_acknowledged": len(record.acknowledged()),
        "chaos_unknown_outcomes": record.outcomes["unknown"],
        "chaos_5xx": sum(n for status, n in record.statuses.items() if status >= 500),
        "chaos_503": record.statuses[503],
        "chaos_never_acknowledged": sum(1 for s in record.submissions if not s.acknowledged),
        "chaos_faults": sum(faults.injected.values()),
        "chaos_fault_kinds": len(faults.injected),
    }
    figures["faults"] = dict(faults.injected)
    return figures


def stable_port_block(count: int) -> int:
    """Free ports below the kernel's ephemeral range: a service killed by a fault must get
    its port back, and a port from the ephemeral range can meanwhile become the local end
    of one of the load generator's own connections."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for base in range(20000, max(20001, low - count), 37):
        if all(port_is_free(base + i) for i in range(count)):
            return base
    return free_port_block(count)


def run_scenario(name: str, *, quick: bool, brokers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"concord-chaos-{name}-") as tmp:
        # base+0..3 the services, base+4..7 extra replicas, base+8 Postgres, base+10.. Kafka.
        ports = stable_port_block(10 + 2 * brokers)
        for index, spec in enumerate(SERVICES):
            os.environ[f"{spec.name.upper()}_PORT"] = str(ports + index)
        os.environ["KAFKA_REPLICATION_FACTOR"] = str(min(brokers, 3))
        stack = LocalStack(
            Path(tmp), postgres_port=ports + 8, kafka_port=ports + 10, kafka_nodes=brokers
        )
        stack.database_url = None
        stack.kafka_bootstrap_servers = None
        try:
            with stack.running():
                return asyncio.run(scenario(name, stack, quick=quick, brokers=brokers))
        finally:
            # The services' logs outlive the run, for whoever has to read why it failed.
            kept = ROOT / "test-artifacts" / f"chaos-{name}"
            shutil.rmtree(kept, ignore_errors=True)
            if (Path(tmp) / "logs").exists():
                shutil.copytree(Path(tmp) / "logs", kept)
                say(f"{name}: service logs kept in {kept}")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds through every `finally`, so the stack is stopped


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short run (<= 4 minutes)")
    args = parser.parse_args()
    os.environ.setdefault("CONCORD_ENV", "test")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    runs = [("one-broker", 1)] + ([] if args.quick else [("three-brokers", 3)])
    results = {
        name: run_scenario(name, quick=args.quick, brokers=brokers) for name, brokers in runs
    }
    failed = False
    print()
    print(f"{'figure':28}" + "".join(f"{name:>16}" for name in results))
    keys = [k for k in next(iter(results.values())) if k != "faults"]
    for key in keys:
        print(f"{key:28}" + "".join(f"{r[key]!s:>16}" for r in results.values()))
    for name, result in results.items():
        print(f"faults[{name}]: " + ", ".join(f"{k} x{v}" for k, v in result["faults"].items()))
    print()
    for key in keys:
        # Kinds of fault are per run (the same kinds repeat); everything else adds up.
        values = [int(r[key]) for r in results.values()]
        total = max(values) if key == "chaos_fault_kinds" else sum(values)
        print(f"{key}={total}")
        if key in {"chaos_lost", "chaos_duplicated", "chaos_phantom", "chaos_order"} and total:
            failed = True
    # A run that injected too few kinds of fault, or whose load never got through, proved
    # nothing: it fails as loudly as one that lost data.
    for name, result in results.items():
        if result["chaos_fault_kinds"] < 5 or result["chaos_acknowledged"] == 0:
            say(f"{name}: too few faults or no acknowledged submissions: the run proves nothing")
            failed = True
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
