"""The lifecycle after intake: cancel, priority override, duplicate link, re-match, start,
delivery and close.

Each use case takes the principal and the request id: it locks the request, checks that the
principal may move it on (`visibility.lock_for_transition`) and that its status allows the
step (`require_status`), applies the rule and returns the view the principal reads.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request import repository
from services.humanitarian_requests.aid_request.errors import (
    LinkTargetEnded,
    NothingDelivered,
    RequestTransitionNotAllowed,
    UnknownDeliveryItems,
)
from services.humanitarian_requests.aid_request.schemas import DeliveryIn
from services.humanitarian_requests.aid_request.service.intake import response_window
from services.humanitarian_requests.aid_request.service.visibility import (
    TransitionBy,
    lock_for_transition,
    view_for,
)
from services.humanitarian_requests.common.errors import SelfLink, UnknownLinkTarget
from services.humanitarian_requests.common.events import TERMINAL_STATUSES, record_transition, touch
from services.humanitarian_requests.common.items import delivered_item, listed_names
from services.humanitarian_requests.common.principals import actor_of
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest
from services.humanitarian_requests.matching.repository import lock_request
from services.humanitarian_requests.matching.service import offer_next, withdraw_pending_offer
from shared.auth import Principal
from shared.events.schemas.humanitarian_requests import (
    AidRequestCancelled,
    AidRequestClosed,
    AidRequestDuplicateLinked,
    AidRequestFulfilled,
    AidRequestInProgress,
    AidRequestPartiallyFulfilled,
    AidRequestPriorityOverridden,
    Fulfilment,
    RequestStatus,
)


def require_status(row: AidRequest, *allowed: RequestStatus) -> None:
    if row.status not in allowed:
        terminal = " (a terminal state)" if row.status in TERMINAL_STATUSES else ""
        raise RequestTransitionNotAllowed(
            f"The request is {row.status}{terminal}; this needs one of: " + ", ".join(allowed),
            current_status=row.status,
            allowed_from=list(allowed),
        )


CANCELLABLE = (
    RequestStatus.submitted,
    RequestStatus.triaged,
    RequestStatus.offered,
    RequestStatus.escalated,
    RequestStatus.accepted,
    RequestStatus.in_progress,
)


async def cancel(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    reason: str,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Cancel a request (its unit or staff); a pending offer is withdrawn, and the requests
    waiting in its cluster go on to matching."""
    row = await lock_for_transition(
        session, principal, request_id, by=TransitionBy.reporter_or_staff, now=now
    )
    actor = actor_of(principal)
    require_status(row, *CANCELLABLE)
    await withdraw_pending_offer(session, row, now=now, actor=actor)
    row.status = RequestStatus.cancelled
    row.cancelled_at = now
    row.cancellation_reason = reason
    row.current_offer_id = row.offered_ngo_id = row.offer_deadline = None
    touch(row, now)
    await record_transition(session, row, AidRequestCancelled, actor=actor)
    if row.duplicate_of is None:
        await _release_cluster(session, row, settings=settings, now=now)
    return view_for(row, principal)


async def _release_cluster(
    session: AsyncSession, root: AidRequest, *, settings: Settings, now: datetime
) -> None:
    """The (locked) cancelled root no longer carries its cluster: the requests waiting in it
    were never offered and would otherwise wait for ever. The earliest takes over the cluster
    and goes to matching; the others join its cluster. Root first, then members by
    submission: every other path locks one request at a time, so no deadlock."""
    new_root: AidRequest | None = None
    for member_id in await repository.cluster_member_ids(session, root.id):
        member = await lock_request(session, member_id)
        if member is None or member.cluster_id != root.id or member.status in TERMINAL_STATUSES:
            continue
        member.duplicate_of = None if new_root is None else new_root.id
        member.cluster_id = member.id if new_root is None else new_root.id
        touch(member, now)
        await record_transition(
            session,
            member,
            AidRequestDuplicateLinked,
            actor="system",
            linked_by="system",
            reason=f"cluster root {root.id} was cancelled",
        )
        if new_root is None:
            new_root = member
            if member.status == RequestStatus.triaged:
                await offer_next(
                    session, member, now=now, response_window=response_window(settings)
                )


