"""What each principal may see of a request, and which requests it may move on.

Anyone the rule keeps out gets a 404, never a hint that the request exists. An NGO reads the
coarsened view, anyone else the full state (coarsened when restricted and not entitled), and
every restricted request served in full goes to the access log.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum, auto
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.access.service import record_restricted_reads
from services.humanitarian_requests.aid_request import repository
from services.humanitarian_requests.aid_request.errors import AidRequestNotFound
from services.humanitarian_requests.aid_request.schemas import AidRequestView, NgoRequestView
from services.humanitarian_requests.common.events import request_state, request_summary
from services.humanitarian_requests.common.need_to_know import served_in_full, withhold
from services.humanitarian_requests.common.principals import is_ngo
from services.humanitarian_requests.db.models.tables import AidRequest
from services.humanitarian_requests.matching.repository import lock_request
from shared.auth import Principal


class TransitionBy(Enum):
    """Who may move a request on, beyond the route's policy (which already keeps out
    everyone else): the answer for anyone not allowed is 404, never revealing the request."""

    reporter_or_staff = auto()  # its unit or mission staff (not an NGO)
    staff = auto()  # mission staff only: the route's policy says so already
    assigned_ngo = auto()  # the NGO the request is assigned to, or staff


async def visible_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, today: date
) -> AidRequest:
    """The request if this principal may see it; 404 otherwise (never reveal it exists)."""
    row = await repository.get(session, request_id)
    if row is None:
        raise AidRequestNotFound(f"No aid request {request_id}")
    if principal.is_staff:
        return row
    if is_ngo(principal) and principal.ngo_id is not None:
        if await repository.ngo_can_see(session, principal.ngo_id, row, today):
            return row
    elif principal.unit_id is not None and row.reporting_unit == principal.unit_id:
        return row
    raise AidRequestNotFound(f"No aid request {request_id}")


async def locked(session: AsyncSession, request_id: uuid.UUID) -> AidRequest:
    row = await lock_request(session, request_id)
    if row is None:
        raise AidRequestNotFound(f"No aid request {request_id}")
    return row


async def lock_for_transition(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    by: TransitionBy,
    now: datetime,
) -> AidRequest:
    """The request, locked, if this principal may see it and move it on; 404 otherwise."""
    await visible_request(session, principal, request_id, today=now.date())
    row = await locked(session, request_id)
    if principal.is_staff:
        return row
    if by is TransitionBy.reporter_or_staff and is_ngo(principal):
        raise AidRequestNotFound(f"No aid request {request_id}")
    if by is TransitionBy.assigned_ngo and (
        row.assigned_ngo_id is None or row.assigned_ngo_id != principal.ngo_id
    ):
        raise AidRequestNotFound(f"No aid request {request_id} assigned to you")
    return row


def full_view(
    row: AidRequest, principal: Principal, *, purpose_given: bool = True
) -> dict[str, Any]:
    """The full state, coarsened for staff not entitled to a restricted request's details."""
    state = AidRequestView.model_validate(request_state(row).model_dump()).model_dump(mode="json")
    return withhold(principal, state, purpose_given=purpose_given)


def ngo_view(row: AidRequest, ngo_id: uuid.UUID | None) -> NgoRequestView:
    """What an NGO may know of the request, and whether it is assigned to that NGO."""
    return NgoRequestView(
        **request_summary(row).model_dump(),
        status=row.status,
        assigned_to_you=row.assigned_ngo_id is not None and row.assigned_ngo_id == ngo_id,
    )


def view_for(row: AidRequest, principal: Principal) -> dict[str, Any]:
    """The request as this principal reads it: an NGO the coarsened view, anyone else the
    full state (coarsened if restricted and not entitled)."""
    if is_ngo(principal):
        return ngo_view(row, principal.ngo_id).model_dump(mode="json")
    return full_view(row, principal)


async def record_full_reads(
    session: AsyncSession,
    principal: Principal,
    views: list[dict[str, Any]],
    *,
    route: str,
    purpose: str | None,
    now: datetime,
) -> None:
    """Log each restricted request of `views` this principal was served in full."""
    await record_restricted_reads(
        session,
        principal,
        entity_type="aid_request",
        entity_ids=[uuid.UUID(v["request_id"]) for v in views if served_in_full(principal, v)],
        route=route,
        purpose=purpose,
        now=now,
    )
