"""The transactional outbox and the relay that publishes it.

A service never publishes to Kafka from a request or a handler. It calls `Outbox.add(session,
data, subject=…)`, which writes the event into the `outbox` table of its own schema in the same
transaction as the state change: both commit or neither does. The relay then publishes
committed rows in outbox order with `acks=all` and marks them published.

Why a transaction-scoped advisory lock: several replicas of a service each run a relay. If two
published at once, each would send the same rows (a duplicate in normal operation) and rows of
one aggregate could overtake each other across instances. `pg_try_advisory_xact_lock` makes one
relay the publisher for the length of a batch; the others find the lock taken and wait for the
next notification. The lock dies with the transaction, so a relay that crashes hands over
without anyone cleaning up.

Why rows are marked after Kafka acknowledged them, in the same transaction that read them: a
crash between the acknowledgement and the commit leaves the rows unpublished, so the next
relay sends them again. Kafka then holds the event twice, with the same CloudEvents id, and the
consumers' inbox makes the second delivery a no-op. At-least-once out, exactly-once effect.

Why LISTEN/NOTIFY: a trigger notifies the relay when outbox rows commit, so an event leaves
within milliseconds rather than at the next poll. The poll stays as a fallback for a lost
listener connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    UnknownTopicOrPartitionError,
)
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared import tracing
from shared.errors import ConcordError, PayloadTooLarge, Unprocessable
from shared.events.asyncapi import schema_url
from shared.events.catalog import Audience, Catalog, EventType
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, service_source
from shared.events.schemas.backbone import parked_event_type, refused_event_type
from shared.faults import crash_point
from shared.logging import get_logger
from shared.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PARKED,
    OUTBOX_PARKED_ROWS,
    OUTBOX_PUBLISHED,
)
from shared.numbers import unrepresentable_number
from shared.retry import Backoff

log = get_logger(__name__)


MAX_MESSAGE_BYTES = 1_000_000
"""The largest event value the relay sends: under the producer's `max_request_size` and the
broker's `message.max.bytes` (both about 1 MiB by default), with room for headers."""

ENVELOPE_HEADROOM_BYTES = 256
"""What the relay adds to a stored envelope (its `sequence`), and a margin besides."""


class EventTooLarge(PayloadTooLarge):
    """The event a change would emit is over the broker's limit: refused before anything
    commits, so nothing is half-written and the relay never meets a row it cannot send."""

    problem_type = "event-too-large"
    title = "The event this request would emit is too large"


class EventNotRepresentable(Unprocessable):
    """The event would carry a number a JSON consumer cannot hold (not finite, or beyond
    2**53 - 1): refused, naming the event field, before anything commits."""

    problem_type = "number-out-of-range"
    title = "A number is out of the range an event can carry"


class _Unsendable(Exception):
    """An outbox row that Kafka could never take, whatever the retries."""


class RestrictedDataOnOpenTopic(ConcordError):
    """Raised when code tries to put restricted data on a topic NGOs may read: a bug, never
    a user error, so it fails the transaction loudly."""


