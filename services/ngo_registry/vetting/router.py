"""HTTP routes of the vetting workflow."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from services.ngo_registry.common.deps import AppSettings
from services.ngo_registry.ngo import service as ngos
from services.ngo_registry.ngo.schemas import NgoPrivate
from services.ngo_registry.vetting import service
from services.ngo_registry.vetting.schemas import VettingAction, VettingDecisionOut
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import DbSession
from shared.http import etag

router = APIRouter(tags=["vetting"])

Staff = Annotated[Principal, policy(Role.ops_centre, Role.admin)]
StaffOrNgo = Annotated[
    Principal, policy(Role.ops_centre, Role.admin, Role.ngo, tenant=Tenant.own_ngo)
]


@router.post("/ngos/{ngo_id}/vetting", response_model=NgoPrivate)
async def decide_vetting(
    ngo_id: uuid.UUID,
    body: VettingAction,
    session: DbSession,
    principal: StaffOrNgo,
    settings: AppSettings,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> NgoPrivate:
    """Move an NGO through vetting: `start_review`, `vet`, `reject`, `suspend`, `reinstate`
    (mission staff) or `resubmit` (staff or the NGO itself, after a rejection or expiry).

    A step the current status does not allow is a 409 listing the allowed ones. `vet` runs the
    sanctions screening and needs every check passed (409 otherwise). `If-Match` is optional;
    when sent, a stale one is a 412.
    """
    ngo = await service.apply_action(
        session,
        principal,
        ngo_id,
        body,
        sanctions_file=settings.sanctions_file,
        if_match=if_match,
    )
    response.headers["ETag"] = etag(ngo.version)
    return await ngos.private_view(session, ngo)


@router.get("/ngos/{ngo_id}/vetting", response_model=list[VettingDecisionOut])
async def vetting_history(
    ngo_id: uuid.UUID, session: DbSession, principal: Staff
) -> list[VettingDecisionOut]:
    """Every vetting decision on an NGO, oldest first, with who, when, why, the checks and
    the confidential notes (mission staff only)."""
    return await service.history(session, ngo_id)
