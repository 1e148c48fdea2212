"""CAP messages from the audit trail: every SLA and incident event monitoring received.

The audit log already holds each event exactly as it arrived, in arrival order per entity
(one Kafka key, one partition), so the messages before an event — what its `references`
name — are the earlier rows with the same subject. Nothing new is stored for CAP.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.access import View, single_view
from services.monitoring.access_audit.service import record_restricted_read
from services.monitoring.cap import repository
from services.monitoring.cap.errors import CapMessageNotFound
from services.monitoring.cap.render import (
    AlertEvent,
    CapKind,
    Sent,
    identifier,
    message_type,
    render,
)
from shared.auth import Principal
from shared.events.schemas.humanitarian_requests import INCIDENT_TOPIC
from shared.events.schemas.monitoring import SLA_TOPIC, AccessedRecords
from shared.vocabulary import Sensitivity

TOPICS = {CapKind.sla: SLA_TOPIC.name, CapKind.security: INCIDENT_TOPIC.name}


async def list_messages(
    session: AsyncSession,
    *,
    kind: CapKind | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The CAP messages of a period, newest first, each with the URL of its XML."""
    topics = [TOPICS[kind]] if kind else list(TOPICS.values())
    rows = await repository.messages(session, topics=topics, since=since, until=until, limit=limit)
    result = []
    for row in rows:
        # The index only needs to know whether an earlier message exists (Alert or not).
        marker = (Sent(row.event_id, row.occurred_at),) if row.has_earlier else ()
        event = _event(row, earlier=marker)
        result.append(
            {
                "identifier": identifier(row.event_id),
                "kind": event.kind.value,
                "msg_type": message_type(event).value,
                "event_type": row.event_type,
                "subject": row.subject,
                "sent": row.occurred_at.isoformat(),
                "url": f"/api/cap/messages/{row.event_id}",
            }
        )
    return result


async def alert_event(session: AsyncSession, event_id: uuid.UUID) -> AlertEvent | None:
    """One audited SLA or incident event, with every earlier message about the same entity."""
    row = await repository.message(session, event_id, topics=TOPICS.values())
    if row is None:
        return None
    before = await repository.earlier_messages(
        session, subject=row.subject, topic=row.topic, position=row.position
    )
    return _event(row, earlier=tuple(Sent(e.event_id, e.occurred_at) for e in before))


async def cap_message(
    session: AsyncSession,
    principal: Principal,
    message_id: uuid.UUID,
    *,
    sender: str,
    purpose: str | None,
    route: str,
) -> tuple[bytes, Sensitivity]:
    """One CAP message as this reader may read it, and its class. A message about a
    restricted incident (or an SLA alert on a restricted request) rendered in full is
    recorded in the access log."""
    event = await alert_event(session, message_id)
    if event is None:
        raise CapMessageNotFound(f"No SLA or incident event {message_id}")
    view = single_view(principal)
    if event.data.get("sensitivity") == Sensitivity.restricted.value and view is View.full:
        about = (
            (AccessedRecords.aid_request, event.data["request_id"])
            if event.kind is CapKind.sla
            else (AccessedRecords.incident, event.data["incident_id"])
        )
        await record_restricted_read(
            session,
            principal,
            route=route,
            records=about[0],
            entity_ids=[uuid.UUID(str(about[1]))],
            purpose=purpose,
        )
    body = render(event, sender=sender, may_see_restricted=view is View.full)
    restricted = event.data.get("sensitivity") == Sensitivity.restricted.value
    # Coarsened, a restricted incident's message is what any staff role may read.
    shown = Sensitivity.restricted if restricted and view is View.full else Sensitivity.internal
    return body, shown


def _event(row: Any, *, earlier: tuple[Sent, ...]) -> AlertEvent:
    cloud_event = orjson.loads(row.canonical)
    return AlertEvent(
        event_id=row.event_id,
        event_type=row.event_type,
        subject=row.subject,
        sent=row.occurred_at,
        data=cloud_event["data"],
        earlier=earlier,
    )
