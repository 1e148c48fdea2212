"""The data-incident workflow (IASC Operational Guidance on Data Responsibility, 2023:
"handle data incidents with a defined process").

    reported ──classify──▶ classified ──contain──▶ contained ──notify──▶ notified ──close──▶ closed
        └────────────contain─────────────┘            └───────────close──────────┘

Every step is one transaction: the incident row, a step row (who, when, what) and a full-state
event through the outbox (`concord.ngo_registry.data_incident.v1`, chained by monitoring's
audit trail). Containment suspends every NGO it names through the vetting workflow in the same
transaction, so the NGO's access ends at once everywhere its vetting counts: no new offers,
webhooks paused, its Kafka principal removed by the provisioning component, and the registry's
NGO topic tells every service.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.data_incident import repository
from services.ngo_registry.data_incident.errors import (
    DataIncidentNotFound,
    DataIncidentStepRefused,
    UnknownNgos,
)
from services.ngo_registry.data_incident.schemas import (
    Classification,
    Closure,
    Containment,
    DataIncidentOut,
    DataIncidentReport,
    Notification,
    RecordIn,
)
from services.ngo_registry.db.models import outbox
from services.ngo_registry.db.models.data_incidents import DataIncident
from services.ngo_registry.ngo import repository as ngo_repository
from services.ngo_registry.vetting.schemas import VettingAction, VettingActionName
from services.ngo_registry.vetting.service import apply_action
from shared.auth import Principal
from shared.events.schemas.backbone import RestrictedDataRefused
from shared.events.schemas.ngo_registry import (
    DataIncidentClassified,
    DataIncidentClosed,
    DataIncidentContained,
    DataIncidentNotified,
    DataIncidentReported,
    DataIncidentState,
    DataIncidentStatus,
    VettingStatus,
)

S = DataIncidentStatus

# The statuses each step may start from.
CLASSIFY_FROM = frozenset({S.reported, S.classified})
CONTAIN_FROM = frozenset({S.reported, S.classified, S.contained})
NOTIFY_FROM = frozenset({S.contained, S.notified})
CLOSE_FROM = frozenset({S.contained, S.notified})


def _view(incident: DataIncident, actor: str) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "status": incident.status,
        "summary": incident.summary,
        "occurred_at": incident.occurred_at,
        "discovered_at": incident.discovered_at,
        "records": incident.records,
        "recipients": incident.recipients,
        "severity": incident.severity,
        "revoked_ngo_ids": incident.revoked_ngo_ids,
        "notifications": incident.notifications,
        "lessons": incident.lessons,
        "reported_by": incident.reported_by,
        "actor": actor,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        "closed_at": incident.closed_at,
        "version": incident.version,
    }


def out(incident: DataIncident, actor: str | None = None) -> DataIncidentOut:
    return DataIncidentOut.model_validate(_view(incident, actor or incident.reported_by))


async def _record(
    session: AsyncSession,
    incident: DataIncident,
    event: type[DataIncidentState],
    *,
    action: str,
    actor: str,
    detail: dict[str, Any],
) -> DataIncidentOut:
    repository.add_step(session, incident, action=action, actor=actor, detail=detail)
    state = event.model_validate(_view(incident, actor))
    await outbox.add(session, state, subject=incident.id)
    await session.flush()
    return DataIncidentOut.model_validate(state.model_dump())


async def _unknown_ngos(session: AsyncSession, ngo_ids: list[uuid.UUID]) -> list[str]:
    return [str(i) for i in ngo_ids if await ngo_repository.get(session, i) is None]


async def report(
    session: AsyncSession, principal: Principal, body: DataIncidentReport
) -> DataIncidentOut:
    unknown = await _unknown_ngos(session, body.recipients)
    if unknown:
        raise UnknownNgos(f"Unknown recipients: {', '.join(unknown)}", ngo_ids=unknown)
    return await _open(session, body, reported_by=principal.subject)


async def _open(
    session: AsyncSession, body: DataIncidentReport, *, reported_by: str
) -> DataIncidentOut:
    now = datetime.now(UTC)
    incident = DataIncident(
        id=uuid.uuid4(),
        status=S.reported,
        summary=body.summary,
        occurred_at=body.occurred_at,
        discovered_at=body.discovered_at or now,
        records=[r.model_dump() for r in body.records],
        recipients=[str(r) for r in dict.fromkeys(body.recipients)],
        severity=None,
        revoked_ngo_ids=[],
        notifications=[],
        lessons=None,
        reported_by=reported_by,
        version=1,
        created_at=now,
        updated_at=now,
        closed_at=None,
    )
    session.add(incident)
    await session.flush()
    return await _record(
        session,
        incident,
        DataIncidentReported,
        action="report",
        actor=reported_by,
        detail={"records": len(incident.records), "recipients": incident.recipients},
    )


async def report_refusal(session: AsyncSession, refusal: RestrictedDataRefused) -> DataIncidentOut:
    """Open a data incident from a service's outbox refusing restricted data on an NGO
    topic: a suspected incident the system caught itself, before any NGO received anything
    (no recipients). Staff classify it (often `low`, the refusal having held) and close it
    with the lessons: which code path tried to publish what it should not have."""
    kind = refusal.event_type.split(".")[2] if refusal.event_type.count(".") >= 3 else "event"
    body = DataIncidentReport(
        summary=(
            f"The {refusal.service} outbox refused to publish {refusal.event_type} on the "
            f"NGO-readable topic {refusal.topic}: it carried restricted data. The change rolled "
            f"back and nothing was published (refusal {refusal.refusal_id})."
        ),
        occurred_at=refusal.refused_at,
        discovered_at=refusal.refused_at,
        records=[RecordIn(kind=kind, id=refusal.subject)],
        recipients=[],
    )
    return await _open(session, body, reported_by=f"system:{refusal.service}-outbox")


async def _step(
    session: AsyncSession, incident_id: uuid.UUID, allowed: frozenset[DataIncidentStatus], step: str
) -> DataIncident:
    incident = await repository.get(session, incident_id, lock=True)
    if incident is None:
        raise DataIncidentNotFound(f"No data incident {incident_id}")
    if incident.status not in allowed:
        raise DataIncidentStepRefused(
            f"Cannot {step} a data incident that is {incident.status}",
            current_status=incident.status,
            allowed_from=sorted(s.value for s in allowed),
        )
    incident.version += 1
    incident.updated_at = datetime.now(UTC)
    return incident


async def get(session: AsyncSession, incident_id: uuid.UUID) -> DataIncidentOut:
    incident = await repository.get(session, incident_id)
    if incident is None:
        raise DataIncidentNotFound(f"No data incident {incident_id}")
    return out(incident)


async def page(
    session: AsyncSession, *, status: DataIncidentStatus | None, limit: int, offset: int
) -> list[DataIncidentOut]:
    rows = await repository.page(session, status=status, limit=limit, offset=offset)
    return [out(row) for row in rows]


async def classify(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, body: Classification
) -> DataIncidentOut:
    incident = await _step(session, incident_id, CLASSIFY_FROM, "classify")
    incident.severity = body.severity.value
    incident.status = S.classified
    return await _record(
        session,
        incident,
        DataIncidentClassified,
        action="classify",
        actor=principal.subject,
        detail={"severity": body.severity.value, "reason": body.reason},
    )


async def contain(
    session: AsyncSession,
    principal: Principal,
    incident_id: uuid.UUID,
    body: Containment,
    *,
    sanctions_file: Path,
) -> DataIncidentOut:
    incident = await _step(session, incident_id, CONTAIN_FROM, "contain")
    targets = list(dict.fromkeys(body.revoke_ngo_ids))
    unknown = await _unknown_ngos(session, targets)
    if unknown:
        raise UnknownNgos(f"Unknown NGOs: {', '.join(unknown)}", ngo_ids=unknown)
    suspended, already = [], []
    for ngo_id in targets:
        ngo = await ngo_repository.get(session, ngo_id)
        assert ngo is not None
        if ngo.vetting_status == VettingStatus.vetted:
            await apply_action(
                session,
                principal,
                ngo_id,
                VettingAction(
                    action=VettingActionName.suspend,
                    reason=f"data incident {incident.id}: {body.reason}",
                ),
                sanctions_file=sanctions_file,
                if_match=None,
            )
            suspended.append(str(ngo_id))
        else:  # not vetted now (already suspended, rejected, expired): no access to revoke
            already.append(str(ngo_id))
    incident.revoked_ngo_ids = list(dict.fromkeys([*incident.revoked_ngo_ids, *suspended]))
    incident.status = S.contained
    return await _record(
        session,
        incident,
        DataIncidentContained,
        action="contain",
        actor=principal.subject,
        detail={"suspended": suspended, "not_vetted": already, "reason": body.reason},
    )


async def notify(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, body: Notification
) -> DataIncidentOut:
    incident = await _step(session, incident_id, NOTIFY_FROM, "notify")
    at = incident.updated_at.isoformat()
    incident.notifications = [
        *incident.notifications,
        *(
            {"recipient": n.recipient, "channel": n.channel, "notified_at": at}
            for n in body.notified
        ),
    ]
    incident.status = S.notified
    return await _record(
        session,
        incident,
        DataIncidentNotified,
        action="notify",
        actor=principal.subject,
        detail={"notified": [n.model_dump() for n in body.notified]},
    )


async def close(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, body: Closure
) -> DataIncidentOut:
    incident = await _step(session, incident_id, CLOSE_FROM, "close")
    incident.lessons = body.lessons
    incident.status = S.closed
    incident.closed_at = incident.updated_at
    return await _record(
        session,
        incident,
        DataIncidentClosed,
        action="close",
        actor=principal.subject,
        detail={"lessons_length": len(body.lessons)},
    )
