"""Aid request use cases: intake with triage and matching, the rest of the lifecycle, and
what each principal may see of a request (visibility, views, the access log of full reads).

A lifecycle use case takes the principal and the request id: it locks the request, checks
that the principal may move it on (`TransitionBy`), applies the rule and returns the view the
principal reads. Services only flush; the edge (route or batch item savepoint) owns the
transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum, auto
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.access.service import record_restricted_reads
from services.humanitarian_requests.aid_request import repository
from services.humanitarian_requests.aid_request.errors import (
    AidRequestNotFound,
    LinkTargetEnded,
    NothingDelivered,
    RequestTransitionNotAllowed,
    UnknownDeliveryItems,
)
from services.humanitarian_requests.aid_request.schemas import (
    AidRequestIn,
    AidRequestPage,
    AidRequestView,
    DeliveryIn,
    HistoryView,
    NgoRequestPage,
    NgoRequestView,
)
from services.humanitarian_requests.aid_request.triage import find_request_duplicate, priority_score
from services.humanitarian_requests.common.errors import (
    ReclassificationRefused,
    SelfLink,
    UnknownLinkTarget,
)
from services.humanitarian_requests.common.events import (
    TERMINAL_STATUSES,
    record_transition,
    request_state,
    request_summary,
    touch,
)
from services.humanitarian_requests.common.items import delivered_item, listed_names
from services.humanitarian_requests.common.location import resolve_location
from services.humanitarian_requests.common.need_to_know import served_in_full, withhold
from services.humanitarian_requests.common.principals import actor_of, is_ngo, reporting_unit_of
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest
from services.humanitarian_requests.matching.repository import lock_request
from services.humanitarian_requests.matching.service import (
    offer_next,
    reclassify_offers,
    withdraw_pending_offer,
)
from shared.auth import Principal
from shared.classification import (
    Classification,
    aid_request_floor,
    classify,
    reclassification_error,
)
from shared.events.schemas.humanitarian_requests import (
    AidRequestCancelled,
    AidRequestClosed,
    AidRequestDuplicateLinked,
    AidRequestFulfilled,
    AidRequestInProgress,
    AidRequestPartiallyFulfilled,
    AidRequestPriorityOverridden,
    AidRequestReclassified,
    AidRequestSubmitted,
    AidRequestTriaged,
    Fulfilment,
    RequestStatus,
)
from shared.logging import get_logger
from shared.vocabulary import Sector, Sensitivity

log = get_logger(__name__)


@dataclass(frozen=True)
class Intake:
    request: AidRequest
    created: bool  # False: the unit's client_id already existed (a duplicate submission)
    raised_from: Sensitivity | None = None  # the lower class the reporter asked for


def classification_of(data: AidRequestIn) -> Classification:
    """The request's class under the raise-only rule (shared.classification)."""
    floor = aid_request_floor(
        data.sector,
        names_survivor=data.names_survivor,
        involves_child=data.involves_child,
        vulnerability=[v.value for v in data.vulnerability],
        texts=[data.title, data.description, *(i.item for i in data.items)],
    )
    return classify(data.sensitivity, floor)


def response_window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.offer_response_seconds)


async def submit_request(
    session: AsyncSession,
    data: AidRequestIn,
    *,
    reporting_unit: str,
    actor: str,
    settings: Settings,
    now: datetime,
) -> Intake:
    """Create, triage and match a request; an existing client_id returns the first one."""
    location = resolve_location(data.location)
    if data.client_id is not None:
        existing = await repository.find_by_client_id(session, reporting_unit, data.client_id)
        if existing is not None:
            return Intake(existing, created=False)
    classification = classification_of(data)
    row = AidRequest(
        id=uuid.uuid4(),
        client_id=data.client_id,
        reporting_unit=reporting_unit,
        status=RequestStatus.submitted,
        sector=data.sector,
        urgency=data.urgency,
        sensitivity=classification.sensitivity,
        sensitivity_floor=classification.floor,
        sensitivity_reasons=list(classification.reasons),
        title=data.title,
        description=data.description,
        items=[{**i.model_dump(), "delivered_quantity": 0.0} for i in data.items],
        affected_population=data.affected_population.model_dump(),
        affected_total=data.affected_population.total,
        vulnerability=[v.value for v in data.vulnerability],
        lat=location.lat,
        lon=location.lon,
        pcode=location.pcode,
        admin1=location.admin1,
        access_constraints=data.access_constraints,
        security_constraints=data.security_constraints,
        contact=data.contact,
        priority_score=0.0,
        priority_overridden=False,
        offer_round=0,
        fulfilment=Fulfilment.none,
        ngo_visible=False,
        observed_at=data.observed_at or now,
        submitted_at=now,
        updated_at=now,
        version=1,
    )
    row.cluster_id = row.id
    if data.client_id is None:
        session.add(row)
        await session.flush()
    else:
        try:
            # A concurrent submission of the same client_id waits on the unique index and
            # then fails here; the savepoint keeps the caller's transaction usable.
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            existing = await repository.find_by_client_id(session, reporting_unit, data.client_id)
            if existing is None:
                raise
            return Intake(existing, created=False)
    await record_transition(session, row, AidRequestSubmitted, actor=actor)
    await triage(session, row, settings=settings, now=now)
    log.info(
        "aid_request.submitted",
        request_id=str(row.id),
        unit=reporting_unit,
        sensitivity=row.sensitivity,
    )
    return Intake(row, created=True, raised_from=classification.raised_from)


