"""HTTP routes of NGO profiles and the public directory."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from services.ngo_registry.ngo import service
from services.ngo_registry.ngo.schemas import NgoCreate, NgoPage, NgoPrivate, NgoPublic, NgoUpdate
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import MAX_OFFSET, DbSession
from shared.events.schemas.ngo_registry import VettingStatus
from shared.http import etag
from shared.vocabulary import Sector

router = APIRouter(tags=["ngos"])

Staff = Annotated[Principal, policy(Role.ops_centre, Role.admin)]
StaffOrNgo = Annotated[
    Principal, policy(Role.ops_centre, Role.admin, Role.ngo, tenant=Tenant.own_ngo)
]
Anyone = Annotated[Principal, policy(Role.ops_centre, Role.admin, Role.ngo, Role.field_unit)]


@router.post("/ngos", status_code=201, response_model=NgoPrivate)
async def register_ngo(
    body: NgoCreate, session: DbSession, principal: Staff, response: Response
) -> NgoPrivate:
    """Register an NGO (mission staff). It enters vetting as `submitted`.

    A registration number already held by another NGO in the same country is a 409 naming
    that NGO; unknown P-codes are a 422 listing the allowed ones.
    """
    view = await service.create_ngo(session, principal, body)
    response.headers["ETag"] = etag(view.version)
    response.headers["Location"] = f"/ngos/{view.ngo_id}"
    return view


@router.get("/ngos/{ngo_id}", response_model=NgoPrivate)
async def get_ngo(
    ngo_id: uuid.UUID, session: DbSession, principal: StaffOrNgo, response: Response
) -> NgoPrivate:
    """The full profile (contacts, registrations) for mission staff and the NGO itself.

    Another NGO's private profile is a 404. The `ETag` is what an update must send back.
    """
    ngo = await service.load_for(session, principal, ngo_id)
    response.headers["ETag"] = etag(ngo.version)
    return await service.private_view(session, ngo)


@router.patch("/ngos/{ngo_id}", response_model=NgoPrivate)
async def update_ngo(
    ngo_id: uuid.UUID,
    body: NgoUpdate,
    session: DbSession,
    principal: StaffOrNgo,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> NgoPrivate:
    """Change a profile; only the fields sent change. Needs `If-Match` (428 without, 412 if
    stale). An NGO may update its own profile and capacities; if it changes the sectors or
    areas of a vetted profile, the profile goes back to `under_review`."""
    view = await service.update_ngo(session, principal, ngo_id, body, if_match)
    response.headers["ETag"] = etag(view.version)
    return view


@router.get("/directory", response_model=NgoPage)
async def list_directory(
    session: DbSession,
    principal: Anyone,
    sector: Sector | None = None,
    pcode: Annotated[
        str | None, Query(description="working in, inside or around this area")
    ] = None,
    status: VettingStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> NgoPage:
    """The public directory: every NGO's public state, no confidential fields."""
    return await service.list_directory(
        session,
        sector=sector.value if sector else None,
        pcode=pcode,
        status=status,
        limit=limit,
        offset=offset,
    )


@router.get("/directory/{ngo_id}", response_model=NgoPublic)
async def get_directory_entry(
    ngo_id: uuid.UUID, session: DbSession, principal: Anyone
) -> NgoPublic:
    """One NGO's public directory entry."""
    return await service.get_public(session, ngo_id)
