"""The audit chain over digests: payloads apart from the links, so retention can purge a
payload and the chain still verifies (issue 13).

Adds `sensitivity`, `payload_digest` and `purged_at`, lets `canonical` be null (purged), and
re-links the existing rows under the new formula: first the old chain is verified (each
`hash = sha256(prev_hash || canonical)`), and the migration refuses to go on over a broken
one, so re-linking never launders an alteration. The formula is written out here, not
imported, so that this migration means the same thing whatever the code becomes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "monitoring"
GENESIS_HASH = "0" * 64


def _header(row: Any, sensitivity: str | None, digest: str) -> str:
    occurred_at: datetime = row.occurred_at
    header = {
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "topic": row.topic,
        "subject": row.subject,
        "actor": row.actor,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "sensitivity": sensitivity,
        "payload_digest": digest,
    }
    return orjson.dumps(header, option=orjson.OPT_SORT_KEYS).decode()


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN sensitivity text")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN payload_digest text")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN purged_at timestamptz")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ALTER COLUMN canonical DROP NOT NULL")
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT position, event_id, event_type, topic, subject, actor, occurred_at, "
            "canonical, prev_hash, hash FROM monitoring.audit_log ORDER BY position"
        )
    )
    old_prev = new_prev = GENESIS_HASH
    for row in rows.fetchall():
        old = hashlib.sha256((old_prev + row.canonical).encode()).hexdigest()
        if row.prev_hash != old_prev or row.hash != old:
            raise RuntimeError(
                f"audit chain broken at position {row.position}: not re-linking it; "
                "investigate with `python -m services.monitoring.audit verify` on 0008"
            )
        old_prev = row.hash
        data = json.loads(row.canonical).get("data")
        value = data.get("sensitivity") if isinstance(data, dict) else None
        sensitivity = value if isinstance(value, str) else None
        digest = hashlib.sha256(row.canonical.encode()).hexdigest()
        new_hash = hashlib.sha256(
            (new_prev + _header(row, sensitivity, digest)).encode()
        ).hexdigest()
        bind.execute(
            sa.text(
                "UPDATE monitoring.audit_log SET sensitivity = :s, payload_digest = :d, "
                "prev_hash = :p, hash = :h WHERE position = :pos"
            ),
            {"s": sensitivity, "d": digest, "p": new_prev, "h": new_hash, "pos": row.position},
        )
        new_prev = new_hash
    op.execute(f"ALTER TABLE {SCHEMA}.audit_log ALTER COLUMN payload_digest SET NOT NULL")
    op.execute(
        f"CREATE INDEX ix_audit_log_sensitivity_occurred_at "
        f"ON {SCHEMA}.audit_log (sensitivity, occurred_at)"
    )


def downgrade() -> None:
    raise NotImplementedError("the audit chain is not re-linked backwards")
