"""The tamper-evident audit log: an append-only hash chain over every consumed event.

The chain runs over digests, so that a payload can be purged and the chain still verifies
(issue 13, retention). Each row keeps the event in canonical form (CloudEvent JSON with sorted
keys, no spaces) in `canonical`, its digest `payload_digest = sha256(canonical)`, and

    hash = sha256(prev_hash || header)

where `header` is the canonical JSON of the row's own columns (event id, type, topic, subject,
actor, time, sensitivity) with the payload digest, and `prev_hash` is the previous row's hash
(a fixed genesis value for the first row). Changing any column, the event, or deleting or
reordering rows breaks the chain from that row on; `verify_chain` walks it and names the first
broken link. While the payload is there, verification also checks it against its digest and
the columns against the payload. Purging (`purge_payloads`) removes the payload and stamps
`purged_at`; the digest stays, so the links still verify, and a payload missing without a
purge stamp is a broken link.

Redactable fields: some events are kept for the audit but carry one field retention must
remove on its own — the `purpose` a reader gave for a restricted read (`REDACTABLE_FIELDS`).
Such a field is committed to by a salted digest: the payload digest is taken over the event
with the field's value replaced by `{"redacted": "sha256:<sha256(salt || value)>"}` (its
*committed form*), and the salt is kept beside the row (`redaction_salt`). While the value is
there, verification rebuilds the committed form from the stored event and the salt; redaction
(`redact_fields`) stores the committed form itself and drops the salt, so the digest still
matches byte for byte, who/what/when stay readable and verified, and without the salt the
removed value cannot be guessed back from its digest. Rows chained before this (no salt) lose
their whole payload instead (`purge_payloads_with_redactable_fields`).

Re-hashing cannot see an event that never made it into the chain; `audit.gaps` records the
audit group's dead letters so that verification names those too.

Why an advisory lock: two replicas appending at once would both read the same last hash and
fork the chain. A transaction-scoped lock makes appends strictly one after another; it is
released when the consuming transaction commits or rolls back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Row, and_, cast, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.monitoring.db.models.audit import audit_log
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG

AUDIT_GROUP = "monitoring.audit"
"""The consumer group that chains every event (its dead letters are the chain's holes)."""

GENESIS_HASH = "0" * 64
_APPEND_LOCK = zlib.crc32(b"concord.monitoring.audit_log")

# Fields naming who caused a change, in the order they are trusted.
_ACTOR_FIELDS = ("actor", "decided_by", "terminated_by", "linked_by", "reporting_unit")


REDACTABLE_FIELDS = ("purpose",)
"""Fields of `data` that retention removes from an event the audit keeps (see above)."""
REDACTABLE_TYPES = sorted(
    entry.name
    for entry in CATALOG
    if any(field in entry.data_model.model_fields for field in REDACTABLE_FIELDS)
)
"""The catalog's event types that have one: the access audit's reads."""


def canonical(event: CloudEvent) -> str:
    """The event as hashed: its JSON form with sorted keys and no whitespace."""
    document = event.model_dump(mode="json", exclude_none=True)
    return _text(document)


def _text(document: Any) -> str:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def has_redactable(event: CloudEvent) -> bool:
    return event.type in REDACTABLE_TYPES and any(
        isinstance(event.data.get(field), str) for field in REDACTABLE_FIELDS
    )


def committed_form(canonical_text: str, salt: str) -> str:
    """The event with each redactable value replaced by its salted digest: what the payload
    digest of a row with a `redaction_salt` is taken over, and what redaction stores."""
    document = orjson.loads(canonical_text)
    data = dict(document.get("data") or {})
    for field in REDACTABLE_FIELDS:
        value = data.get(field)
        if isinstance(value, str):
            digest = hashlib.sha256((salt + value).encode()).hexdigest()
            data[field] = {"redacted": f"sha256:{digest}"}
    return _text(document | {"data": data})


def payload_digest(canonical_text: str) -> str:
    return hashlib.sha256(canonical_text.encode()).hexdigest()


def link_hash(prev_hash: str, header: dict[str, Any]) -> str:
    """The row's hash from the previous one and its own columns (the payload by digest)."""
    text_ = orjson.dumps(header, option=orjson.OPT_SORT_KEYS).decode()
    return hashlib.sha256((prev_hash + text_).encode()).hexdigest()


def header_of(
    *,
    event_id: Any,
    event_type: str,
    topic: str,
    subject: str,
    actor: str | None,
    occurred_at: datetime,
    sensitivity: str | None,
    digest: str,
) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "event_type": event_type,
        "topic": topic,
        "subject": subject,
        "actor": actor,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "sensitivity": sensitivity,
        "payload_digest": digest,
    }


def sensitivity_of(data: dict[str, Any]) -> str | None:
    value = data.get("sensitivity")
    return value if isinstance(value, str) else None


def actor_of(data: dict[str, Any]) -> str | None:
    for field in _ACTOR_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and value:
            return value
    return None


