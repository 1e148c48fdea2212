"""What `concord subscribe` does, apart from its command line: follow topics, deliver, commit.

The promise to the NGO developer: every event is delivered (printed or forwarded) before its
offset is committed, and an event already delivered is not delivered again after a restart.
The first half is the order of the loop: deliver, note the id, then commit. The second half
needs the state file: a crash between a delivery and the commit that follows it leaves the
offset uncommitted, so the restarted subscriber reads the event again and finds its id among
the recently delivered ones. What remains is the instant between writing the event and
appending its id to the state file (two consecutive writes); a receiver that dedupes by
CloudEvent `id` absorbs even that. The same id check skips an event the outbox published
twice (delivery is at least once).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from shared.events.catalog import Audience
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE
from shared.events.kafka import KafkaSecurity, topic_partitions
from shared.events.kafka import create_consumer as create_kafka_consumer
from shared.events.schemas import CATALOG
from shared.retry import Backoff

SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
GROUP_PATTERN = re.compile(
    r"^ngo\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9._-]+$"
)
RECENT_IDS = 10_000  # far more than one fetch (the window between a delivery and its commit)
FETCH_RECORDS = 500


class SubscriptionError(Exception):
    """The subscription cannot start or go on for a reason the user can fix."""


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and how an NGO's principal authenticates to them."""

    bootstrap: str
    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"must be one of {', '.join(SECURITY_PROTOCOLS)}")
        if self.mechanism not in SASL_MECHANISMS:
            raise ValueError(f"SASL mechanism must be one of {', '.join(SASL_MECHANISMS)}")
        sasl = self.protocol.startswith("SASL_")
        if sasl and not (self.username and self.password):
            raise ValueError(f"{self.protocol} needs --username and --password")
        if not sasl and (self.username or self.password):
            raise ValueError("--username/--password need --security-protocol SASL_SSL")
        if self.cafile and self.protocol != "SASL_SSL":
            raise ValueError("--ca-file needs --security-protocol SASL_SSL")


def kafka_security(connection: KafkaConnection) -> KafkaSecurity:
    """The platform's client security for the connection's options."""
    return KafkaSecurity(
        protocol=connection.protocol,
        mechanism=connection.mechanism,
        username=connection.username,
        password=connection.password,
        cafile=connection.cafile,
    )


def create_consumer(
    connection: KafkaConnection, *, group_id: str | None, **options: Any
) -> AIOKafkaConsumer:
    return create_kafka_consumer(
        bootstrap_servers=connection.bootstrap,
        security=kafka_security(connection),
        group_id=group_id,
        enable_auto_commit=False,
        request_timeout_ms=15_000,
        **options,
    )


def ngo_topics() -> list[str]:
    """Every topic an NGO may read, from the catalog."""
    return sorted(t.name for t in CATALOG.topics() if t.audience is Audience.ngo)


def check_group(group: str) -> str:
    """A group of an NGO's own: `ngo.<ngo_id>.<purpose>` (the broker's ACLs allow no other)."""
    if not GROUP_PATTERN.match(group):
        raise ValueError("must be ngo.<ngo_id>.<purpose>, e.g. ngo.<your ngo_id>.sync")
    return group


def parse_time(value: str) -> datetime:
    """An ISO 8601 time (`2026-12-01T00:00Z`); without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO 8601 time, e.g. 2026-12-01T00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def default_state_file(group: str) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
    return base / "concord" / "subscribe" / f"{group}.ids"


class RecentIds:
    """The ids of the events delivered last, kept in memory and in an append-only file.

    A line per id, appended before the offset commit; the file is rewritten with only the
    newest `capacity` ids once it holds twice as many, so it stays small."""

    def __init__(self, path: Path | None, capacity: int = RECENT_IDS) -> None:
        self.path = path
        self.capacity = capacity
        self._order: deque[str] = deque(maxlen=capacity)
        self._ids: set[str] = set()
        self._lines = 0
        self._file: Any = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                lines = path.read_text(encoding="utf-8").splitlines()
                for line in lines[-capacity:]:
                    self._remember(line.strip())
                self._lines = len(lines)
            self._file = path.open("a", encoding="utf-8")

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def _remember(self, event_id: str) -> None:
        if not event_id or event_id in self._ids:
            return
        if len(self._order) == self.capacity:
            self._ids.discard(self._order[0])
        self._order.append(event_id)
        self._ids.add(event_id)

    def add(self, event_id: str) -> None:
        self._remember(event_id)
        if self._file is None:
            return
        self._file.write(event_id + "\n")
        self._file.flush()  # in the kernel: a killed process loses nothing written
        self._lines += 1
        if self._lines >= 2 * self.capacity:
            self._compact()

    def _compact(self) -> None:
        assert self.path is not None
        self._file.close()
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text("".join(f"{i}\n" for i in self._order), encoding="utf-8")
        os.replace(temporary, self.path)
        self._lines = len(self._order)
        self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Sink(Protocol):
    async def deliver(self, event_id: str, body: bytes) -> None: ...


class Stopped(Exception):
    """The subscriber was asked to stop while it was still trying to deliver."""


class PrintSink:
    """One compact JSON line per event on stdout (logs go to stderr)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout.buffer

    async def deliver(self, event_id: str, body: bytes) -> None:
        self.stream.write(body + b"\n")
        self.stream.flush()


