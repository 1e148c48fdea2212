"""Helpers for tests against the real stack: run an app in-process, sign tokens, read topics.

Nothing here fakes Kafka or Postgres; the test suite's session fixture starts real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import GroupCoordinatorNotAvailableError
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shared.auth import Role, issue_token
from shared.config import ServiceSettings
from shared.events.envelope import CloudEvent
from shared.events.kafka import create_admin, create_consumer, topic_partitions
from shared.gazetteer import gazetteer

SHARED_TEST_STATES = frozenset({"SS01", "SS02", "SS03"})
"""The states where any service's tests may put requests and incidents wherever they like.

Every test of the suite shares one broker, and joint planning deconflicts against every
incident on the incident topic: a request service test that scattered incidents over the
whole country would put a security incident next to a planning test's route. So scattered
places stay in these three states, and the planning tests work only in counties far from
them (see `services/joint_planning/tests/helpers.py`).
"""


def shared_test_counties() -> list[str]:
    """The counties of `SHARED_TEST_STATES`, in gazetteer order."""
    return [a.pcode for a in gazetteer().at_level(2) if a.parent in SHARED_TEST_STATES]


@asynccontextmanager
async def serve_in_process(
    app: FastAPI, *, ready_timeout: float = 60.0
) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (engine, producer, relay, consumers) and hand back a client.

    Waits until `/readyz` says the database and Kafka are reachable, so a test never races
    the runtime's connection to the broker.
    """
    async with (
        LifespanManager(app, startup_timeout=ready_timeout, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        deadline = time.monotonic() + ready_timeout
        while (await client.get("/readyz")).status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not become ready")
            await asyncio.sleep(0.1)
        yield client


@asynccontextmanager
async def serve_over_http(app: FastAPI, *, ready_timeout: float = 60.0) -> AsyncIterator[str]:
    """The app behind a real HTTP server on a free loopback port, lifespan included; hands
    back its base URL once `/readyz` answers 200. For what an in-process transport cannot
    do: a browser, or a streamed response that never ends (SSE)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        async with httpx.AsyncClient(base_url=base) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                if task.done() or time.monotonic() > deadline:
                    raise TimeoutError(f"the app at {base} did not become ready")
                await asyncio.sleep(0.1)
        yield base
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


def bearer(
    settings: ServiceSettings,
    role: Role | str,
    *,
    unit_id: str | None = None,
    ngo_id: uuid.UUID | str | None = None,
    subject: str | None = None,
    grants: list[str] | None = None,
) -> dict[str, str]:
    """An Authorization header for a principal with one role (and `grants`, if any)."""
    role = Role(role)
    if role is Role.field_unit and unit_id is None:
        unit_id = "unit-test"
    token = issue_token(
        settings,
        subject=subject or f"{role.value}-tester",
        roles=[role],
        unit_id=unit_id,
        ngo_id=ngo_id,
        grants=grants,
    )
    return {"Authorization": f"Bearer {token}"}


async def read_events(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    until: Callable[[list[CloudEvent]], bool],
    where: Callable[[CloudEvent], bool] = lambda _: True,
    timeout: float = 30.0,
) -> list[CloudEvent]:
    """Read the topics from the beginning and return the matching events, in the order each
    partition holds them, once `until(matching)` is true. Raises TimeoutError otherwise."""
    consumer = create_consumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await _partitions(consumer, topic))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        matching: list[CloudEvent] = []
        deadline = time.monotonic() + timeout
        while not until(matching):
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(matching)} matching events after {timeout} s")
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                for message in messages:
                    try:
                        event = CloudEvent.from_json(message.value or b"")
                    except ValueError:
                        continue
                    if where(event):
                        matching.append(event)
        return matching
    finally:
        await consumer.stop()


async def read_to_end(
    bootstrap_servers: str, topic: str, *, timeout: float = 300.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record `topic` holds now, raw (a dead-letter topic's are not all CloudEvents), in
    each partition's order: read from the beginning until each partition's position reaches
    its end offset at the start (not until a record at end - 1 is seen: the last offsets can
    hold a control record no consumer is given). Raises TimeoutError after `timeout`."""
    consumer = create_consumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(timeout):
            while behind := [p for p in partitions if await consumer.position(p) < ends[p]]:
                for tp, records in (await consumer.getmany(*behind, timeout_ms=1000)).items():
                    found.extend(r for r in records if r.offset < ends[tp])
        return found
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    found = await topic_partitions(consumer, topic)
    if not found:
        raise LookupError(f"topic {topic} does not exist")
    return found


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem document of an error response, after checking it is one."""
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers["content-type"],
        response.text,
    )
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and body["type"]
    return body


async def committed_to_end(
    bootstrap_servers: str, group_id: str, topics: Iterable[str], *, timeout: float = 30.0
) -> bool:
    """True once `group_id` has committed every message its topics hold (end offsets).

    The way to prove "nothing more will happen" without sleeping: a consumer commits a
    message's offset only after its effect (or its dead letter) is committed, so once the
    committed offsets reach the end offsets, every duplicate has been seen and absorbed.

    Reads the group's offsets through the admin API and the end offsets with a consumer of
    no group: looking never joins, disturbs or waits on the group being looked at. Each
    call is bounded by `timeout` (TimeoutError), so a caller's own deadline holds.
    """
    async with asyncio.timeout(timeout):
        admin = create_admin(bootstrap_servers=bootstrap_servers)
        consumer = create_consumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
        )
        await admin.start()
        try:
            await consumer.start()
            try:
                partitions = [
                    TopicPartition(topic, p)
                    for topic in topics
                    for p in sorted(await _partitions(consumer, topic))
                ]
                ends = await consumer.end_offsets(partitions)
            finally:
                await consumer.stop()
            try:
                committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
            except GroupCoordinatorNotAvailableError:
                # A fresh broker is still electing the coordinator of its offsets topic:
                # nothing is committed yet, which is "not yet", not an error.
                return False
        finally:
            await admin.close()
    for partition in partitions:
        done = committed.get(partition)
        if ends[partition] and (done is None or done.offset < ends[partition]):
            return False
    return True


async def committed_offset_total(bootstrap_servers: str, group_id: str) -> int:
    """The sum of every offset `group_id` has committed: it rises while the group works
    through a backlog, so a wait can tell "still catching up" from "stuck"."""
    admin = create_admin(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        try:
            committed = await admin.list_consumer_group_offsets(group_id)
        except GroupCoordinatorNotAvailableError:
            return 0
    finally:
        await admin.close()
    return sum(max(meta.offset, 0) for meta in committed.values())


async def end_offset_total(bootstrap_servers: str, topic: str) -> int:
    """How many messages a topic has ever held (the sum of its partitions' end offsets)."""
    consumer = create_consumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()
