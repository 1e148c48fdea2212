"""`concord subscribe` against the test broker, as its own process, the way an NGO runs it.

The restart proof uses the stdout pipe: the test stops reading while the subscriber works
through a fetch larger than the pipe holds, so the subscriber is blocked in a write with
events printed (and their ids noted) but not committed when it is killed. The restarted
subscriber must print none of those, none that was committed, and every other event; the
marker event at the end and the group's offsets at the end offsets show it has read
everything there is.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition
from typer.testing import CliRunner

from deploy.cli import app
from deploy.cli.subscription import RecentIds
from deploy.kafka_provisioner import NgoAccess, ngo_principal
from deploy.stack import LocalStack
from services.humanitarian_requests.tests.helpers import publish_registry_events
from services.monitoring.tests.factories import eventually, ngo
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from shared.events.kafka import create_consumer as platform_consumer
from shared.events.kafka import create_producer
from shared.events.schemas.ngo_registry import VettingStatus
from shared.testing import committed_to_end
from tests.platform.test_kafka_ngo_access import ngo as ngo_state
from tests.platform.test_kafka_ngo_access import provisioned, provisioner

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "concord.ngo_registry.ngo.v1"
runner = CliRunner()


@dataclass(frozen=True)
class Published:
    event_id: str
    partition: int
    offset: int
    timestamp: int


def ngo_event(ngo_id: uuid.UUID, version: int = 1) -> CloudEvent:
    # Not vetted, no grants: the replicas that read this topic later get nothing to match.
    state = ngo(
        ngo_id=ngo_id, version=version, name="Subscriber test NGO", grants=[], eligible=False
    )
    return CloudEvent(
        source="/concord/ngo_registry",
        type="concord.ngo_registry.ngo.registered.v1",
        subject=str(ngo_id),
        time=datetime.now(UTC),
        data=state.model_dump(mode="json"),
    )


async def publish(
    bootstrap: str, events: Iterable[CloudEvent], *, timestamp_ms: int | None = None
) -> list[Published]:
    producer = create_producer(bootstrap, client_id="test-cli-subscribe")
    await producer.start()
    try:
        futures = [
            await producer.send(
                TOPIC,
                value=orjson.dumps(event.model_dump(mode="json", exclude_none=True)),
                key=event.subject.encode(),
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
                timestamp_ms=timestamp_ms,
            )
            for event in events
        ]
        sent = [await future for future in futures]
    finally:
        await producer.stop()
    ids = [str(event.id) for event in events]
    return [
        Published(i, meta.partition, meta.offset, meta.timestamp)
        for i, meta in zip(ids, sent, strict=True)
    ]


NO_CREDENTIALS = {
    name: ""
    for name in (
        "CONCORD_KAFKA_USERNAME",
        "CONCORD_KAFKA_PASSWORD",
        "CONCORD_KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SECURITY_PROTOCOL",
    )
}
"""The argument checks run without any credentials from the environment."""


def concord(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def read_line(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 90)
    assert line, (
        f"the subscriber stopped: {process.stderr.read().decode() if process.stderr else ''}"
    )
    return line.decode()


async def read_until(process: subprocess.Popen[bytes], event_id: str) -> list[str]:
    """The ids printed up to and including `event_id`."""
    printed: list[str] = []
    while not printed or printed[-1] != event_id:
        printed.append(json.loads(await read_line(process))["id"])
    return printed


def read_all(process: subprocess.Popen[bytes], printed: list[str]) -> None:
    """Append the id of each whole line the process prints, until it exits."""
    assert process.stdout is not None
    for line in iter(process.stdout.readline, b""):
        if line.endswith(b"\n"):
            printed.append(json.loads(line)["id"])


def complete_lines(output: bytes) -> list[str]:
    """The ids of the whole lines in `output` (a killed writer may leave half of one)."""
    lines = output.split(b"\n")[:-1]
    return [json.loads(line)["id"] for line in lines]


def bytes_in_pipe(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    buffer = bytearray(4)
    fcntl.ioctl(process.stdout.fileno(), termios.FIONREAD, buffer)
    return int.from_bytes(buffer, sys.byteorder)


async def committed(bootstrap: str, group: str, partitions: set[int]) -> dict[int, int]:
    consumer = platform_consumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        found = {p: await consumer.committed(TopicPartition(TOPIC, p)) for p in partitions}
    finally:
        await consumer.stop()
    return {p: offset for p, offset in found.items() if offset is not None}


def iso(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")


@pytest.mark.integration
async def test_killed_and_restarted_it_misses_and_repeats_no_committed_event(
    stack: LocalStack, kafka_bootstrap: str, tmp_path: Path
) -> None:
    group = f"ngo.{uuid.uuid4()}.resume"
    state = tmp_path / "subscribe.ids"
    args = ["subscribe", "--bootstrap", kafka_bootstrap, "--topic", TOPIC, "--group", group]
    args += ["--state", str(state)]

    # Batch 1 is delivered and committed by a run that stops on its own.
    first = await publish(kafka_bootstrap, [ngo_event(uuid.uuid4()) for _ in range(40)])
    since = iso(min(p.timestamp for p in first))
    run0 = concord(*args, "--from", since, "--limit", "40")
    out0, err0 = await asyncio.to_thread(run0.communicate, timeout=120)
    assert run0.returncode == 0, err0.decode()
    assert sorted(complete_lines(out0)) == sorted(p.event_id for p in first)
    partitions = {p.partition for p in first}
    after_batch1 = await committed(kafka_bootstrap, group, partitions)
    for p in first:
        assert after_batch1[p.partition] > p.offset

    # Batch 2 is one fetch, far larger than the pipe: the run blocks in a write mid-batch.
    second = await publish(kafka_bootstrap, [ngo_event(uuid.uuid4()) for _ in range(300)])
    run1 = concord(*args, "--from", since)
    try:

        async def half_the_pipe_is_printed() -> bool:
            return bytes_in_pipe(run1) >= 32_768

        await eventually(half_the_pipe_is_printed, timeout=90)
    finally:
        run1.send_signal(signal.SIGKILL)
        out1, _ = await asyncio.to_thread(run1.communicate, timeout=30)
    printed1 = complete_lines(out1)
    noted = set(state.read_text().split())
    at_kill = await committed(kafka_bootstrap, group, partitions | {p.partition for p in second})
    committed_ids = {
        p.event_id for p in [*first, *second] if p.offset < at_kill.get(p.partition, 0)
    }
    in_the_window = [i for i in printed1 if i in noted and i not in committed_ids]
    assert in_the_window, "the kill came after a commit, so the test proves nothing"
    assert not set(printed1) & {p.event_id for p in first}, "batch 1 was printed again"
    assert committed_ids <= set(printed1) | {p.event_id for p in first}

    # The restart prints the rest, then the marker; its commits reach the end offsets.
    marker = (await publish(kafka_bootstrap, [ngo_event(uuid.uuid4())]))[0]
    run2 = concord(*args, "--from", since)
    printed2: list[str] = []
    # Read all along: the marker may come before other partitions' events of the same fetch.
    reader = asyncio.ensure_future(asyncio.to_thread(read_all, run2, printed2))
    try:

        async def the_marker_is_printed() -> bool:
            return marker.event_id in printed2

        await eventually(the_marker_is_printed, timeout=90)
        await eventually(lambda: committed_to_end(kafka_bootstrap, group, [TOPIC]), timeout=60)
    finally:
        run2.send_signal(signal.SIGTERM)
        await asyncio.wait_for(reader, 30)
        returncode = await asyncio.to_thread(run2.wait, 30)
    assert run2.stderr is not None
    assert returncode == 0, run2.stderr.read().decode()

    assert not set(printed2) & committed_ids, "a committed event was printed again"
    assert not set(printed2) & set(in_the_window), "a printed, uncommitted event came again"
    everything = [p.event_id for p in [*first, *second, marker]]
    printed = complete_lines(out0) + printed1 + printed2
    assert {i for i in everything if i not in printed} == set(), "events are missing"
    # Only an event printed and killed before its id was noted may come twice (docs).
    repeated = {i for i in everything if printed.count(i) > 1}
    assert len(repeated) <= 1 and not repeated & noted
    assert printed2.count(marker.event_id) == 1


@pytest.mark.integration
async def test_from_a_time_starts_there(stack: LocalStack, kafka_bootstrap: str) -> None:
    ngo_id = uuid.uuid4()
    before = (await publish(kafka_bootstrap, [ngo_event(ngo_id, 1)]))[0]
    # Same key, so the same partition, after `before`, with a time of its own: 2 ms later, not
    # a second (an event dated ahead of the clock would fall inside the next test's `--from`).
    after = (
        await publish(kafka_bootstrap, [ngo_event(ngo_id, 2)], timestamp_ms=before.timestamp + 2)
    )[0]
    process = concord(
        "subscribe",
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        "ngo",
        "--from",
        iso(before.timestamp + 1),
    )
    try:
        printed = await read_until(process, after.event_id)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(process.communicate, timeout=30)
    assert process.returncode == 0, err.decode()
    assert before.event_id not in printed
    assert "no group" in err.decode()


class Receiver:
    """An HTTP endpoint that answers 503 to the first `failures` requests, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[tuple[str, bytes]] = []
        self.accepted: list[dict[str, object]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/events"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode().split("\r\n")
                headers = dict(
                    (k.strip().lower(), v.strip())
                    for k, _, v in (h.partition(":") for h in lines[1:])
                    if k
                )
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.attempts.append((headers.get("content-type", ""), body))
                if len(self.attempts) <= self.failures:
                    status = "503 Service Unavailable"
                else:
                    status = "204 No Content"
                    self.accepted.append(json.loads(body))
                writer.write(f"HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.mark.integration
async def test_forward_retries_until_the_receiver_accepts(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    ngo_id = uuid.uuid4()
    # From a time read off this process's clock before the events are sent (their CreateTime
    # is set from the same clock, later): not from the send's metadata, whose timestamp a
    # batched send does not always carry (then every partition was read from its start).
    since = int(datetime.now(UTC).timestamp() * 1000)
    events = await publish(kafka_bootstrap, [ngo_event(ngo_id, v) for v in (1, 2, 3)])
    receiver = Receiver(failures=2)
    async with receiver as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", "subscribe", "--bootstrap", kafka_bootstrap,
            "--topic", TOPIC, "--from", iso(since), "--forward", url, "--limit", "3",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert out == b"", "forwarded events are not printed"
    assert [e["id"] for e in receiver.accepted] == [p.event_id for p in events], [
        (e.get("type"), e.get("source"), e.get("subject"), e.get("time")) for e in receiver.accepted
    ]
    assert len(receiver.attempts) == 5
    assert {content_type for content_type, _ in receiver.attempts} == {CLOUDEVENTS_CONTENT_TYPE}
    assert "HTTP 503" in err.decode()


BAD_ARGUMENTS = [
    (["--group", "my-group"], "ngo.<ngo_id>.<purpose>"),
    (["--group", "ngo.not-a-uuid.sync"], "ngo.<ngo_id>.<purpose>"),
    (["--from", "yesterday"], "ISO 8601"),
    (["--topic", "no-such-topic"], "no-such-topic"),
    (["--forward", "ftp://example.org/x"], "http(s)"),
    (["--security-protocol", "SASL_SSL"], "--username and --password"),
    (["--username", "ngo-x", "--password", "p"], "SASL_SSL"),
    (["--security-protocol", "SSL3"], "PLAINTEXT"),
    (["--ca-file", "/nonexistent/ca.pem"], "ca.pem"),
    (["--limit", "0"], "--limit"),
]


@pytest.mark.parametrize(("arguments", "fragment"), BAD_ARGUMENTS, ids=lambda a: str(a))
def test_bad_arguments_are_a_clear_usage_error(arguments: list[str], fragment: str) -> None:
    result = runner.invoke(app, ["subscribe", *arguments], env=NO_CREDENTIALS)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert fragment in " ".join(result.stderr.replace("│", " ").split()), result.stderr
    assert result.stdout == ""


def test_a_bad_argument_exits_2_as_a_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "subscribe", "--group", "other.sync"],
        cwd=ROOT, capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert b"--group" in result.stderr and result.stdout == b""


def test_recent_ids_survive_a_restart_and_stay_bounded(tmp_path: Path) -> None:
    path = tmp_path / "ids"
    recent = RecentIds(path, capacity=3)
    for number in range(7):
        recent.add(f"id-{number}")
    recent.close()
    again = RecentIds(path, capacity=3)
    assert [f"id-{n}" in again for n in range(7)] == [False] * 4 + [True] * 3
    assert len(path.read_text().split()) < 6
    again.close()


@pytest.mark.integration
async def test_an_ngo_subscribes_over_tls_with_its_own_principal(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    """What an NGO runs: its own credential from `concord kafka-credentials`, the broker's
    NGO listener (SASL_SSL) and the mission's CA, nothing of the admin's."""
    if stack.kafka is None or stack.kafka.ngo_bootstrap_servers is None:
        pytest.skip("a broker this suite did not start: its NGO listener is not known here")
    ngo_id = uuid.uuid4()
    await publish_registry_events(kafka_bootstrap, [ngo_state(ngo_id, VettingStatus.vetted, 1)])
    async with provisioner(stack, kafka_bootstrap):
        await provisioned(kafka_bootstrap)
    async with NgoAccess(kafka_bootstrap, stack.admin_security()) as access:
        password = await access.issue(ngo_id)
    marker = (await publish(kafka_bootstrap, [ngo_event(uuid.uuid4())]))[0]

    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KAFKA_SASL_", "KAFKA_SECURITY_", "KAFKA_SSL_"))
    }
    environment.update(
        CONCORD_KAFKA_USERNAME=ngo_principal(ngo_id), CONCORD_KAFKA_PASSWORD=password
    )
    process = concord(
        "subscribe",
        "--bootstrap", stack.kafka.ngo_bootstrap_servers, "--security-protocol", "SASL_SSL",
        "--ca-file", str(stack.kafka.tls.ca_certificate), "--group", f"ngo.{ngo_id}.tls",
        "--topic", TOPIC, "--from", iso(marker.timestamp),
        env=environment,
    )  # fmt: skip
    try:
        printed = await read_until(process, marker.event_id)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(process.communicate, timeout=30)
    assert process.returncode == 0, err.decode()
    assert printed[-1] == marker.event_id and f"group ngo.{ngo_id}.tls" in err.decode()
