"""The history check: what every store holds, against what the field units were told.

After the faults, the whole system drains, then each store is read in full:
- the requests service's table (one row per client id, under the id the unit was given);
- the aid-request topic on Kafka, read from the beginning to its end offsets;
- monitoring's read model and its KPI totals, and its audit trail.

Four numbers must be 0:
- `lost`: acknowledged (the unit got a 2xx) but absent from a store;
- `duplicated`: an effect applied more than once (two rows for one client id, two different
  `submitted` events for one request, a read model counting a request twice, an audit entry
  twice);
- `phantom`: present but never attempted;
- `order`: an entity's events seen out of sequence by a consumer (after dropping redelivered
  copies of one event id, which at-least-once delivery allows and every consumer absorbs).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import asyncpg

from shared.events.envelope import CloudEvent
from shared.events.schemas.humanitarian_requests import AID_REQUEST_TOPIC
from shared.testing import read_to_end
from tests.chaos.load import LoadRecord

SUBMITTED = "concord.humanitarian_requests.aid_request.submitted.v1"


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    phantom: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, int]:
        return {
            "chaos_lost": len(self.lost),
            "chaos_duplicated": len(self.duplicated),
            "chaos_phantom": len(self.phantom),
            "chaos_order": len(self.order),
        }


async def read_topic(bootstrap: str, topic: str) -> list[tuple[int, bytes | None]]:
    """Every message of a topic, partition by partition, up to the end offsets at the start."""
    return [(record.partition, record.value) for record in await read_to_end(bootstrap, topic)]


async def check(record: LoadRecord, *, database_url: str, bootstrap: str) -> Findings:
    findings = Findings()
    acknowledged = record.acknowledged()
    attempted = record.attempted_client_ids
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id::text AS id, client_id FROM humanitarian_requests.aid_requests"
        )
        read_model = {
            r["request_id"]
            for r in await conn.fetch("SELECT request_id::text FROM monitoring.requests")
        }
        counted = await conn.fetchval(
            "SELECT coalesce(sum(requests), 0) FROM monitoring.status_totals"
        )
        audit = Counter(
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id::text FROM monitoring.audit_log WHERE event_type = $1", SUBMITTED
            )
        )
    finally:
        await conn.close()

    # The requests service's own table.
    by_client: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_client[row["client_id"]].append(row["id"])
        if row["client_id"] not in attempted:
            findings.phantom.append(f"row {row['id']} for client id {row['client_id']!r}")
    for client_id, ids in by_client.items():
        if len(ids) > 1:
            findings.duplicated.append(f"{len(ids)} rows for client id {client_id}")
    stored = {row["id"] for row in rows}
    for request_id, submission in acknowledged.items():
        if request_id not in stored:
            findings.lost.append(f"request {request_id} ({submission.client_id}) not stored")

    # The topic, as any consumer sees it.
    submitted: dict[str, set[str]] = defaultdict(set)
    seen_ids: set[str] = set()
    last_sequence: dict[str, int] = {}
    for _, value in await read_topic(bootstrap, AID_REQUEST_TOPIC.name):
        try:
            event = CloudEvent.from_json(value or b"")
        except ValueError:
            continue  # an injected poison message: consumers dead-letter it
        if str(event.id) in seen_ids:
            continue  # a redelivered copy (relay crash before marking): absorbed by the inbox
        seen_ids.add(str(event.id))
        subject = event.subject or ""
        sequence = int(event.sequence or 0)
        if subject in last_sequence and sequence <= last_sequence[subject]:
            findings.order.append(f"{subject}: sequence {sequence} after {last_sequence[subject]}")
        last_sequence[subject] = max(sequence, last_sequence.get(subject, 0))
        if event.type == SUBMITTED:
            submitted[subject].add(str(event.id))
            if subject not in stored:
                findings.phantom.append(f"submitted event for unknown request {subject}")
    for request_id in acknowledged:
        events = submitted.get(request_id, set())
        if not events:
            findings.lost.append(f"request {request_id}: no submitted event on Kafka")
        elif len(events) > 1:
            findings.duplicated.append(f"request {request_id}: {len(events)} submitted events")

    # Monitoring: the read model, its totals, the audit trail.
    for request_id in acknowledged:
        if request_id not in read_model:
            findings.lost.append(f"request {request_id}: not in monitoring's read model")
    if counted > len(read_model):
        findings.duplicated.append(
            f"KPI totals count {counted} requests, the read model has {len(read_model)}"
        )
    elif counted < len(read_model):
        findings.lost.append(
            f"KPI totals count {counted} requests, the read model has {len(read_model)}"
        )
    for request_id in acknowledged:
        for event_id in submitted.get(request_id, set()):
            if audit[event_id] == 0:
                findings.lost.append(f"event {event_id}: not in the audit trail")
    for event_id, count in audit.items():
        if count > 1:
            findings.duplicated.append(f"event {event_id}: {count} audit entries")
    return findings
