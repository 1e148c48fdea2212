"""HTTP routes of incident reports (field units and the ops centre; never NGOs)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from services.humanitarian_requests.aid_request.schemas import HistoryView, ReclassifyIn
from services.humanitarian_requests.common.deps import AppSettings, IdempotencyKey, Purpose
from services.humanitarian_requests.common.errors import (
    IDEMPOTENCY_ERRORS,
    INTAKE_ERRORS,
    ReclassificationRefused,
    SelfLink,
    UnknownLinkTarget,
)
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.incident import service
from services.humanitarian_requests.incident.errors import IncidentNotFound
from services.humanitarian_requests.incident.schemas import IncidentIn, IncidentLinkIn, IncidentView
from shared.auth import RECLASSIFY_ROLES, Role, Tenant, policy
from shared.deps import MAX_OFFSET, CurrentPrincipal, DbSession
from shared.ratelimit import rate_limit
from shared.web import error_responses

router = APIRouter(
    prefix="/incidents",
    tags=["incidents"],
    dependencies=[
        policy(
            Role.field_unit,
            Role.ops_centre,
            Role.admin,
            Role.protection_officer,
            tenant=Tenant.own_unit,
        )
    ],
)


INCIDENT = TypeAdapter(IncidentView)


@router.post(
    "",
    status_code=201,
    response_model=IncidentView,
    dependencies=[rate_limit("intake")],
    responses=error_responses(*INTAKE_ERRORS),
)
async def report_incident(
    body: IncidentIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> IncidentView:
    """Report an incident. Retries with the same `Idempotency-Key` or `client_id` return the
    first report; protection incidents are stored restricted."""

    async def work() -> tuple[int, Any]:
        reported = await service.report(
            session, principal, body, settings=settings, now=datetime.now(UTC)
        )
        return (201 if reported.created else 200), reported.view

    return await run_idempotent(
        session,
        principal=principal,
        endpoint="incidents",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=INCIDENT,
        work=work,
    )


@router.get("", response_model=list[IncidentView])
async def list_incidents(
    session: DbSession,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    purpose: Purpose = None,
) -> list[IncidentView]:
    """Incidents: a field unit's own, or all for the ops centre; newest first. Restricted
    ones in full only for entitled roles that give a `purpose` (each read is logged)."""
    views = await service.list_for_principal(
        session, principal, limit=limit, offset=offset, purpose=purpose, now=datetime.now(UTC)
    )
    return views


@router.get(
    "/{incident_id}", response_model=IncidentView, responses=error_responses(IncidentNotFound)
)
async def get_incident(
    incident_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: Purpose = None,
) -> IncidentView:
    """One incident (its unit or the ops centre; 404 for anyone else). A restricted one
    read in full is recorded in the access log (with the `purpose`, if given)."""
    shown = await service.read_incident(
        session, principal, incident_id, purpose=purpose, now=datetime.now(UTC)
    )
    return shown


@router.get(
    "/{incident_id}/history",
    response_model=list[HistoryView],
    responses=error_responses(IncidentNotFound),
)
async def incident_history(
    incident_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[HistoryView]:
    """Every change of the incident report, oldest first."""
    return await service.incident_history(session, principal, incident_id)


@router.post(
    "/{incident_id}/link",
    response_model=IncidentView,
    dependencies=[policy(Role.ops_centre, Role.admin)],
    responses=error_responses(IncidentNotFound, SelfLink, UnknownLinkTarget, *IDEMPOTENCY_ERRORS),
)
async def link_incident(
    incident_id: uuid.UUID,
    body: IncidentLinkIn,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> IncidentView:
    """Ops centre: link the incident to another's cluster, or unlink it, with a reason."""

    async def work() -> tuple[int, Any]:
        linked = await service.link(
            session,
            principal,
            incident_id,
            duplicate_of=body.duplicate_of,
            reason=body.reason,
            now=datetime.now(UTC),
        )
        return 200, linked

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"incidents/{incident_id}/link",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=INCIDENT,
        work=work,
    )


@router.post(
    "/{incident_id}/classification",
    response_model=IncidentView,
    dependencies=[policy(*RECLASSIFY_ROLES)],
    responses={
        **error_responses(IncidentNotFound, ReclassificationRefused, *IDEMPOTENCY_ERRORS),
        403: {"description": "Not ops_centre, admin or protection_officer"},
    },
)
async def reclassify_incident(
    incident_id: uuid.UUID,
    body: ReclassifyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> IncidentView:
    """Staff: change the incident's sensitivity with a reason (an `incident.updated` event
    with `change="reclassified"` is the audit). Never below the derived minimum (422)."""

    async def work() -> tuple[int, Any]:
        reclassified = await service.reclassify(
            session,
            principal,
            incident_id,
            sensitivity=body.sensitivity,
            reason=body.reason,
            now=datetime.now(UTC),
        )
        return 200, reclassified

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"incidents/{incident_id}/classification",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=INCIDENT,
        work=work,
    )
