"""Queries of the retention sweep: the records that are due, and their copies in the other
tables of the service (history, offers, access log, stored responses, outbox).

Record ids are bound as one array parameter (`= ANY(:ids)`), not an `IN` list: the first
sweep after a long period may purge more records than a statement may have parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, Uuid, and_, any_, delete, literal, null, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.db.models.tables import (
    AccessLogEntry,
    AidRequest,
    HistoryEntry,
    IdempotencyKey,
    Incident,
    Offer,
)
from shared.events.schemas.humanitarian_requests import RequestStatus
from shared.vocabulary import Sensitivity

NO_SYNC: dict[str, Any] = {"synchronize_session": False}
"""Bulk updates of rows the sweep never loads: nothing in the session to keep in step."""


def _ids(ids: Collection[uuid.UUID]) -> ColumnElement[Any]:
    return any_(literal(list(ids), ARRAY(Uuid)))


def _id_texts(ids: Collection[uuid.UUID]) -> ColumnElement[Any]:
    """The ids as text, for comparing with event keys and JSON fields."""
    return any_(literal([str(i) for i in ids], ARRAY(Text)))


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _due(
    model: type[AidRequest] | type[Incident], sensitivity: Sensitivity, cutoff: datetime
) -> ColumnElement[bool]:
    """Of the class, unchanged since before `cutoff`, and not purged since its last change."""
    return and_(
        model.sensitivity == sensitivity.value,
        model.updated_at < cutoff,
        or_(model.purged_at.is_(None), model.updated_at > model.purged_at),
    )


async def lock_due_requests(
    session: AsyncSession,
    sensitivity: Sensitivity,
    *,
    cutoff: datetime,
    statuses: Collection[RequestStatus],
) -> Sequence[AidRequest]:
    """Lock the due requests of the class in `statuses`; one that someone is changing now is
    skipped (it is due again at the next sweep)."""
    query = (
        select(AidRequest)
        .where(_due(AidRequest, sensitivity, cutoff), AidRequest.status.in_(list(statuses)))
        .order_by(AidRequest.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def lock_due_incidents(
    session: AsyncSession, sensitivity: Sensitivity, *, cutoff: datetime
) -> Sequence[Incident]:
    query = (
        select(Incident)
        .where(_due(Incident, sensitivity, cutoff))
        .order_by(Incident.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def strip_history_reasons(session: AsyncSession, entity_ids: Collection[uuid.UUID]) -> int:
    """Remove the typed `reason` from the history of these records (their offers' rows
    included: they carry the request's id); the transition, actor and time stay."""
    result = await session.execute(
        update(HistoryEntry)
        .where(HistoryEntry.entity_id == _ids(entity_ids), HistoryEntry.detail.has_key("reason"))
        .values(detail=HistoryEntry.detail.op("-", return_type=JSONB)("reason"))
        .execution_options(**NO_SYNC)
    )
    return _count(result)


async def strip_decline_reasons(session: AsyncSession, request_ids: Collection[uuid.UUID]) -> int:
    result = await session.execute(
        update(Offer)
        .where(Offer.request_id == _ids(request_ids), Offer.decline_reason.is_not(None))
        .values(decline_reason=None)
        .execution_options(**NO_SYNC)
    )
    return _count(result)


async def strip_access_purposes(session: AsyncSession, entity_ids: Collection[uuid.UUID]) -> int:
    result = await session.execute(
        update(AccessLogEntry)
        .where(AccessLogEntry.entity_id == _ids(entity_ids), AccessLogEntry.purpose.is_not(None))
        .values(purpose=None)
        .execution_options(**NO_SYNC)
    )
    return _count(result)


async def blank_stored_responses(
    session: AsyncSession, entity_ids: Collection[uuid.UUID], *, now: datetime
) -> int:
    """Blank the stored responses that showed these records: every POST about a request or an
    incident answers with its view (`request_id` / `incident_id` at the top, an offer's answer
    included). A batch's answer holds only ids and outcomes and is kept."""
    body = IdempotencyKey.response_body
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.purged_at.is_(None),
            or_(
                body["request_id"].astext == _id_texts(entity_ids),
                body["incident_id"].astext == _id_texts(entity_ids),
            ),
        )
        .values(response_body=null(), purged_at=now)
        .execution_options(**NO_SYNC)
    )
    return _count(result)


async def delete_outbox_leftovers(session: AsyncSession, entity_ids: Collection[uuid.UUID]) -> int:
    """Delete the outbox rows about these records that were published (Kafka has them; the
    relay would prune them later) or parked (a re-drive would publish the old state). An
    event is about a record when it is keyed by it (request, incident and open-listing
    events) or names it (`request_id` of an offer event, `entity_id` of an access event).
    Rows not yet sent stay: they are in flight, and the relay needs them."""
    table = outbox.table
    data = table.c.envelope["data"]
    result = await session.execute(
        delete(table).where(
            or_(table.c.published_at.is_not(None), table.c.failed_at.is_not(None)),
            or_(
                table.c.message_key == _id_texts(entity_ids),
                data["request_id"].astext == _id_texts(entity_ids),
                data["entity_id"].astext == _id_texts(entity_ids),
            ),
        )
    )
    return _count(result)