def _outbox_table(metadata: MetaData) -> Table:
    published_at = Column("published_at", DateTime(timezone=True), nullable=True)
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("event_type", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("message_key", Text, nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        published_at,
        # A row the relay could never send: parked with its error, so the rows behind go on.
        Column("failed_at", DateTime(timezone=True), nullable=True),
        Column("failure", Text, nullable=True),
        Index("ix_outbox_unpublished", "id", postgresql_where=published_at.is_(None)),
    )


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


def notify_trigger_sql(schema: str) -> list[str]:
    """DDL for the trigger that wakes the relay; each service's first migration runs it."""
    channel = notify_channel(schema)
    return [
        f"""
        CREATE OR REPLACE FUNCTION {schema}.notify_outbox() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '');
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_outbox()
        """,
    ]


class Outbox:
    """The outbox table of one service's schema, and the one way to emit an event."""

    def __init__(
        self,
        metadata: MetaData,
        *,
        service: str,
        catalog: Catalog,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.table = _outbox_table(metadata)
        self.service = service
        self.catalog = catalog
        self.schema = metadata.schema or service
        self.max_message_bytes = max_message_bytes

    def envelope(
        self,
        data: BaseModel,
        *,
        subject: str | uuid.UUID,
        event_id: uuid.UUID | None = None,
        time: datetime | None = None,
    ) -> tuple[EventType, CloudEvent, dict[str, Any]]:
        """The CloudEvent for `data` and its JSON envelope, checked as `add` checks it."""
        entry = self.catalog.for_model(type(data))
        payload = data.model_dump(mode="json")
        field = unrepresentable_number(payload)
        if field is not None:
            raise EventNotRepresentable(
                f"{entry.name} cannot carry the number at data.{field}: events carry finite "
                f"numbers of at most 2**53 - 1",
                field=f"data.{field}",
            )
        if entry.topic.audience is Audience.ngo and _is_restricted(payload):
            raise RestrictedDataOnOpenTopic(
                f"{entry.name} carries restricted data and {entry.topic.name} is NGO-readable"
            )
        fields: dict[str, Any] = {
            "source": service_source(self.service),
            "type": entry.name,
            "subject": str(subject),
            "data": payload,
            "traceparent": tracing.current(),
            "dataschema": schema_url(entry.name),
        }
        if event_id is not None:
            fields["id"] = event_id
        if time is not None:
            fields["time"] = time
        event = CloudEvent(**fields)
        envelope = event.model_dump(mode="json", exclude_none=True)
        size = len(orjson.dumps(envelope)) + ENVELOPE_HEADROOM_BYTES
        if size > self.max_message_bytes:
            raise EventTooLarge(
                f"{entry.name} would be {size} bytes, over the {self.max_message_bytes} byte "
                "limit of an event: send less text",
                max_event_bytes=self.max_message_bytes,
            )
        return entry, event, envelope

    async def add(
        self,
        session: AsyncSession,
        data: BaseModel,
        *,
        subject: str | uuid.UUID,
        event_id: uuid.UUID | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        """Write an event in the caller's transaction. Type and topic come from the catalog.

        Raises `EventNotRepresentable` (422) or `EventTooLarge` (413) for an event the relay
        could never send; the caller's transaction then rolls back with everything in it."""
        try:
            entry, event, envelope = self.envelope(
                data, subject=subject, event_id=event_id, time=time
            )
        except RestrictedDataOnOpenTopic:
            await self._report_refusal(session, data, subject)
            raise
        await session.execute(
            insert(self.table).values(
                event_id=event.id,
                event_type=event.type,
                topic=entry.topic.name,
                message_key=event.subject,
                envelope=envelope,
            )
        )
        return event

    async def _report_refusal(
        self, session: AsyncSession, data: BaseModel, subject: str | uuid.UUID
    ) -> None:
        """Say that restricted data was refused, in a transaction of its own: the caller's
        rolls back (nothing leaks), and the refusal must outlive it to open a data incident
        (`concord.<service>.backbone.restricted_data_refused.v1`, consumed by the registry).
        A failure here is logged, never raised over the refusal itself."""
        refused = self.catalog.by_type(refused_event_type(self.service))
        bind = session.bind
        if refused is None or bind is None:
            return  # a catalog without backbone events (a test harness's own)
        entry = self.catalog.for_model(type(data))
        refusal_id = uuid.uuid4()
        report = refused.data_model.model_validate(
            {
                "service": self.service,
                "refusal_id": refusal_id,
                "event_type": entry.name,
                "topic": entry.topic.name,
                "subject": str(subject),
                "refused_at": datetime.now(UTC),
            }
        )
        engine = bind if isinstance(bind, AsyncEngine) else bind.engine
        try:
            _entry, event, envelope = self.envelope(report, subject=refusal_id)
            async with engine.begin() as conn:
                await conn.execute(
                    insert(self.table).values(
                        event_id=event.id,
                        event_type=event.type,
                        topic=refused.topic.name,
                        message_key=event.subject,
                        envelope=envelope,
                    )
                )
        except Exception as exc:  # the refusal is raised whatever happens here
            log.error("outbox.refusal_not_recorded", error=repr(exc), event_type=entry.name)
            return
        log.error(
            "outbox.restricted_data_refused",
            event_type=entry.name,
            topic=entry.topic.name,
            refusal_id=str(refusal_id),
        )

    async def record_backlog(self, engine: AsyncEngine) -> None:
        """Set the backlog gauges: rows waiting to be sent (parked rows are not waiting)."""
        table = self.table
        async with engine.connect() as conn:
            count, oldest = (
                await conn.execute(
                    select(func.count(), func.min(table.c.created_at)).where(
                        table.c.published_at.is_(None), table.c.failed_at.is_(None)
                    )
                )
            ).one()
            parked = await conn.scalar(
                select(func.count()).where(
                    table.c.published_at.is_(None), table.c.failed_at.is_not(None)
                )
            )
            now = await conn.scalar(select(func.now()))
        OUTBOX_BACKLOG.labels(self.service).set(count)
        OUTBOX_PARKED_ROWS.labels(self.service).set(parked or 0)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)


def _is_restricted(payload: dict[str, Any]) -> bool:
    return payload.get("sensitivity") == "restricted"


class OutboxRelay:
    """Publishes committed outbox rows to Kafka, in order, and marks them published.

    Leadership is a session-level advisory lock held by one dedicated connection in
    autocommit mode, so no transaction stays open while the relay waits on Kafka. Rows are
    marked published through that same connection: a relay whose backend was killed (and so
    lost the lock to a new leader) fails on its next statement, marks nothing, and steps down.

    A row Kafka can never take (its envelope cannot be serialised, it is over the producer's
    size limit, its topic does not exist on a reachable cluster) is parked — marked failed with
    the error, counted, logged as an alert — and the rows behind it go on. Rows of a batch that
    Kafka did acknowledge are marked published even when others in the batch failed, so they
    are not re-sent forever.
    """

    def __init__(
        self,
        *,
        outbox: Outbox,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        listen_dsn: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        retention_seconds: float = 24 * 3600,
        send_timeout: float = 30.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.outbox = outbox
        self.engine = engine
        self.producer = producer
        self.listen_dsn = listen_dsn
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention_seconds = retention_seconds
        self.send_timeout = send_timeout
        self.max_message_bytes = max_message_bytes
        self.lock_key = zlib.crc32(f"concord.outbox.{outbox.schema}".encode())
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._leader: AsyncConnection | None = None
        self._last_cleanup = 0.0
        self.last_progress = time.monotonic()
        self.backoff = Backoff(base=0.1, cap=5.0)

    async def run(self) -> None:
        """Publish until cancelled. Failures back off and retry; nothing is dropped."""
        failures = 0
        try:
            while True:
                await self._ensure_listener()
                self._wake.clear()
                try:
                    published = await self.publish_batch()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    await self._step_down()
                    delay = self.backoff.delay(failures)
                    log.warning("outbox.publish_failed", error=repr(exc), retry_in=round(delay, 3))
                    await asyncio.sleep(delay)
                    continue
                if published >= self.batch_size:
                    continue
                await self._idle()
        finally:
            await self._step_down()

    async def close(self) -> None:
        await self._step_down()
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    def is_wedged(self, *, after_seconds: float) -> bool:
        """True when the relay made no progress (a batch or an idle check) for that long."""
        return time.monotonic() - self.last_progress > after_seconds

    async def _lead(self) -> AsyncConnection | None:
        """The leader connection, or None when another relay leads."""
        if self._leader is not None:
            # Proves the session (and so its lock) is still alive; raises if it was killed.
            await self._leader.execute(text("SELECT 1"))
            return self._leader
        conn = await self.engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            leader = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.lock_key}
            )
        except BaseException:
            await conn.close()
            raise
        if not leader:
            await conn.close()
            return None
        self._leader = conn
        return conn

    async def _step_down(self) -> None:
        conn, self._leader = self._leader, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            # Closing the session releases its advisory lock; a dead session is invalidated.
            await conn.invalidate()
            await conn.close()

    async def _park(self, conn: AsyncConnection, row: Any, failure: str) -> None:
        """Mark the row failed and, in the same statement, write the alert that says so into
        the outbox (the rows behind it go on; the parking is never silent). An alert that
        itself cannot be sent is parked without another alert."""
        table = self.outbox.table
        mark = (
            update(table)
            .where(table.c.id == row.id, table.c.failed_at.is_(None))
            .values(failed_at=func.now(), failure=failure)
        )
        alert_type = self.outbox.catalog.by_type(parked_event_type(self.outbox.service))
        if alert_type is None or row.event_type == alert_type.name:
            await conn.execute(mark)
            return
        alert = alert_type.data_model(
            service=self.outbox.service,
            row_id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            topic=row.topic,
            failure=failure,
            parked_at=datetime.now(UTC),
        )
        _, event, envelope = self.outbox.envelope(alert, subject=str(row.event_id))
        parked_row = mark.returning(table.c.id).cte("parked_row")
        await conn.execute(
            insert(table).from_select(
                ["event_id", "event_type", "topic", "message_key", "envelope"],
                select(
                    literal(event.id, Uuid),
                    literal(event.type, Text),
                    literal(alert_type.topic.name, Text),
                    literal(event.subject, Text),
                    literal(envelope, JSONB),
                ).select_from(parked_row),
            )
        )

    async def publish_batch(self) -> int:
        """Publish at most one batch; returns how many rows went out (0: none, or not leader)."""
        table = self.outbox.table
        conn = await self._lead()
        if conn is None:
            self.last_progress = time.monotonic()
            return 0
        rows = (
            await conn.execute(
                select(
                    table.c.id,
                    table.c.event_id,
                    table.c.event_type,
                    table.c.topic,
                    table.c.message_key,
                    table.c.envelope,
                )
                .where(table.c.published_at.is_(None), table.c.failed_at.is_(None))
                .order_by(table.c.id)
                .limit(self.batch_size)
            )
        ).all()
        if not rows:
            self.last_progress = time.monotonic()
            return 0
        parked: dict[int, str] = {}
        pending: dict[int, asyncio.Future[Any]] = {}
        # Send the whole batch before awaiting any acknowledgement: the producer keeps
        # per-partition order, and waiting row by row would cost a round trip each.
        for row in rows:
            try:
                value = self._serialise(row.envelope, row.id)
            except _Unsendable as exc:
                parked[row.id] = str(exc)
                continue
            try:
                pending[row.id] = await asyncio.wait_for(
                    self.producer.send(
                        row.topic,
                        value=value,
                        key=row.message_key.encode(),
                        headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
                    ),
                    timeout=self.send_timeout,
                )
            except (MessageSizeTooLargeError, InvalidTopicError) as exc:
                parked[row.id] = repr(exc)
            except UnknownTopicOrPartitionError as exc:
                if await self._topic_is_missing(row.topic):
                    parked[row.id] = f"topic {row.topic} does not exist: {exc!r}"
                else:
                    break  # the cluster is away: retry this row and the rest later
            except (KafkaError, TimeoutError):
                break
        acknowledged: list[int] = []
        if pending:
            done, _ = await asyncio.wait(pending.values(), timeout=self.send_timeout)
            for row_id, future in pending.items():
                if future not in done:
                    continue
                error = future.exception()
                if error is None:
                    acknowledged.append(row_id)
                elif isinstance(error, MessageSizeTooLargeError | InvalidTopicError):
                    parked[row_id] = repr(error)
        crash_point("relay.after_publish")
        # The marks go through the leader connection: if its session was killed meanwhile
        # (and a new leader took over), this raises and nothing is marked by a stale leader.
        if acknowledged:
            await conn.execute(
                update(table).where(table.c.id.in_(acknowledged)).values(published_at=func.now())
            )
        by_id = {row.id: row for row in rows}
        for row_id, failure in parked.items():
            await self._park(conn, by_id[row_id], failure[:2000])
            OUTBOX_PARKED.labels(self.outbox.service).inc()
            log.error(
                "outbox.row_parked", service=self.outbox.service, row_id=row_id, error=failure
            )
        self.last_progress = time.monotonic()
        OUTBOX_PUBLISHED.labels(self.outbox.service).inc(len(acknowledged))
        if len(acknowledged) + len(parked) < len(rows):
            raise KafkaConnectionError(
                f"{len(rows) - len(acknowledged) - len(parked)} rows not acknowledged in time"
            )
        log.debug("outbox.published", count=len(acknowledged), last_id=rows[-1].id)
        return len(acknowledged) + len(parked)

    def _serialise(self, envelope: dict[str, Any], row_id: int) -> bytes:
        body = dict(envelope)
        body["sequence"] = str(row_id)
        try:
            value = orjson.dumps(body)
        except (TypeError, ValueError) as exc:
            raise _Unsendable(f"envelope cannot be serialised: {exc!r}") from exc
        if len(value) > self.max_message_bytes:
            raise _Unsendable(
                f"envelope is {len(value)} bytes, over the {self.max_message_bytes} byte limit"
            )
        return value

    async def _topic_is_missing(self, topic: str) -> bool:
        try:
            async with asyncio.timeout(5):
                metadata = await self.producer.client.fetch_all_metadata()
        except (TimeoutError, KafkaError, OSError):
            return False
        return topic not in metadata.topics()

    async def _idle(self) -> None:
        await self.outbox.record_backlog(self.engine)
        await self._cleanup_if_due()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(self.listen_dsn)
            await self._listener.add_listener(
                notify_channel(self.outbox.schema), lambda *_: self._wake.set()
            )
        except (OSError, asyncpg.PostgresError) as exc:
            self._listener = None
            log.warning("outbox.listen_failed", error=repr(exc))

    async def _cleanup_if_due(self) -> None:
        if time.monotonic() - self._last_cleanup < 600:
            return
        self._last_cleanup = time.monotonic()
        table = self.outbox.table
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(table).where(
                    table.c.published_at
                    < func.now() - text(f"interval '{int(self.retention_seconds)} seconds'")
                )
            )
