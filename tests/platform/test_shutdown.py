"""Graceful shutdown of a service process, as `make run` and docker-compose run it (uvicorn).

SIGTERM must stop new work, let requests in flight finish with their answer, and end the
process within a bounded time even when Kafka does not answer at all. The service runs here
against a database and a broker of this module only: it is frozen (SIGSTOP) to play a broker
that accepts connections and never replies, the worst kind of unreachable, and the service's
relay must not publish the session's shared outbox rows to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from deploy.kafka import LocalKafka
from deploy.kafka_access import provision_kafka
from deploy.services import ROOT, SERVICES
from deploy.stack import LocalStack, free_port_block
from services.humanitarian_requests.config import Settings as RequestsSettings
from services.humanitarian_requests.tests.helpers import aid_request_body
from shared.db import plain_dsn
from shared.testing import bearer

pytestmark = pytest.mark.integration

SHUTDOWN_BOUND_SECONDS = 30  # a bound on a hang, not a performance figure
SPEC = next(spec for spec in SERVICES if spec.name == "humanitarian_requests")


@dataclass
class Isolated:
    stack: LocalStack
    kafka: LocalKafka
    database_url: str

    @property
    def broker_pid(self) -> int:
        return int((Path(self.kafka.run_dir) / "node-1" / "pid").read_text().strip())


@pytest.fixture(scope="module")
def isolated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Isolated]:
    """A database of its own on the session's Postgres (migrated like prestart does) and a
    broker of its own."""
    run_dir = tmp_path_factory.mktemp("shutdown")
    name = f"concord_shutdown_{uuid.uuid4().hex[:8]}"
    own_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    # The databases only (no KAFKA_BOOTSTRAP_SERVERS): the broker is this test's own, and
    # provisioned below.
    environment = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    subprocess.run(
        [sys.executable, "-m", "deploy.prestart"],
        env={**environment, "DATABASE_URL": own_url},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    kafka = LocalKafka(run_dir / "kafka", port=free_port_block(2))
    kafka.start()
    stack = LocalStack(
        run_dir, database_url=own_url, kafka_bootstrap_servers=kafka.bootstrap_servers
    )
    # The stack's own broker: its services get this broker's credentials, and the admin
    # creates the topics and ACLs, as `make run` does.
    stack.kafka = kafka
    asyncio.run(
        provision_kafka(
            kafka.bootstrap_servers, kafka.security(), partitions=3, replication_factor=1
        )
    )
    isolated = Isolated(stack, kafka, own_url)
    try:
        yield isolated
    finally:
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            os.kill(isolated.broker_pid, signal.SIGCONT)
        stack.stop_services()
        kafka.stop()


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    name: str


@contextlib.asynccontextmanager
async def requests_service(isolated: Isolated) -> AsyncIterator[Running]:
    """The requests service as a uvicorn process, ready (database and Kafka reachable)."""
    port = free_port_block()
    name = f"{SPEC.name}-{port}"
    process = isolated.stack.start_service(
        SPEC, {"LOG_LEVEL": "INFO", "LOG_JSON": "false"}, name=name, port=port
    )
    service = Running(process, f"http://127.0.0.1:{port}", name)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=5) as http:
            async with asyncio.timeout(120):
                while True:
                    assert process.poll() is None, _log_tail(isolated, name)
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.3)
        yield service
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        isolated.stack.processes.pop(name, None)


def _log_tail(isolated: Isolated, name: str) -> str:
    log = isolated.stack.run_dir / "logs" / f"{name}.log"
    return log.read_text()[-4000:] if log.exists() else "(no log)"


async def _waiting_on_a_lock(admin: asyncpg.Connection) -> bool:
    waiting = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'humanitarian_requests' AND wait_event_type = 'Lock'"
    )
    return bool(waiting)


async def _stops_within_bound(isolated: Isolated, service: Running) -> None:
    """The process ends within the bound, through its own shutdown (the lifespan ran to its
    end). Uvicorn re-raises the signal it handled, so a clean exit reads -SIGTERM."""
    try:
        code = await asyncio.to_thread(service.process.wait, SHUTDOWN_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {SHUTDOWN_BOUND_SECONDS} s after SIGTERM")
    log = _log_tail(isolated, service.name)
    assert code in (0, -signal.SIGTERM), log
    assert "service.stopped" in log, log


async def test_sigterm_ends_the_process_in_bounded_time_while_kafka_does_not_answer(
    isolated: Isolated,
) -> None:
    as_unit = bearer(RequestsSettings(), "field_unit", unit_id=f"unit-{uuid.uuid4().hex[:8]}")
    async with (
        requests_service(isolated) as service,
        httpx.AsyncClient(base_url=service.url, timeout=30) as http,
    ):
        before = await http.post("/aid-requests", json=aid_request_body(), headers=as_unit)
        assert before.status_code == 201, before.text
        os.kill(isolated.broker_pid, signal.SIGSTOP)
        try:
            # Intake keeps answering; the relay now waits on a broker that never replies.
            during = await http.post("/aid-requests", json=aid_request_body(), headers=as_unit)
            assert during.status_code == 201, during.text
            service.process.send_signal(signal.SIGTERM)
            await _stops_within_bound(isolated, service)
        finally:
            os.kill(isolated.broker_pid, signal.SIGCONT)


async def test_a_request_in_flight_at_sigterm_completes_and_new_ones_are_refused(
    isolated: Isolated,
) -> None:
    unit = f"unit-{uuid.uuid4().hex[:8]}"
    as_unit = bearer(RequestsSettings(), "field_unit", unit_id=unit)
    key = uuid.uuid4().hex
    admin = await asyncpg.connect(plain_dsn(isolated.database_url))
    try:
        async with requests_service(isolated) as service:
            # Hold the request on a lock: another transaction claims its Idempotency-Key.
            holder = admin.transaction()
            await holder.start()
            await admin.execute(
                "INSERT INTO humanitarian_requests.idempotency_keys (scope, key, request_hash) "
                "VALUES ($1, $2, 'held by the test')",
                f"aid-requests|{unit}",
                key,
            )
            async with httpx.AsyncClient(base_url=service.url, timeout=60) as http:
                in_flight = asyncio.create_task(
                    http.post(
                        "/aid-requests",
                        json=aid_request_body(),
                        headers={**as_unit, "Idempotency-Key": key},
                    )
                )
                async with asyncio.timeout(30):
                    while True:
                        if await _waiting_on_a_lock(admin):
                            break
                        await asyncio.sleep(0.1)
                service.process.send_signal(signal.SIGTERM)
                # Work stops: new connections get no answer while the request is held. Each
                # probe opens a connection of its own; one the port still took from its backlog
                # and then closed unanswered is refused as surely as one it did not take.
                no_reuse = httpx.Limits(max_keepalive_connections=0)
                async with httpx.AsyncClient(
                    base_url=service.url, timeout=5, limits=no_reuse
                ) as fresh:
                    async with asyncio.timeout(SHUTDOWN_BOUND_SECONDS):
                        while True:
                            try:
                                await fresh.get("/healthz")
                            except (httpx.ConnectError, httpx.RemoteProtocolError):
                                break
                            await asyncio.sleep(0.1)
                assert not in_flight.done()
                await holder.rollback()
                response = await in_flight
            assert response.status_code == 201, response.text
            await _stops_within_bound(isolated, service)
        stored = await admin.fetchval(
            "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = $1",
            unit,
        )
        assert stored == 1
    finally:
        await admin.close()
