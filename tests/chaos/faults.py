"""The faults `make chaos` injects while the field units keep posting.

Each fault is a real thing done to a real process: SIGKILL of a service, a service restarted
with a crash point so it dies between two steps of the backbone, Postgres stopped in
`immediate` mode (a crash, as its clients see it), a broker SIGKILLed and restarted, consumer
replicas added and removed (a rebalance storm), a poison message on a consumed topic, an
oversized report. Blocking work runs in a thread so the load never pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from deploy.services import SERVICES
from deploy.stack import LocalStack
from shared.events.kafka import create_producer
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC
from shared.faults import CRASH_ENV

SPEC = {spec.name: spec for spec in SERVICES}


class Faults:
    def __init__(self, stack: LocalStack, log: Callable[[str], None]) -> None:
        self.stack = stack
        self.injected: Counter[str] = Counter()
        self.log = log

    def _note(self, kind: str, detail: str = "") -> None:
        self.injected[kind] += 1
        self.log(f"fault: {kind} {detail}".rstrip())

    async def wait_ready(self, name: str, port: int | None = None, timeout: float = 120) -> None:
        spec = SPEC[name.split("#")[0]]
        url = f"http://127.0.0.1:{port or self.stack.service_port(spec)}/readyz"
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                process = self.stack.processes.get(name)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        raise TimeoutError(f"{name} not ready in {timeout} s")

    async def _start(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        await asyncio.to_thread(self.stack.start_service, SPEC[name], extra_env)

    def _kill(self, name: str) -> None:
        process = self.stack.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()

    async def kill_service(self, name: str, down_for: float = 1.0) -> None:
        self._kill(name)
        self._note("kill -9 service", name)
        await asyncio.sleep(down_for)
        await self._start(name)
        await self.wait_ready(name)

    async def crash_at(self, name: str, point: str, timeout: float = 120) -> None:
        """Restart `name` so that it dies at a crash point, then once more without it."""
        self._kill(name)
        await self._start(name, {CRASH_ENV: point})
        process = self.stack.processes[name]
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, timeout)
        if process.poll() is None:
            self._kill(name)  # the crash point was not reached in time: still a kill -9
            self._note("kill -9 service", f"{name} (crash point {point} not reached)")
        else:
            self._note(f"crash at {point}", name)
        await self._start(name)
        await self.wait_ready(name)

    async def rolling_restart(self) -> None:
        for spec in SERVICES:
            process = self.stack.processes[spec.name]
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 30)
            await self._start(spec.name)
            await self.wait_ready(spec.name)
        self._note("rolling restart", "every service, SIGTERM then start")

    async def postgres_crash(self, down_for: float) -> None:
        assert self.stack.postgres is not None
        await asyncio.to_thread(self.stack.postgres.stop, "immediate")
        self._note("postgres stopped (immediate)", f"for {down_for:.0f} s")
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.stack.postgres.start)

    async def broker_crash(self, down_for: float, node: int = 1) -> None:
        kafka = self.stack.kafka
        assert kafka is not None
        pid_file = Path(kafka.run_dir) / f"node-{node}" / "pid"
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
        self._note("broker kill -9", f"node {node} for {down_for:.0f} s")
        await asyncio.sleep(down_for)
        await asyncio.to_thread(kafka.start)

    async def rebalance_storm(self, rounds: int, every: float) -> None:
        """Extra replicas of monitoring join and leave its consumer groups, again and again."""
        spec = SPEC["monitoring"]
        for index in range(rounds):
            port = self.stack.service_port(SERVICES[0]) + 4 + index % 4
            name = f"monitoring#{index}"
            await asyncio.to_thread(self.stack.start_service, spec, None, name=name, port=port)
            await asyncio.sleep(every)
            self._kill(name)
            self.stack.processes.pop(name, None)
            await asyncio.sleep(every / 2)
        self._note("rebalance storm", f"{rounds} replicas joined and were killed")

    async def poison(self) -> None:
        assert self.stack.kafka_bootstrap_servers
        producer = create_producer(self.stack.kafka_bootstrap_servers, client_id="chaos-poison")
        await producer.start()
        try:
            for value in (b"{not json", b'{"specversion": "1.0", "type": "x"}'):
                await (await producer.send(AID_REQUEST_TOPIC.name, value, key=b"chaos-poison"))
        finally:
            await producer.stop()
        self._note("poison messages", "2 on the aid-request topic")

    async def oversized(self, base_url: str, token: str) -> int:
        body = {"client_id": "chaos-oversized", "title": "x" * 1_500_000}
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            response = await client.post(
                "/aid-requests",
                content=orjson.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        self._note("oversized report", f"answered {response.status_code}")
        return response.status_code