async def override_priority(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    score: float,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Staff set the priority score by hand, with the reason recorded."""
    row = await lock_for_transition(session, principal, request_id, by=TransitionBy.staff, now=now)
    actor = actor_of(principal)
    if row.status in TERMINAL_STATUSES:
        require_status(row, *[s for s in RequestStatus if s not in TERMINAL_STATUSES])
    previous = row.priority_score
    row.priority_score = score
    row.priority_overridden = True
    row.priority_reason = reason
    touch(row, now)
    await record_transition(
        session, row, AidRequestPriorityOverridden, actor=actor, previous_priority_score=previous
    )
    return view_for(row, principal)


async def link(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    duplicate_of: uuid.UUID | None,
    reason: str,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Ops override of a duplicate link; unlinking a waiting duplicate sends it to matching."""
    row = await lock_for_transition(session, principal, request_id, by=TransitionBy.staff, now=now)
    actor = actor_of(principal)
    require_status(row, RequestStatus.submitted, RequestStatus.triaged, RequestStatus.escalated)
    if duplicate_of is not None:
        if duplicate_of == row.id:
            raise SelfLink("A request cannot be a duplicate of itself")
        target = await repository.get(session, duplicate_of)
        if target is None:
            raise UnknownLinkTarget(f"No aid request {duplicate_of} to link to")
        # A duplicate waits for its cluster's root and is never offered itself: joining a
        # cluster that ended would strand this request for good.
        root = await repository.get(session, target.cluster_id)
        if target.status in TERMINAL_STATUSES or (
            root is not None and root.status in TERMINAL_STATUSES
        ):
            raise LinkTargetEnded(
                f"Request {duplicate_of} is {target.status} (cluster root: "
                f"{root.status if root else 'unknown'}); link to a live request",
                target_status=target.status,
            )
        row.duplicate_of = target.cluster_id
        row.cluster_id = target.cluster_id
    else:
        row.duplicate_of = None
        row.cluster_id = row.id
    touch(row, now)
    await record_transition(
        session, row, AidRequestDuplicateLinked, actor=actor, linked_by=actor, reason=reason
    )
    if duplicate_of is None and row.status == RequestStatus.triaged:
        await offer_next(
            session, row, now=now, response_window=response_window(settings), actor=actor
        )
    return view_for(row, principal)


async def rematch(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Ops asks matching to try again (new NGOs may have become eligible)."""
    row = await lock_for_transition(session, principal, request_id, by=TransitionBy.staff, now=now)
    actor = actor_of(principal)
    require_status(row, RequestStatus.escalated)
    await offer_next(session, row, now=now, response_window=response_window(settings), actor=actor)
    return view_for(row, principal)


async def start(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, now: datetime
) -> dict[str, Any]:
    """The assigned NGO starts delivering: accepted -> in_progress."""
    row = await lock_for_transition(
        session, principal, request_id, by=TransitionBy.assigned_ngo, now=now
    )
    actor = actor_of(principal)
    require_status(row, RequestStatus.accepted)
    row.status = RequestStatus.in_progress
    row.in_progress_at = now
    touch(row, now)
    await record_transition(session, row, AidRequestInProgress, actor=actor)
    return view_for(row, principal)


async def record_delivery(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    delivery: DeliveryIn,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The assigned NGO records delivered quantities: all delivered (or `final`) ->
    fulfilled, otherwise partially fulfilled and still in progress."""
    row = await lock_for_transition(
        session, principal, request_id, by=TransitionBy.assigned_ngo, now=now
    )
    actor = actor_of(principal)
    require_status(row, RequestStatus.in_progress)
    if not delivery.items and not delivery.final:
        raise NothingDelivered("Name the items delivered, or set final to end delivery")
    items = [dict(i) for i in row.items]
    named = {d.item: delivered_item(items, row.sector, d.item) for d in delivery.items}
    unknown = [name for name, index in named.items() if index is None]
    if unknown:
        # `allowed` gives the names NGOs read, never the reporter's words.
        allowed = sorted(listed_names(items, row.sector))
        raise UnknownDeliveryItems(f"Unknown items: {', '.join(unknown)}", allowed=allowed)
    for d in delivery.items:
        index = named[d.item]
        assert index is not None
        items[index]["delivered_quantity"] = (
            items[index]["delivered_quantity"] + d.delivered_quantity
        )
    row.items = items
    complete = all(i["delivered_quantity"] >= i["quantity"] for i in items)
    touch(row, now)
    if complete or delivery.final:
        row.status = RequestStatus.fulfilled
        row.fulfilled_at = now
        row.fulfilment = Fulfilment.full if complete else Fulfilment.partial
        await record_transition(session, row, AidRequestFulfilled, actor=actor)
    else:
        row.fulfilment = Fulfilment.partial
        await record_transition(session, row, AidRequestPartiallyFulfilled, actor=actor)
    return view_for(row, principal)


async def close(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, now: datetime
) -> dict[str, Any]:
    """Staff close a fulfilled request (terminal)."""
    row = await lock_for_transition(session, principal, request_id, by=TransitionBy.staff, now=now)
    actor = actor_of(principal)
    require_status(row, RequestStatus.fulfilled)
    row.status = RequestStatus.closed
    row.closed_at = now
    touch(row, now)
    await record_transition(session, row, AidRequestClosed, actor=actor)
    return view_for(row, principal)
