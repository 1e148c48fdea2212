"""HTTP routes of report submissions under an agreement."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from services.ngo_registry.report import service
from services.ngo_registry.report.schemas import ReportOut, ReportSubmit
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import DbSession

router = APIRouter(tags=["agreements"])

StaffOrNgo = Annotated[
    Principal, policy(Role.ops_centre, Role.admin, Role.ngo, tenant=Tenant.own_ngo)
]


@router.post(
    "/agreements/{agreement_id}/reports",
    status_code=201,
    response_model=ReportOut,
    responses={200: {"description": "Already recorded: the existing submission"}},
)
async def submit_report(
    agreement_id: uuid.UUID,
    body: ReportSubmit,
    session: DbSession,
    principal: StaffOrNgo,
    response: Response,
) -> ReportOut:
    """Record a report submitted under one of an active agreement's reporting obligations,
    by an NGO party (for itself) or mission staff. One report per obligation and period end:
    repeating it returns the recorded one with 200 and emits nothing. Unknown obligation,
    a period end in the future or outside the agreement, or a party that is not one: 422;
    agreement not active: 409; not a party (or no such agreement): 404."""
    row, created = await service.submit(session, principal, agreement_id, body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/agreements/{agreement_id}/reports/{row.id}"
    return service.to_view(row, principal)


@router.get("/agreements/{agreement_id}/reports", response_model=list[ReportOut])
async def list_reports(
    agreement_id: uuid.UUID, session: DbSession, principal: StaffOrNgo
) -> list[ReportOut]:
    """Reports recorded under the agreement, by obligation and period (staff, or an NGO party
    to it; anyone else gets a 404)."""
    return [
        service.to_view(r, principal)
        for r in await service.list_reports(session, principal, agreement_id)
    ]
