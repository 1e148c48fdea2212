"""The tamper-evident audit log: an append-only hash chain over every consumed event.

Each row stores the event in canonical form (CloudEvent JSON with sorted keys, no spaces) and
`hash = sha256(prev_hash || canonical)`, where `prev_hash` is the previous row's hash (a fixed
genesis value for the first row). Changing any row's event, or deleting or reordering rows,
breaks the chain from that row on; `verify_chain` walks it and names the first broken link.
The indexed columns (subject, actor, type, time) are copies taken from the canonical text, so
verification also checks them: an edited actor column is caught like an edited event.
Re-hashing cannot see an event that never made it into the chain; `audit.gaps` records the
audit group's dead letters so that verification names those too.

Why an advisory lock: two replicas appending at once would both read the same last hash and
fork the chain. A transaction-scoped lock makes appends strictly one after another; it is
released when the consuming transaction commits or rolls back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.monitoring.db.models.audit import audit_log
from shared.events.envelope import CloudEvent

AUDIT_GROUP = "monitoring.audit"
"""The consumer group that chains every event (its dead letters are the chain's holes)."""

GENESIS_HASH = "0" * 64
_APPEND_LOCK = zlib.crc32(b"concord.monitoring.audit_log")

# Fields naming who caused a change, in the order they are trusted.
_ACTOR_FIELDS = ("actor", "decided_by", "terminated_by", "linked_by", "reporting_unit")


def canonical(event: CloudEvent) -> str:
    """The event as hashed: its JSON form with sorted keys and no whitespace."""
    document = event.model_dump(mode="json", exclude_none=True)
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def link_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_hash + canonical_text).encode()).hexdigest()


def actor_of(data: dict[str, Any]) -> str | None:
    for field in _ACTOR_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and value:
            return value
    return None


async def append(session: AsyncSession, event: CloudEvent, *, topic: str) -> str:
    """Append one event to the chain in the caller's transaction; returns its hash."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    prev = await session.scalar(
        select(audit_log.c.hash).order_by(audit_log.c.position.desc()).limit(1)
    )
    prev_hash = prev or GENESIS_HASH
    body = canonical(event)
    digest = link_hash(prev_hash, body)
    await session.execute(
        insert(audit_log).values(
            event_id=event.id,
            event_type=event.type,
            topic=topic,
            subject=event.subject,
            actor=actor_of(event.data),
            occurred_at=event.time,
            canonical=body,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return digest


@dataclass(frozen=True)
class BrokenLink:
    position: int
    event_id: str
    reason: str


@dataclass(frozen=True)
class MissingEvent:
    """An event the audit group dead-lettered instead of chaining (see `audit.gaps`)."""

    event_id: str | None  # None: the message was not even a CloudEvent
    event_type: str | None
    subject: str | None
    topic: str
    partition: int
    offset: int
    error: str
    failed_at: str | None

    @property
    def label(self) -> str:
        return self.event_id or f"{self.topic}:{self.partition}:{self.offset}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Verification:
    """`ok`: every link of the chain re-hashes. `complete`: no event is missing from it.

    A chain can be intact and still have holes — events the audit group dead-lettered were
    never linked in, so re-hashing cannot notice them; `missing` names them."""

    ok: bool
    checked: int
    last_hash: str
    first_broken: BrokenLink | None
    missing_count: int = 0
    missing: tuple[MissingEvent, ...] = ()

    @property
    def complete(self) -> bool:
        return self.missing_count == 0

    def summary(self) -> str:
        if self.first_broken is not None:
            broken = self.first_broken
            text = (
                f"audit chain BROKEN at position {broken.position} "
                f"(event {broken.event_id}): {broken.reason}"
            )
        else:
            text = f"audit chain intact: {self.checked} events"
        if not self.complete:
            shown = ", ".join(event.label for event in self.missing)
            more = self.missing_count - len(self.missing)
            text += f"; {self.missing_count} events missing (dead-lettered): {shown}" + (
                f" and {more} more" if more > 0 else ""
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        broken = self.first_broken
        return {
            "ok": self.ok,
            "complete": self.complete,
            "checked": self.checked,
            "last_hash": self.last_hash,
            "first_broken": None
            if broken is None
            else {
                "position": broken.position,
                "event_id": broken.event_id,
                "reason": broken.reason,
            },
            "missing_count": self.missing_count,
            "missing": [event.as_dict() for event in self.missing],
            "summary": self.summary(),
        }


def _check_row(row: Row[Any], expected_prev: str) -> str | None:
    """Why this row breaks the chain, or None when it is sound."""
    if row.prev_hash != expected_prev:
        return "prev_hash does not match the previous row's hash (a row was removed or reordered)"
    if link_hash(row.prev_hash, row.canonical) != row.hash:
        return "hash does not match the stored event (the event text was altered)"
    try:
        event = CloudEvent.model_validate_json(row.canonical)
    except ValueError:
        return "the stored event is not a CloudEvent"
    copies: dict[str, tuple[object, object]] = {
        "event_id": (row.event_id, event.id),
        "event_type": (row.event_type, event.type),
        "subject": (row.subject, event.subject),
        "actor": (row.actor, actor_of(event.data)),
        "occurred_at": (_instant(row.occurred_at), _instant(event.time)),
    }
    for column, (stored, derived) in copies.items():
        if stored != derived:
            return f"column {column} differs from the hashed event"
    return None


def _instant(value: datetime) -> float:
    return value.timestamp()


async def _rows(conn: AsyncConnection) -> AsyncIterator[Row[Any]]:
    # A server-side cursor: the chain may hold millions of rows.
    result = await conn.stream(
        select(audit_log).order_by(audit_log.c.position).execution_options(yield_per=2000)
    )
    async for row in result:
        yield row


async def verify_chain(conn: AsyncConnection) -> Verification:
    """Walk the whole chain in order and report the first broken link, if any."""
    expected = GENESIS_HASH
    checked = 0
    async for row in _rows(conn):
        reason = _check_row(row, expected)
        if reason is not None:
            broken = BrokenLink(position=row.position, event_id=str(row.event_id), reason=reason)
            return Verification(ok=False, checked=checked, last_hash=expected, first_broken=broken)
        expected = row.hash
        checked += 1
    return Verification(ok=True, checked=checked, last_hash=expected, first_broken=None)