async def append(session: AsyncSession, event: CloudEvent, *, topic: str) -> str:
    """Append one event to the chain in the caller's transaction; returns its hash."""
    prev_hash = await _chain_head(session)
    body = canonical(event)
    salt = secrets.token_hex(16) if has_redactable(event) else None
    columns: dict[str, Any] = {
        "event_id": event.id,
        "event_type": event.type,
        "topic": topic,
        "subject": event.subject,
        "actor": actor_of(event.data),
        "occurred_at": event.time,
        "sensitivity": sensitivity_of(event.data),
    }
    digest = payload_digest(body if salt is None else committed_form(body, salt))
    hash_ = link_hash(prev_hash, header_of(**columns, digest=digest))
    await session.execute(
        insert(audit_log).values(
            **columns,
            canonical=body,
            payload_digest=digest,
            redaction_salt=salt,
            prev_hash=prev_hash,
            hash=hash_,
        )
    )
    if session.in_nested_transaction():
        session.info.pop(_HEAD, None)  # kept or rolled back with its savepoint: read again
    else:
        session.info[_HEAD] = (session.sync_session.get_transaction(), hash_)
    return hash_


_HEAD = "monitoring.audit.chain_head"


async def _chain_head(session: AsyncSession) -> str:
    """The hash of the chain's last row, with the append lock held until the transaction
    ends: one appender at a time, so the head cannot move under us.

    A transaction that appends many events (a consumer batch) takes the lock and reads the
    head once: after its own append it holds the lock, so the head is the row it just wrote.
    That is remembered for the same transaction only, and forgotten by an append inside a
    savepoint, which may be released or rolled back."""
    transaction = session.sync_session.get_transaction()
    remembered = session.info.get(_HEAD)
    if (
        remembered is not None
        and transaction is not None
        and remembered[0] is transaction
        and not session.in_nested_transaction()
    ):
        return str(remembered[1])
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    prev = await session.scalar(
        select(audit_log.c.hash).order_by(audit_log.c.position.desc()).limit(1)
    )
    return prev or GENESIS_HASH


async def redact_fields(
    session: AsyncSession, *, occurred_before: datetime, batch: int = 500
) -> int:
    """Remove the redactable values of the rows older than the cut-off,
    keeping the rest of each event (the digest still matches); how many rows changed."""
    redacted = 0
    while True:
        rows = (
            await session.execute(
                select(audit_log.c.position, audit_log.c.canonical, audit_log.c.redaction_salt)
                .where(
                    audit_log.c.event_type.in_(REDACTABLE_TYPES),
                    audit_log.c.occurred_at < occurred_before,
                    audit_log.c.redaction_salt.is_not(None),
                    audit_log.c.canonical.is_not(None),
                )
                .order_by(audit_log.c.position)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            await session.execute(
                update(audit_log)
                .where(audit_log.c.position == row.position)
                .values(
                    canonical=committed_form(row.canonical, row.redaction_salt),
                    redaction_salt=None,
                    redacted_at=func.now(),
                )
            )
        redacted += len(rows)
        if len(rows) < batch:
            return redacted


async def purge_payloads_with_redactable_fields(
    session: AsyncSession, *, occurred_before: datetime
) -> int:
    """Rows of the redactable types chained before redaction existed (no salt) whose event
    still holds a redactable value: their whole payload goes (the header stays chained)."""
    data = cast(audit_log.c.canonical, JSONB)["data"]
    holds_value = or_(*(data[field].astext.is_not(None) for field in REDACTABLE_FIELDS))
    result = await session.execute(
        update(audit_log)
        .where(
            and_(
                audit_log.c.event_type.in_(REDACTABLE_TYPES),
                audit_log.c.occurred_at < occurred_before,
                audit_log.c.redaction_salt.is_(None),
                audit_log.c.redacted_at.is_(None),
                audit_log.c.canonical.is_not(None),
                holds_value,
            )
        )
        .values(canonical=None, purged_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_payloads(
    session: AsyncSession, *, sensitivity: str, occurred_before: datetime
) -> int:
    """Remove the payloads of the chain's `sensitivity` events older than the cut-off (the
    digests stay, so the chain still verifies); returns how many were purged."""
    result = await session.execute(
        update(audit_log)
        .where(
            audit_log.c.sensitivity == sensitivity,
            audit_log.c.occurred_at < occurred_before,
            audit_log.c.canonical.is_not(None),
        )
        .values(canonical=None, purged_at=func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


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
    if row.canonical is not None:
        hashed = (
            row.canonical
            if row.redaction_salt is None
            else committed_form(row.canonical, row.redaction_salt)
        )
        if payload_digest(hashed) != row.payload_digest:
            return "the stored event does not match its digest (the event text was altered)"
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
            "sensitivity": (row.sensitivity, sensitivity_of(event.data)),
        }
        for column, (stored, derived) in copies.items():
            if stored != derived:
                return f"column {column} differs from the hashed event"
    elif row.purged_at is None:
        return "the payload is gone without a purge"
    header = header_of(
        event_id=row.event_id,
        event_type=row.event_type,
        topic=row.topic,
        subject=row.subject,
        actor=row.actor,
        occurred_at=row.occurred_at,
        sensitivity=row.sensitivity,
        digest=row.payload_digest,
    )
    if link_hash(row.prev_hash, header) != row.hash:
        return "hash does not match the row (a column or the payload digest was altered)"
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
