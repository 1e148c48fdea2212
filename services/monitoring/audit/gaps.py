"""Holes in the audit trail: what the audit group dead-lettered, kept where verification sees it.

A message the audit consumer cannot chain (not a CloudEvent, or `append` keeps failing on
it) goes to the group's dead-letter topic `concord.dlq.monitoring.audit`, and the consumer
commits its offset only after the broker acknowledged that dead letter (see
`shared.events.inbox`). So the dead-letter topic holds every event the chain is missing, and
nothing else does: without reading it, a verification that re-hashes the chain would call a
chain with holes in it "intact".

`DeadLetterRecorder` reads that topic as a consumer group of its own and writes one
`audit_gaps` row per dead letter, keyed by where the lost message sits on its original
topic. Its offsets are committed after the rows, so a crash in between only repeats an insert
that does nothing. `verify_trail` walks the chain and adds the holes whose event is still
absent from it (a hole whose event was later replayed into the chain is filled).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from pydantic import ValidationError
from sqlalchemy import Text, and_, cast, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from services.monitoring.audit.chain import AUDIT_GROUP, MissingEvent, Verification, verify_chain
from services.monitoring.db.models.audit import audit_gaps, audit_log
from shared.events.catalog import dead_letter_topic
from shared.events.envelope import CloudEvent
from shared.events.kafka import create_consumer
from shared.logging import get_logger
from shared.retry import Backoff
from shared.runtime import ServiceRuntime
from shared.transient import is_transient

log = get_logger(__name__)

AUDIT_DEAD_LETTERS = dead_letter_topic(AUDIT_GROUP).name
RECORDER_GROUP = "monitoring.audit_gaps"


def _headers(message: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {
        name: value.decode(errors="replace")
        for name, value in (message.headers or ())
        if value is not None
    }


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _storable(value: str | None, limit: int = 4000) -> str | None:
    """Text as Postgres can keep it: a dead letter is often poison precisely because of what
    its text holds (a NUL character, which no Postgres text can store), and the hole it
    leaves must still be recorded."""
    if value is None:
        return None
    return value.replace("\x00", "\\u0000")[:limit]


def gap_row(message: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """The hole one dead letter leaves in the chain."""
    headers = _headers(message)
    try:
        origin = (
            headers["dlq.original_topic"],
            int(headers["dlq.original_partition"]),
            int(headers["dlq.original_offset"]),
        )
        error = headers.get("dlq.error", "")
    except (KeyError, ValueError):
        # Not written by the inbox: still a message the trail does not have. Its own place on
        # the dead-letter topic is the only key it has.
        origin = (message.topic, message.partition, message.offset)
        error = "a dead letter without its origin headers"
    try:
        event: CloudEvent | None = CloudEvent.from_json(message.value or b"")
    except (ValidationError, ValueError):
        event = None  # not a CloudEvent, or cut short by the dead-letter size cap
    return {
        "original_topic": _storable(origin[0]),
        "original_partition": origin[1],
        "original_offset": origin[2],
        "event_id": event.id if event else None,
        "event_type": _storable(event.type) if event else None,
        "subject": _storable(event.subject) if event else None,
        "error": _storable(error) or "",
        "failed_at": _parse_time(headers.get("dlq.failed_at")),
        "dead_letter_partition": message.partition,
        "dead_letter_offset": message.offset,
    }


async def record_gaps(
    sessionmaker: async_sessionmaker[AsyncSession], messages: list[ConsumerRecord[bytes, bytes]]
) -> int:
    """Record the dead letters' holes in one transaction; how many were new."""
    if not messages:
        return 0
    rows = [gap_row(message) for message in messages]
    async with sessionmaker() as session, session.begin():
        inserted = await session.scalars(
            insert(audit_gaps)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(audit_gaps.c.original_offset)
        )
        new = len(inserted.all())
    for row in rows:
        log.warning(
            "audit.gap_recorded",
            topic=row["original_topic"],
            partition=row["original_partition"],
            offset=row["original_offset"],
            event_id=str(row["event_id"]) if row["event_id"] else None,
            error=row["error"][:300],
        )
    return new


class DeadLetterRecorder:
    """A background task of monitoring's runtime: the audit group's dead letters → holes."""

    def __init__(self, *, batch_size: int = 200) -> None:
        self.batch_size = batch_size
        self.backoff = Backoff(base=0.2, cap=5.0)

    async def __call__(self, runtime: ServiceRuntime) -> None:
        # The runtime creates the dead-letter topic before it says Kafka is connected.
        await runtime.kafka_connected.wait()
        consumer = create_consumer(
            AUDIT_DEAD_LETTERS,
            bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
            security=runtime.kafka_security,
            group_id=RECORDER_GROUP,
            client_id=RECORDER_GROUP,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self.batch_size,
        )
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=self.batch_size)
                offsets: dict[TopicPartition, int] = {}
                for partition, messages in batches.items():
                    await self._record(runtime, messages)
                    offsets[partition] = messages[-1].offset + 1
                if not offsets:
                    continue
                try:
                    await consumer.commit(offsets)
                except (CommitFailedError, IllegalStateError) as exc:
                    # Revoked meanwhile: the new owner re-reads them; the inserts are no-ops.
                    log.warning("audit.gap_commit_after_revoke", error=repr(exc))
        finally:
            await consumer.stop()

    async def _record(
        self, runtime: ServiceRuntime, messages: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        # The database away is no reason to skip a hole: wait for it, offsets uncommitted.
        attempt = 0
        while True:
            try:
                await record_gaps(runtime.backbone_sessionmaker, messages)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                attempt += 1
                log.warning("audit.gap_waiting_for_database", attempt=attempt, error=repr(exc))
                await self.backoff.sleep(attempt)


def _hole_key() -> Any:
    """One key per missing event: its id, or (no id) where the message was."""
    return func.coalesce(
        cast(audit_gaps.c.event_id, Text),
        audit_gaps.c.original_topic
        + literal(":")
        + cast(audit_gaps.c.original_partition, Text)
        + literal(":")
        + cast(audit_gaps.c.original_offset, Text),
    )


async def missing_events(conn: AsyncConnection, *, limit: int) -> tuple[int, list[MissingEvent]]:
    """How many events the chain is missing, and the latest `limit` of them."""
    absent = or_(
        audit_gaps.c.event_id.is_(None),
        ~exists().where(and_(audit_log.c.event_id == audit_gaps.c.event_id)),
    )
    key = _hole_key().label("hole")
    holes = (
        select(audit_gaps, key)
        .where(absent)
        .ext(distinct_on(key))
        .order_by(key, audit_gaps.c.recorded_at)
        .subquery()
    )
    count = int(await conn.scalar(select(func.count()).select_from(holes)) or 0)
    rows = (
        await conn.execute(
            select(holes).order_by(holes.c.recorded_at.desc(), holes.c.hole).limit(limit)
        )
    ).all()
    return count, [
        MissingEvent(
            event_id=str(row.event_id) if row.event_id else None,
            event_type=row.event_type,
            subject=row.subject,
            topic=row.original_topic,
            partition=row.original_partition,
            offset=row.original_offset,
            error=row.error,
            failed_at=row.failed_at.isoformat() if row.failed_at else None,
        )
        for row in rows
    ]


async def verify_trail(conn: AsyncConnection, *, missing_limit: int = 100) -> Verification:
    """Re-hash the chain and say which dead-lettered events it is missing."""
    verification = await verify_chain(conn)
    count, missing = await missing_events(conn, limit=missing_limit)
    return dataclasses.replace(verification, missing_count=count, missing=tuple(missing))
