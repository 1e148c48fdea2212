"""HTTP route of the compatibility search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.ngo_registry.search import service
from services.ngo_registry.search.schemas import SearchResponse
from shared.auth import Principal, Role, policy
from shared.deps import DbSession
from shared.vocabulary import Sector

router = APIRouter(tags=["search"])

Staff = Annotated[Principal, policy(Role.ops_centre, Role.admin)]


@router.get("/search/ngos", response_model=SearchResponse)
async def search_ngos(
    session: DbSession,
    principal: Staff,
    sector: Sector,
    pcode: Annotated[str | None, Query(description="near this area")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    resource: Annotated[
        str | None, Query(max_length=100, description="e.g. water_trucking")
    ] = None,
    min_quantity: Annotated[float | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResponse:
    """Vetted NGOs able to do `sector` near `pcode` (or `lat`/`lon`) with at least
    `min_quantity` of `resource`, best first; each result explains its score (eligibility
    under an active agreement, proximity, capacity)."""
    return await service.search(
        session,
        sector=sector,
        pcode=pcode,
        lat=lat,
        lon=lon,
        resource=resource,
        min_quantity=min_quantity,
        limit=limit,
    )
