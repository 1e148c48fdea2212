"""The access audit: every read through monitoring that serves restricted records in full is
recorded in the read's own transaction, as a row in `access_log` and an
`access.restricted_read.v1` event through the outbox, so the audit trail chains it too.

Who (the token's subject and roles), what (the kind of record and its ids, or the export and
how many restricted records it held), when, and why (`purpose`). A coarsened read is not
recorded: nothing restricted was disclosed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.access_audit import repository
from services.monitoring.db.models import outbox
from shared.auth import Principal
from shared.events.schemas.monitoring import AccessedRecords, MonitoringRestrictedRead


async def record_restricted_read(
    session: AsyncSession,
    principal: Principal,
    *,
    route: str,
    records: AccessedRecords,
    entity_ids: Sequence[uuid.UUID] = (),
    export: str | None = None,
    restricted_records: int | None = None,
    purpose: str | None,
) -> MonitoringRestrictedRead | None:
    """Record one read; None (nothing recorded) when it served no restricted record."""
    ids = list(dict.fromkeys(entity_ids))
    count = len(ids) if restricted_records is None else restricted_records
    if count == 0:
        return None
    read = MonitoringRestrictedRead(
        access_id=uuid.uuid4(),
        actor=principal.subject,
        roles=sorted(role.value for role in principal.roles),
        route=route,
        records=records,
        entity_ids=ids,
        export=export,
        restricted_records=count,
        purpose=purpose,
        at=datetime.now(UTC),
    )
    await repository.add_access(
        session,
        access_id=read.access_id,
        subject=read.actor,
        roles=read.roles,
        route=route,
        records=records,
        entity_ids=ids,
        export=export,
        restricted_records=count,
        purpose=purpose,
        at=read.at,
    )
    await outbox.add(session, read, subject=read.access_id)
    return read
