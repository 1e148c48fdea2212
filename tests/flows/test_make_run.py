"""`make run` end to end: the whole `python -m deploy.stack run` path as a newcomer runs it.

The stack runs as a subprocess on free ports with its own run directory (its own Postgres,
Kafka and four services — not the session fixtures'), seeds the demo mission, says it is
ready, and is then driven with the `concord` CLI: the simulator, a second seed (which must
create nothing), the audit check and a tail. SIGTERM must stop it all, leaving no process of
this run behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.demo.client import dev_token
from deploy.demo.data import NGOS
from deploy.demo.plans import MEETINGS, NOTIFICATIONS, OPERATIONS
from deploy.postgres import EmbeddedPostgres
from deploy.services import ROOT, SERVICES
from deploy.stack import free_port_block

READY_LINE = "Concord is running."
START_TIMEOUT = 420.0  # seconds; the demo seeding is most of it on a loaded machine


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    run_dir: Path
    output: Path
    env: dict[str, str]
    ports: dict[str, int]
    kafka: str

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def concord(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _stack_environment(ports: dict[str, int]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The session fixtures export their servers and the test broker's credentials; this
        # run starts its own, and its CLI reads the run's credentials from concord.env.
        if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
        and not key.endswith("_PORT")
        and not key.startswith(("KAFKA_SASL_", "KAFKA_SECURITY_", "KAFKA_SSL_"))
        and not key.endswith(("_KAFKA_USERNAME", "_KAFKA_PASSWORD"))
    }
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(CONCORD_ENV="dev", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return env


def _processes_of(run: RunningStack) -> list[str]:
    """Command lines of live processes that belong to this run (its dir or its ports)."""
    markers = [str(run.run_dir)] + [f"--port {p}" for p in run.ports.values()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if state != "Z" and any(m in cmdline for m in markers):
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def _stop(run: RunningStack, postgres_port: int) -> None:
    """Stop a run that a failed test left behind: SIGTERM first (the stack stops what it
    started), then SIGKILL its process group; Postgres daemonizes, so stop it by its data
    directory."""
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGTERM)
        try:
            run.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
    with contextlib.suppress(Exception):
        EmbeddedPostgres(run.run_dir / "postgres", port=postgres_port).stop()


@pytest.fixture(scope="module")
def running() -> Iterator[RunningStack]:
    base = free_port_block(8)
    ports = {spec.name: base + i for i, spec in enumerate(SERVICES)}
    # Not under pytest's basetemp: other pytest sessions on this machine prune old basetemps,
    # and this run's Postgres and Kafka live in this directory for minutes.
    run_dir = Path(tempfile.mkdtemp(prefix="concord-make-run-")) / "run"
    output = run_dir.parent / "stack.out"
    env = _stack_environment(ports)
    # The `concord` commands below find this run (its concord.env, its seeded marker) the way
    # they find a user's `make run`: through the run directory, here this run's own.
    env["CONCORD_RUN_DIR"] = str(run_dir)
    # Kafka takes two (broker, controller) and one more for its NGO listener (SASL_SSL).
    kafka_port, postgres_port, ngo_port = base + 4, base + 6, base + 7
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.stack", "run", "--run-dir", str(run_dir),
             "--kafka-port", str(kafka_port), "--postgres-port", str(postgres_port),
             "--kafka-ngo-port", str(ngo_port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    run = RunningStack(process, run_dir, output, env, ports, f"127.0.0.1:{kafka_port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in run.text():
            assert process.poll() is None, f"make run exited early:\n{run.text()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready:\n{run.text()[-3000:]}"
            time.sleep(0.5)
        yield run
    finally:
        _stop(run, postgres_port)
        shutil.rmtree(run_dir.parent, ignore_errors=True)


def _get(run: RunningStack, service: str, path: str, **params: Any) -> Any:
    token = dev_token(role="admin")
    response = httpx.get(
        run.url(service) + path,
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def test_ready_banner_names_where_to_look(running: RunningStack) -> None:
    text = running.text()
    assert "Demo mission seeded" in text, text[-2000:]
    assert f"{running.url('monitoring')}/" in text
    for name in running.ports:
        assert f"{running.url(name)}/docs" in text
    assert "concord tail" in text
    # Where NGOs connect: the TLS listener, and the local CA their clients trust, made on
    # this first run inside the run directory.
    ca = running.run_dir / "kafka" / "tls" / "ca.pem"
    assert "Kafka for NGOs" in text and "(SASL_SSL)" in text and str(ca) in text
    assert ca.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    for name in running.ports:
        response = httpx.get(running.url(name) + "/openapi.json", timeout=30)
        assert response.status_code == 200 and response.json()["paths"]


def test_demo_mission_is_visible_through_each_service(running: RunningStack) -> None:
    directory = _get(running, "ngo_registry", "/directory", limit=200)
    assert directory["total"] == len(NGOS) >= 25
    statuses = Counter(item["vetting_status"] for item in directory["items"])
    assert set(statuses) >= {"submitted", "under_review", "vetted", "rejected", "suspended"}
    assert sum(item["eligible"] for item in directory["items"]) >= 15

    active = _get(running, "ngo_registry", "/agreements", status="active", limit=200)
    soon = datetime.now(UTC).date() + timedelta(days=30)
    assert len(active) >= 15
    assert any(datetime.fromisoformat(a["ends_on"]).date() <= soon for a in active)
    assert _get(running, "ngo_registry", "/agreements", status="draft", limit=200)

    requests = _get(running, "humanitarian_requests", "/aid-requests", limit=500)["items"]
    by_status = Counter(r["status"] for r in requests)
    assert len(requests) >= 40
    assert by_status["fulfilled"] and by_status["accepted"] and by_status["offered"], by_status
    assert len(_get(running, "humanitarian_requests", "/incidents", limit=500)) >= 16

    def counted() -> bool:
        kpis = _get(running, "monitoring", "/api/kpis")
        return bool(
            kpis["requests_total"] >= 40
            and kpis["requests_fulfilled"] >= by_status["fulfilled"]
            and kpis["incidents_last_7_days"] >= 16
        )

    _wait_for(counted, "monitoring to count the seeded requests and incidents", timeout=120)

    # Joint planning: the operations at their demo status, with tasks, a meeting whose action
    # item became a task, and a movement in conflict with the active cholera response.
    operations = _get(running, "joint_planning", "/operations", limit=200)["items"]
    held = {o["operation_id"]: o for o in operations}
    for demo in OPERATIONS:
        assert held[str(demo.operation_id)]["status"] == demo.status, demo.key
        tasks = _get(running, "joint_planning", f"/operations/{demo.operation_id}/tasks")
        assert {str(t.task_id) for t in demo.tasks} <= {t["task_id"] for t in tasks}
    meeting = _get(running, "joint_planning", f"/meetings/{MEETINGS[0].meeting_id}")
    converted = [item for item in meeting["action_items"] if item["task_id"]]
    assert converted, meeting["action_items"]
    assert _get(running, "joint_planning", f"/tasks/{converted[0]['task_id']}")[
        "owner_participant_id"
    ]
    crossing = next(n for n in NOTIFICATIONS if n.conflicts_with)
    notification = _get(running, "joint_planning", f"/notifications/{crossing.notification_id}")
    expected = {str(o.operation_id) for o in OPERATIONS if o.key in crossing.conflicts_with}
    open_sources = {c["source_id"] for c in notification["conflicts"] if not c["cleared_at"]}
    assert expected <= open_sources, notification["conflicts"]
    assert notification["acknowledged_at"]

    def on_the_dashboard() -> bool:
        conflicts = _get(running, "monitoring", "/api/planning/conflicts", limit=500)
        overdue = _get(running, "monitoring", "/api/planning/overdue", limit=500)
        listed = {c["notification_id"] for c in conflicts["conflicts"]}
        demo_tasks = {str(t.task_id) for o in OPERATIONS for t in o.tasks if t.due_in_hours < 0}
        return str(crossing.notification_id) in listed and bool(
            demo_tasks & {t["task_id"] for t in overdue["tasks"]}
        )

    # The overdue sweep runs every minute.
    _wait_for(on_the_dashboard, "the conflict and the overdue task on the dashboard", timeout=150)
    page = httpx.get(running.url("monitoring") + "/", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_a_second_seed_creates_nothing(running: RunningStack) -> None:
    result = running.concord("seed", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    nothing_new = (
        r"seeded: 0 NGOs, 0 vetting steps, 0 agreements \(0 activated\), "
        r"0 requests, 0 incidents, 0 offer/delivery steps created, 0 joint planning steps"
    )
    assert re.search(nothing_new, result.stdout), result.stdout
    directory = _get(running, "ngo_registry", "/directory", limit=200)
    assert directory["total"] == len(NGOS)


def test_the_simulator_moves_requests_to_accepted_and_fulfilled(running: RunningStack) -> None:
    result = running.concord("simulate", "--rate", "2", "--duration", "8", "--seed", "7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "simulation done" in result.stdout

    def simulated() -> Counter[str]:
        items = _get(running, "humanitarian_requests", "/aid-requests", limit=500)["items"]
        return Counter(r["status"] for r in items if (r.get("client_id") or "").startswith("sim-"))

    statuses = _wait_for(
        lambda: (c := simulated())["fulfilled"] and (c["accepted"] + c["in_progress"]) and c,
        "simulated requests to be accepted and fulfilled",
        timeout=30,
    )
    assert sum(statuses.values()) >= 5, statuses
    # NGOs notified movements too (the first on the simulator's first report).
    assert "movement" in result.stdout, result.stdout
    notifications = _get(running, "joint_planning", "/notifications", limit=200)
    assert notifications["total"] > len(NOTIFICATIONS), notifications["total"]


def test_cli_verifies_the_audit_chain_and_tails_events(running: RunningStack) -> None:
    verified = running.concord("audit", "verify")
    assert verified.returncode == 0 and "audit chain intact" in verified.stdout, verified
    tailed = running.concord(
        "tail", "aid_request", "--from-beginning", "--type", "fulfilled", "--limit", "2",
        "--timeout", "60", "--bootstrap", running.kafka,
    )  # fmt: skip
    assert tailed.returncode == 0, tailed.stderr
    assert tailed.stdout.count("aid_request.fulfilled.v1") == 2, tailed.stdout


def test_sigterm_stops_everything(running: RunningStack) -> None:
    assert _processes_of(running), "the run's processes should be visible before stopping"
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=90) == 0
    assert "Stopped." in running.text()
    _wait_for(lambda: not _processes_of(running), "the run's processes to exit", 20)
    assert _processes_of(running) == []


def test_cli_says_in_one_line_when_nothing_runs(running: RunningStack) -> None:
    running.process.wait(timeout=90)
    result = running.concord("audit", "verify")
    assert result.returncode == 1
    assert "not reachable" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