@dataclass(frozen=True)
class Submitted:
    created: bool  # False: a duplicate submission of the unit's client_id
    view: dict[str, Any]  # the request as its submitter reads it


async def submit(
    session: AsyncSession,
    principal: Principal,
    data: AidRequestIn,
    *,
    settings: Settings,
    now: datetime,
) -> Submitted:
    """`submit_request` on behalf of the principal: its unit (or desk) reports, and it reads
    back the full view, saying when the class it asked for was raised."""
    intake = await submit_request(
        session,
        data,
        reporting_unit=reporting_unit_of(principal),
        actor=actor_of(principal),
        settings=settings,
        now=now,
    )
    view = full_view(intake.request, principal)
    if intake.raised_from is not None:
        view["sensitivity_raised_from"] = intake.raised_from.value
    return Submitted(created=intake.created, view=view)


async def triage(
    session: AsyncSession, row: AidRequest, *, settings: Settings, now: datetime
) -> None:
    row.priority_score = priority_score(
        urgency=row.urgency,  # type: ignore[arg-type]
        affected_total=row.affected_total,
        sector=row.sector,  # type: ignore[arg-type]
        vulnerability_count=len(row.vulnerability),
    )
    row.status = RequestStatus.triaged
    row.triaged_at = now
    touch(row, now)
    await record_transition(session, row, AidRequestTriaged, actor="system")
    duplicate = await find_request_duplicate(
        session,
        row,
        radius_km=settings.duplicate_radius_km,
        window=timedelta(hours=settings.duplicate_window_hours),
    )
    if duplicate is not None and not await _cluster_still_live(session, duplicate.cluster_id):
        duplicate = None
    if duplicate is not None:
        # One cluster, one offer: the duplicate waits with its cluster instead of being
        # offered again; ops can unlink it.
        row.duplicate_of = duplicate.cluster_id
        row.cluster_id = duplicate.cluster_id
        touch(row, now)
        await record_transition(
            session,
            row,
            AidRequestDuplicateLinked,
            actor="system",
            linked_by="triage",
            reason=f"same sector within {settings.duplicate_radius_km} km",
        )
        return
    await offer_next(session, row, now=now, response_window=response_window(settings))


async def _cluster_still_live(session: AsyncSession, root_id: uuid.UUID) -> bool:
    """Share-lock the cluster's root and re-read it. A cancel of the root in flight holds its
    row lock: we wait for it, then see it cancelled and do not join a cluster whose cancel
    could not hand us on (it only sees committed members)."""
    root = await repository.share_lock(session, root_id)
    return root is not None and root.status not in DEAD_CLUSTER


DEAD_CLUSTER = (RequestStatus.cancelled, RequestStatus.closed, RequestStatus.fulfilled)


async def locked(session: AsyncSession, request_id: uuid.UUID) -> AidRequest:
    row = await lock_request(session, request_id)
    if row is None:
        raise AidRequestNotFound(f"No aid request {request_id}")
    return row


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


def floor_of(row: AidRequest) -> Sensitivity:
    """The stored derived minimum; for a row from before it was stored, derived again."""
    if row.sensitivity_floor is not None:
        return Sensitivity(row.sensitivity_floor)
    texts = [row.title, row.description, *(str(i.get("item")) for i in row.items)]
    return aid_request_floor(row.sector, vulnerability=row.vulnerability, texts=texts).sensitivity


async def reclassify(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    sensitivity: Sensitivity,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Staff reclassification with a reason (the event is the audit). To restricted, a listed
    request is retracted from the NGO-readable topic (`record_transition`) and leaves the NGO
    listings, which only show non-restricted requests."""
    row = await lock_for_transition(session, principal, request_id, by=TransitionBy.staff, now=now)
    actor = actor_of(principal)
    previous = Sensitivity(row.sensitivity)
    refusal = reclassification_error(sensitivity, current=previous, floor=floor_of(row))
    if refusal is not None:
        raise ReclassificationRefused(refusal)
    row.sensitivity = sensitivity
    touch(row, now)
    await reclassify_offers(session, row, actor=actor, now=now)
    await record_transition(
        session,
        row,
        AidRequestReclassified,
        actor=actor,
        detail={"reason": reason},
        previous_sensitivity=previous,
        reason=reason,
    )
    log.info(
        "aid_request.reclassified",
        request_id=str(row.id),
        sensitivity=sensitivity.value,
        previous=previous.value,
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


class TransitionBy(Enum):
    """Who may move a request on, beyond the route's policy (which already keeps out
    everyone else): the answer for anyone not allowed is 404, never revealing the request."""

    reporter_or_staff = auto()  # its unit or mission staff (not an NGO)
    staff = auto()  # mission staff only: the route's policy says so already
    assigned_ngo = auto()  # the NGO the request is assigned to, or staff


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
