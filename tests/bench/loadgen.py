"""The load generator: its own process, so its CPU is not the service's and its clock is honest.

    python -m tests.bench.loadgen < spec.json

Two modes, as load testers distinguish them:

- `open`: requests leave at a fixed rate whatever the answers do (request *i* is due at
  `start + i / rate`). Latency is measured from that intended send time, not from when the
  request actually left, so a server that stalls is charged for every request that queued
  behind the stall (coordinated omission corrected). Connections are opened as needed, so a
  slow answer never delays the next request.
- `closed`: `concurrency` workers each send, wait for the answer, send again: the
  throughput the server sustains with that many requests in flight.

The HTTP/1.1 client is a minimal keep-alive one on asyncio streams: httpx costs a millisecond
or more of CPU per request, which on a 2-core machine the server would pay for. Every result
goes to stdout as one JSON line the moment it is known (`t` intended, `sent`, `done` are
`time.monotonic()`, one clock for every process on the machine), so the bench can follow
requests while the load runs; progress goes to stderr; the last line is the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.bench.workload import aid_request_body


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 as expected."""


# uvicorn closes a keep-alive connection after 5 s idle; reusing one it is closing would be
# the client's fault, not the server's, so a connection idle this long is not reused.
IDLE_REUSE_SECONDS = 3.0


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    @property
    def reusable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < IDLE_REUSE_SECONDS
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes, bool]:
        """Send one request; (status, body, keep-alive)."""
        self.writer.write(head + body)
        await self.writer.drain()
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise HttpError("connection closed before the answer") from exc
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            payload = b"".join(chunks)
        else:
            payload = b""
        return status, payload, headers.get("connection", "").lower() != "close"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class Spec:
    host: str
    port: int
    path: str
    mode: str  # "open" or "closed"
    method: str = "POST"
    body: str = "aid_request"  # "aid_request" or "none"
    rate: float = 0.0  # open: requests per second
    duration: float = 0.0  # open: seconds of load; closed: stop after this (0: no limit)
    concurrency: int = 16  # closed: requests in flight
    count: int = 0  # closed: stop after this many (0: no limit)
    tokens: list[str] = field(default_factory=list)  # one field unit each, used in turn
    key_prefix: str = "bench"
    first_index: int = 0  # workload index of the first request (distinct places per phase)
    label: str = "load"
    timeout: float = 30.0
    # Several replicas behind no balancer: request i goes to ports[i % len(ports)] (round
    # robin, as a load balancer would spread them); empty means `port` alone.
    ports: list[int] = field(default_factory=list)

    def port_of(self, index: int) -> int:
        return self.ports[index % len(self.ports)] if self.ports else self.port


@dataclass
class Tally:
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


class Generator:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.idle: dict[int, list[Connection]] = {}  # per port
        self.tally = Tally()
        self.out = sys.stdout.buffer

    def _request(self, index: int) -> tuple[bytes, bytes]:
        spec = self.spec
        port = spec.port_of(index)
        headers = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {spec.host}:{port}"]
        body = b""
        if spec.body == "aid_request":
            key = f"{spec.key_prefix}-{index}"
            body = orjson.dumps(aid_request_body(spec.first_index + index, client_id=key))
            token = spec.tokens[index % len(spec.tokens)]
            headers += [
                f"Authorization: Bearer {token}",
                f"Idempotency-Key: {key}",
                "Content-Type: application/json",
            ]
        headers.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(headers) + "\r\n\r\n").encode(), body

    async def _connection(self, port: int) -> Connection:
        idle = self.idle.setdefault(port, [])
        while idle:
            connection = idle.pop()
            if connection.reusable:
                return connection
            connection.close()
        return await Connection.open(self.spec.host, port)

    async def one(self, index: int, intended: float) -> None:
        head, body = self._request(index)
        sent = time.monotonic()
        port = self.spec.port_of(index)
        record: dict[str, Any] = {"i": index, "t": intended, "sent": sent, "port": port}
        connection: Connection | None = None
        try:
            async with asyncio.timeout(self.spec.timeout):
                connection = await self._connection(port)
                status, payload, keep = await connection.request(head, body)
            record["status"] = status
            if keep:
                connection.idle_since = time.monotonic()
                self.idle.setdefault(port, []).append(connection)
            else:
                connection.close()
            if status in (200, 201) and self.spec.body == "aid_request":
                answer = orjson.loads(payload)
                record["id"] = answer.get("request_id")
                record["offered"] = answer.get("offered_ngo_id") is not None
        except (OSError, HttpError, TimeoutError, ValueError) as exc:
            if connection is not None:
                connection.close()
            record["status"] = 0
            record["error"] = type(exc).__name__
        record["done"] = time.monotonic()
        self.tally.done += 1
        self.tally.statuses[str(record["status"])] += 1
        self.out.write(orjson.dumps(record) + b"\n")
        self.out.flush()  # the bench follows requests live (the read-model poller)

    async def run_open(self) -> None:
        spec = self.spec
        total = int(spec.rate * spec.duration)
        start = time.monotonic() + 0.05
        tasks = set()
        for index in range(total):
            due = start + index / spec.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(index, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)

    async def run_closed(self) -> None:
        spec = self.spec
        counter = iter(range(spec.count if spec.count else 10**9))
        stop_at = time.monotonic() + spec.duration if spec.duration else float("inf")

        async def worker() -> None:
            for index in counter:
                if time.monotonic() >= stop_at:
                    return
                now = time.monotonic()
                await self.one(index, now)

        await asyncio.gather(*(worker() for _ in range(spec.concurrency)))

    async def progress(self) -> None:
        while True:
            await asyncio.sleep(2)
            self._say()

    def _say(self) -> None:
        elapsed = time.monotonic() - self.tally.started
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.tally.statuses.items()))
        print(
            f"  [{self.spec.label}] {elapsed:5.1f}s {self.tally.done} done "
            f"({self.tally.done / max(elapsed, 1e-9):.1f}/s) {statuses}",
            file=sys.stderr,
            flush=True,
        )

    async def run(self) -> None:
        ticker = asyncio.create_task(self.progress())
        self.tally = Tally()
        try:
            if self.spec.mode == "open":
                await self.run_open()
            else:
                await self.run_closed()
        finally:
            ticker.cancel()
            self._say()
            for idle in self.idle.values():
                for connection in idle:
                    connection.close()
        elapsed = time.monotonic() - self.tally.started
        summary = {"summary": {"elapsed": elapsed, "statuses": dict(self.tally.statuses)}}
        self.out.write(orjson.dumps(summary) + b"\n")
        self.out.flush()


def main() -> None:
    spec = Spec(**json.loads(sys.stdin.read()))
    asyncio.run(Generator(spec).run())


if __name__ == "__main__":
    main()
