"""HTTP routes of incident reports (field units and the ops centre; never NGOs)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.humanitarian_requests.access.service import record_restricted_reads
from services.humanitarian_requests.aid_request.repository import history_of
from services.humanitarian_requests.aid_request.schemas import HistoryView, ReclassifyIn
from services.humanitarian_requests.common.deps import AppSettings
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.common.need_to_know import served_in_full, withhold
from services.humanitarian_requests.common.principals import actor_of, reporting_unit_of
from services.humanitarian_requests.db.models.tables import Incident
from services.humanitarian_requests.incident import service
from services.humanitarian_requests.incident.schemas import IncidentIn, IncidentLinkIn, IncidentView
from shared.auth import RECLASSIFY_ROLES, Principal, Role, Tenant, policy
from shared.deps import MAX_OFFSET, CurrentPrincipal, DbSession
from shared.errors import NotFound
from shared.ratelimit import rate_limit

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
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry-safe key: the same key replays"),
]


def view(row: Incident, principal: Principal, *, purpose_given: bool = True) -> dict[str, Any]:
    """The incident, coarsened for staff not entitled to a restricted one's details."""
    state = service.incident_state(row).model_dump(mode="json")
    return withhold(principal, state, purpose_given=purpose_given)


Purpose = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        description="Why you read restricted records: recorded in the access log; a list "
        "serves restricted records in full only with it",
    ),
]


async def _audited(
    session: DbSession,
    principal: Principal,
    views: list[dict[str, Any]],
    route: str,
    purpose: str | None,
) -> None:
    await record_restricted_reads(
        session,
        principal,
        entity_type="incident",
        entity_ids=[uuid.UUID(v["incident_id"]) for v in views if served_in_full(principal, v)],
        route=route,
        purpose=purpose,
        now=datetime.now(UTC),
    )


async def view_for(
    session: DbSession, principal: Principal, row: Incident, *, purpose_given: bool = True
) -> dict[str, Any]:
    """What this principal may see of the incident: links to another unit's restricted
    incident hidden from field units, and a restricted one's details coarsened for staff not
    entitled to them."""
    unit = None if principal.is_staff else principal.unit_id
    state = await service.state_for(session, row, unit=unit)
    return withhold(principal, state.model_dump(mode="json"), purpose_given=purpose_given)


async def _visible(
    session: DbSession, principal: Principal, incident_id: uuid.UUID, *, lock: bool = False
) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None or (not principal.is_staff and row.reporting_unit != principal.unit_id):
        raise NotFound(f"No incident {incident_id}")
    return row


@router.post("", status_code=201, response_model=IncidentView, dependencies=[rate_limit("intake")])
async def report_incident(
    body: IncidentIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Report an incident. Retries with the same `Idempotency-Key` or `client_id` return the
    first report; protection incidents are stored restricted."""

    async def work() -> tuple[int, Any]:
        intake = await service.report_incident(
            session,
            body,
            reporting_unit=reporting_unit_of(principal),
            actor=actor_of(principal),
            settings=settings,
            now=datetime.now(UTC),
        )
        response = await view_for(session, principal, intake.incident)
        if intake.raised_from is not None:
            response["sensitivity_raised_from"] = intake.raised_from.value
        return (201 if intake.created else 200), response

    return await run_idempotent(
        session,
        principal=principal,
        endpoint="incidents",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get("", response_model=list[IncidentView])
async def list_incidents(
    session: DbSession,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    purpose: Purpose = None,
) -> JSONResponse:
    """Incidents: a field unit's own, or all for the ops centre; newest first. Restricted
    ones in full only for entitled roles that give a `purpose` (each read is logged)."""
    unit = None if principal.is_staff else principal.unit_id
    rows = await service.list_incidents(session, reporting_unit=unit, limit=limit, offset=offset)
    views = [await view_for(session, principal, r, purpose_given=purpose is not None) for r in rows]
    await _audited(session, principal, views, "GET /incidents", purpose)
    return JSONResponse(views)


@router.get("/{incident_id}", response_model=IncidentView)
async def get_incident(
    incident_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: Purpose = None,
) -> JSONResponse:
    """One incident (its unit or the ops centre; 404 for anyone else). A restricted one
    read in full is recorded in the access log (with the `purpose`, if given)."""
    shown = await view_for(session, principal, await _visible(session, principal, incident_id))
    await _audited(session, principal, [shown], "GET /incidents/{incident_id}", purpose)
    return JSONResponse(shown)


@router.get("/{incident_id}/history", response_model=list[HistoryView])
async def incident_history(
    incident_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[HistoryView]:
    """Every change of the incident report, oldest first."""
    await _visible(session, principal, incident_id)
    return [
        HistoryView.model_validate(h, from_attributes=True)
        for h in await history_of(session, incident_id)
    ]


@router.post(
    "/{incident_id}/link",
    response_model=IncidentView,
    dependencies=[policy(Role.ops_centre, Role.admin)],
)
async def link_incident(
    incident_id: uuid.UUID,
    body: IncidentLinkIn,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ops centre: link the incident to another's cluster, or unlink it, with a reason."""

    async def work() -> tuple[int, Any]:
        row = await _visible(session, principal, incident_id, lock=True)
        await service.set_link(
            session,
            row,
            body.duplicate_of,
            reason=body.reason,
            actor=actor_of(principal),
            now=datetime.now(UTC),
        )
        return 200, view(row, principal)

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"incidents/{incident_id}/link",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.post(
    "/{incident_id}/classification",
    response_model=IncidentView,
    dependencies=[policy(*RECLASSIFY_ROLES)],
    responses={
        403: {"description": "Not ops_centre, admin or protection_officer"},
        404: {"description": "No such incident"},
        422: {"description": "Bad body, unchanged class, or below the derived minimum"},
    },
)
async def reclassify_incident(
    incident_id: uuid.UUID,
    body: ReclassifyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff: change the incident's sensitivity with a reason (an `incident.updated` event
    with `change="reclassified"` is the audit). Never below the derived minimum (422)."""

    async def work() -> tuple[int, Any]:
        row = await _visible(session, principal, incident_id, lock=True)
        await service.reclassify(
            session,
            row,
            sensitivity=body.sensitivity,
            reason=body.reason,
            actor=actor_of(principal),
            now=datetime.now(UTC),
        )
        return 200, view(row, principal)

    return await run_idempotent(
        session,
        principal=principal,
        endpoint=f"incidents/{incident_id}/classification",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        work=work,
    )
