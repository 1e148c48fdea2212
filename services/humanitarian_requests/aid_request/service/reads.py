"""Reads: the lists, one request and its history, each as the principal may read them;
restricted requests served in full are logged.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request import repository
from services.humanitarian_requests.aid_request.errors import AidRequestNotFound
from services.humanitarian_requests.aid_request.schemas import (
    AidRequestPage,
    AidRequestView,
    HistoryView,
    NgoRequestPage,
    NgoRequestView,
)
from services.humanitarian_requests.aid_request.service.visibility import (
    full_view,
    ngo_view,
    record_full_reads,
    visible_request,
)
from services.humanitarian_requests.common.principals import is_ngo
from shared.auth import Principal
from shared.events.schemas.humanitarian_requests import RequestStatus
from shared.vocabulary import Sector


async def list_for_principal(
    session: AsyncSession,
    principal: Principal,
    *,
    status: RequestStatus | None,
    sector: Sector | None,
    limit: int,
    offset: int,
    purpose: str | None,
    now: datetime,
) -> AidRequestPage | NgoRequestPage:
    """A field unit's own requests; an NGO its assignments and the open, non-restricted
    requests in its grants (coarsened); staff everything. Restricted ones served in full
    (only with a `purpose`) are logged."""
    if is_ngo(principal) and principal.ngo_id is not None:
        rows = await repository.list_for_ngo(
            session, principal.ngo_id, today=now.date(), limit=limit, offset=offset
        )
        return NgoRequestPage(items=[ngo_view(r, principal.ngo_id) for r in rows])
    unit = None if principal.is_staff else (principal.unit_id or "")
    found = await repository.list_requests(
        session, reporting_unit=unit, status=status, sector=sector, limit=limit, offset=offset
    )
    views = [full_view(r, principal, purpose_given=purpose is not None) for r in found]
    await record_full_reads(
        session, principal, views, route="GET /aid-requests", purpose=purpose, now=now
    )
    return AidRequestPage(items=[AidRequestView.model_validate(v) for v in views])


async def read_request(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    purpose: str | None,
    now: datetime,
) -> AidRequestView | NgoRequestView:
    """One request as the principal may read it; a restricted one served in full is logged."""
    row = await visible_request(session, principal, request_id, today=now.date())
    if is_ngo(principal):
        return ngo_view(row, principal.ngo_id)
    shown = full_view(row, principal)
    await record_full_reads(
        session,
        principal,
        [shown],
        route="GET /aid-requests/{request_id}",
        purpose=purpose,
        now=now,
    )
    return AidRequestView.model_validate(shown)


async def request_history(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, now: datetime
) -> list[HistoryView]:
    """Every transition of the request and its offers, oldest first (never for an NGO)."""
    if is_ngo(principal):
        raise AidRequestNotFound(f"No aid request {request_id}")
    await visible_request(session, principal, request_id, today=now.date())
    return [
        HistoryView.model_validate(h, from_attributes=True)
        for h in await repository.history_of(session, request_id)
    ]
