"""HTTP routes of data incidents: report one, then classify, contain, notify and close it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.ngo_registry.common.deps import AppSettings
from services.ngo_registry.data_incident import service
from services.ngo_registry.data_incident.schemas import (
    Classification,
    Closure,
    Containment,
    DataIncidentList,
    DataIncidentOut,
    DataIncidentReport,
    Notification,
)
from shared.auth import Principal, Role, policy
from shared.deps import MAX_OFFSET, DbSession
from shared.events.schemas.ngo_registry import DataIncidentStatus

router = APIRouter(prefix="/data-incidents", tags=["data incidents"])

# Anyone of the mission who notices a suspected exposure may report it; the data-protection
# roles (protection officers, administrators) read incidents and take the steps.
Reporter = Annotated[
    Principal, policy(Role.field_unit, Role.ops_centre, Role.protection_officer, Role.admin)
]
Handler = Annotated[Principal, policy(Role.protection_officer, Role.admin)]


@router.post("", status_code=201, response_model=DataIncidentOut)
async def report_data_incident(
    body: DataIncidentReport, session: DbSession, principal: Reporter
) -> DataIncidentOut:
    """Report a suspected data incident: what, when, which records, which recipients."""
    return await service.report(session, principal, body)


@router.get("", response_model=DataIncidentList)
async def list_data_incidents(
    session: DbSession,
    principal: Handler,
    status: DataIncidentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DataIncidentList:
    """Data incidents, newest first."""
    items = await service.page(session, status=status, limit=limit, offset=offset)
    return DataIncidentList(items=items, limit=limit, offset=offset)


@router.get("/{incident_id}", response_model=DataIncidentOut)
async def get_data_incident(
    incident_id: uuid.UUID, session: DbSession, principal: Handler
) -> DataIncidentOut:
    return await service.get(session, incident_id)


@router.post("/{incident_id}/classification", response_model=DataIncidentOut)
async def classify_data_incident(
    incident_id: uuid.UUID, body: Classification, session: DbSession, principal: Handler
) -> DataIncidentOut:
    """Give (or change) the incident's severity, with a reason."""
    return await service.classify(session, principal, incident_id, body)


@router.post("/{incident_id}/containment", response_model=DataIncidentOut)
async def contain_data_incident(
    incident_id: uuid.UUID,
    body: Containment,
    session: DbSession,
    principal: Handler,
    settings: AppSettings,
) -> DataIncidentOut:
    """Contain it: suspend every named NGO's access in this one step (vetting `suspended`:
    no offers, webhooks paused, Kafka credential removed by the provisioning component)."""
    return await service.contain(
        session, principal, incident_id, body, sanctions_file=settings.sanctions_file
    )


@router.post("/{incident_id}/notification", response_model=DataIncidentOut)
async def notify_data_incident(
    incident_id: uuid.UUID, body: Notification, session: DbSession, principal: Handler
) -> DataIncidentOut:
    """Record who was notified, and how."""
    return await service.notify(session, principal, incident_id, body)


@router.post("/{incident_id}/closure", response_model=DataIncidentOut)
async def close_data_incident(
    incident_id: uuid.UUID, body: Closure, session: DbSession, principal: Handler
) -> DataIncidentOut:
    """Close it, with the lessons learned."""
    return await service.close(session, principal, incident_id, body)