class ForwardSink:
    """POST each event to a URL, again and again with backoff until it answers 2xx."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        stop: asyncio.Event,
        *,
        backoff: Backoff = Backoff(base=0.5, cap=30.0),
        log: Any = None,
    ) -> None:
        self.url = url
        self.client = client
        self.stop = stop
        self.backoff = backoff
        self.log = log or (lambda message: None)

    async def deliver(self, event_id: str, body: bytes) -> None:
        attempt = 0
        headers = {"content-type": CLOUDEVENTS_CONTENT_TYPE, "ce-id": event_id}
        while True:
            attempt += 1
            try:
                response = await self.client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return
                outcome = f"HTTP {response.status_code}"
            delay = self.backoff.delay(attempt)
            self.log(
                f"forward of {event_id} failed ({outcome}); attempt {attempt + 1} in {delay:.1f} s"
            )
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            except TimeoutError:
                continue
            raise Stopped


def event_id_of(body: bytes) -> tuple[str, bytes] | None:
    """The CloudEvent's id and its compact JSON, or None for a message that is not one."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        return None
    return event["id"], orjson.dumps(event)


class _StartPositions(ConsumerRebalanceListener):  # type: ignore[misc]
    """A partition the group has no committed offset for starts at `--from` (or the
    beginning); one it has resumes there. Offsets still to commit go in before a partition
    moves to another member."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.subscription.commit(only=set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        consumer = self.subscription.consumer
        fresh = [tp for tp in assigned if await consumer.committed(tp) is None]
        await self.subscription.seek_start(fresh)


class Subscription:
    """Follow `topics` and hand each new event to `sink`, committing after delivery."""

    def __init__(
        self,
        connection: KafkaConnection,
        topics: list[str],
        sink: Sink,
        *,
        group: str | None,
        start: datetime | None,
        recent: RecentIds,
        limit: int | None = None,
        log: Any = None,
    ) -> None:
        self.topics = topics
        self.bootstrap = connection.bootstrap
        self.sink = sink
        self.group = group
        self.start = start
        self.recent = recent
        self.limit = limit
        self.log = log or (lambda message: None)
        self.delivered = 0
        self.skipped = 0
        self.pending: dict[TopicPartition, int] = {}
        self.consumer = create_consumer(connection, group_id=group, auto_offset_reset="earliest")

    async def seek_start(self, partitions: list[TopicPartition]) -> None:
        if not partitions:
            return
        if self.start is None:
            if self.group is None:
                await self.consumer.seek_to_end(*partitions)
            else:
                await self.consumer.seek_to_beginning(*partitions)
            return
        at = int(self.start.timestamp() * 1000)
        found = await self.consumer.offsets_for_times({tp: at for tp in partitions})
        past = [tp for tp, hit in found.items() if hit is None]
        for tp, hit in found.items():
            if hit is not None:
                self.consumer.seek(tp, hit.offset)
        if past:  # nothing that recent yet: only what comes from now on
            await self.consumer.seek_to_end(*past)

    async def commit(self, only: set[TopicPartition] | None = None) -> None:
        if self.group is None or not self.pending:
            return
        chosen = {tp: o for tp, o in self.pending.items() if only is None or tp in only}
        if not chosen:
            return
        await self.consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in chosen.items()})
        for tp in chosen:
            self.pending.pop(tp, None)

    async def _partitions(self) -> list[TopicPartition]:
        missing = []
        found: list[TopicPartition] = []
        for topic in self.topics:
            partitions = await topic_partitions(self.consumer, topic, attempts=2)
            if not partitions:
                missing.append(topic)
                continue
            found.extend(TopicPartition(topic, p) for p in sorted(partitions))
        if missing:
            raise SubscriptionError(f"topic(s) not on the brokers (or not yours): {missing}")
        return found

    async def run(self, stop: asyncio.Event) -> int:
        """Deliver until `stop` is set or `limit` events are delivered; the number delivered."""
        try:
            await asyncio.wait_for(self.consumer.start(), 20)
        except (TimeoutError, KafkaError) as exc:
            await self.consumer.stop()
            self.recent.close()
            raise SubscriptionError(
                f"cannot reach Kafka at {self.bootstrap} ({type(exc).__name__}: {exc}); "
                "check --bootstrap and your credentials"
            ) from None
        try:
            if self.group is None:
                partitions = await self._partitions()
                self.consumer.assign(partitions)
                await self.seek_start(partitions)
            else:
                self.consumer.subscribe(topics=self.topics, listener=_StartPositions(self))
            await self._loop(stop)
            await self.commit()
        finally:
            await self.consumer.stop()
            self.recent.close()
        return self.delivered

    def _done(self, stop: asyncio.Event) -> bool:
        return stop.is_set() or (self.limit is not None and self.delivered >= self.limit)

    async def _loop(self, stop: asyncio.Event) -> None:
        while not self._done(stop):
            fetch = asyncio.ensure_future(
                self.consumer.getmany(timeout_ms=1000, max_records=FETCH_RECORDS)
            )
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                return
            batches: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]] = fetch.result()
            try:
                for tp, messages in batches.items():
                    for message in messages:
                        if self._done(stop):
                            return
                        await self._handle(message)
                        self.pending[tp] = message.offset + 1
            except Stopped:
                return
            finally:
                await self.commit()

    async def _handle(self, message: ConsumerRecord[Any, Any]) -> None:
        parsed = event_id_of(message.value) if message.value is not None else None
        if parsed is None:
            self.skipped += 1
            self.log(
                f"skipped a message that is not a CloudEvent: {message.topic} "
                f"partition {message.partition} offset {message.offset}"
            )
            return
        event_id, body = parsed
        if event_id in self.recent:
            return  # delivered already: a republished copy, or before a restart
        await self.sink.deliver(event_id, body)
        self.recent.add(event_id)
        self.delivered += 1
