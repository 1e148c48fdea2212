"""HTTP routes of partnership agreements (MoUs)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from services.ngo_registry.agreement import service
from services.ngo_registry.agreement.schemas import (
    AgreementCreate,
    AgreementOut,
    AgreementTermination,
    AgreementUpdate,
)
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import MAX_OFFSET, DbSession
from shared.events.schemas.ngo_registry import AgreementStatus
from shared.http import etag

router = APIRouter(tags=["agreements"])

Staff = Annotated[Principal, policy(Role.ops_centre, Role.admin)]
StaffOrNgo = Annotated[
    Principal, policy(Role.ops_centre, Role.admin, Role.ngo, tenant=Tenant.own_ngo)
]
IfMatch = Annotated[str | None, Header()]


@router.post("/agreements", status_code=201, response_model=AgreementOut)
async def create_agreement(
    body: AgreementCreate, session: DbSession, principal: Staff, response: Response
) -> AgreementOut:
    """Draft an agreement: parties and their roles, scope (sectors, P-codes), reporting
    obligations, dates, signatories. Dates out of order, unknown P-codes or unknown NGOs
    are a 422."""
    agreement, raised_from = await service.create_agreement(session, principal, body)
    response.headers["ETag"] = etag(agreement.version)
    response.headers["Location"] = f"/agreements/{agreement.id}"
    return service.to_view(agreement, principal, raised_from=raised_from)


@router.get("/agreements", response_model=list[AgreementOut])
async def list_agreements(
    session: DbSession,
    principal: StaffOrNgo,
    status: AgreementStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[AgreementOut]:
    """Agreements, newest first: all of them for staff, those it is party to for an NGO."""
    return await service.list_agreements(
        session, principal, status=status, limit=limit, offset=offset
    )


@router.get("/agreements/{agreement_id}", response_model=AgreementOut)
async def get_agreement(
    agreement_id: uuid.UUID, session: DbSession, principal: StaffOrNgo, response: Response
) -> AgreementOut:
    """One agreement (staff, or an NGO party to it; anyone else gets a 404)."""
    agreement = await service.load_for(session, principal, agreement_id)
    response.headers["ETag"] = etag(agreement.version)
    return service.to_view(agreement, principal)


@router.patch("/agreements/{agreement_id}", response_model=AgreementOut)
async def update_agreement(
    agreement_id: uuid.UUID,
    body: AgreementUpdate,
    session: DbSession,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> AgreementOut:
    """Amend a draft (409 once active). Needs `If-Match` (428 without, 412 if stale)."""
    agreement = await service.update_agreement(session, principal, agreement_id, body, if_match)
    response.headers["ETag"] = etag(agreement.version)
    return service.to_view(agreement, principal)


@router.post("/agreements/{agreement_id}/activate", response_model=AgreementOut)
async def activate_agreement(
    agreement_id: uuid.UUID,
    session: DbSession,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> AgreementOut:
    """Bring a signed draft into force (only between its start and end dates). The parties'
    eligibility is recomputed and emitted."""
    agreement = await service.activate(session, principal, agreement_id, if_match)
    response.headers["ETag"] = etag(agreement.version)
    return service.to_view(agreement, principal)


@router.post("/agreements/{agreement_id}/terminate", response_model=AgreementOut)
async def terminate_agreement(
    agreement_id: uuid.UUID,
    body: AgreementTermination,
    session: DbSession,
    principal: Staff,
    response: Response,
    if_match: IfMatch = None,
) -> AgreementOut:
    """End an active agreement early, with a reason. The parties' eligibility is recomputed
    and emitted."""
    agreement = await service.terminate(session, principal, agreement_id, body, if_match)
    response.headers["ETag"] = etag(agreement.version)
    return service.to_view(agreement, principal)
