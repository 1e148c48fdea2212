"""Turning an aid request row into its event-carried state, and recording a transition.

`record_transition` is the one place a request change becomes visible: it writes the event
with the full state on the internal topic, a history row, and keeps the NGO-readable
open_request topic in step (opened / updated / closed), all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.common.items import listed_items
from services.humanitarian_requests.common.location import coarse_pcode
from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.db.models.tables import AidRequest, HistoryEntry, Offer
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    AidRequestEvent,
    AidRequestState,
    ListedSensitivity,
    OfferState,
    OpenAidRequest,
    OpenRequestClosed,
    OpenRequestOpened,
    OpenRequestRetracted,
    OpenRequestSummary,
    OpenRequestUpdated,
    RequestStatus,
    RetractionReason,
)
from shared.vocabulary import Sensitivity

OPEN_STATUSES = frozenset({RequestStatus.triaged, RequestStatus.offered, RequestStatus.escalated})
TERMINAL_STATUSES = frozenset({RequestStatus.closed, RequestStatus.cancelled})


def request_state(row: AidRequest) -> AidRequestState:
    return AidRequestState.model_validate(
        dict(
            request_id=row.id,
            client_id=row.client_id,
            status=row.status,
            sector=row.sector,
            urgency=row.urgency,
            sensitivity=row.sensitivity,
            sensitivity_floor=row.sensitivity_floor,
            sensitivity_reasons=row.sensitivity_reasons or [],
            title=row.title,
            description=row.description,
            items=row.items,
            affected_population=row.affected_population,
            vulnerability=row.vulnerability,
            location={"lat": row.lat, "lon": row.lon, "pcode": row.pcode, "admin1": row.admin1},
            access_constraints=row.access_constraints,
            security_constraints=row.security_constraints,
            reporting_unit=row.reporting_unit,
            contact=row.contact,
            priority_score=row.priority_score,
            priority_overridden=row.priority_overridden,
            priority_reason=row.priority_reason,
            cluster_id=row.cluster_id,
            duplicate_of=row.duplicate_of,
            current_offer_id=row.current_offer_id,
            offered_ngo_id=row.offered_ngo_id,
            offer_deadline=row.offer_deadline,
            offer_round=row.offer_round,
            assigned_ngo_id=row.assigned_ngo_id,
            fulfilment=row.fulfilment,
            escalation_reason=row.escalation_reason,
            cancellation_reason=row.cancellation_reason,
            observed_at=row.observed_at,
            submitted_at=row.submitted_at,
            triaged_at=row.triaged_at,
            offered_at=row.offered_at,
            accepted_at=row.accepted_at,
            in_progress_at=row.in_progress_at,
            fulfilled_at=row.fulfilled_at,
            closed_at=row.closed_at,
            cancelled_at=row.cancelled_at,
            escalated_at=row.escalated_at,
            updated_at=row.updated_at,
            version=row.version,
        )
    )


def request_summary(row: AidRequest) -> OpenRequestSummary:
    """What an NGO may know: no description, contact, constraints, coordinates or unit, and
    the items by their vocabulary labels, not the reporter's words (`common/items.py`)."""
    restricted = row.sensitivity == Sensitivity.restricted
    return OpenRequestSummary.model_validate(
        dict(
            request_id=row.id,
            sector=row.sector,
            urgency=row.urgency,
            pcode=coarse_pcode(row.pcode, restricted=restricted),
            admin1=row.admin1,
            items=listed_items(row.items, row.sector),
            affected_total=row.affected_total,
            priority_score=row.priority_score,
            submitted_at=row.submitted_at,
            details_withheld=restricted,
        )
    )


def is_open(row: AidRequest) -> bool:
    """Listed on the NGO-readable topic: open, not restricted, not a linked duplicate."""
    return (
        row.status in OPEN_STATUSES
        and row.sensitivity != Sensitivity.restricted
        and row.duplicate_of is None
    )


def touch(row: AidRequest, now: datetime) -> None:
    row.version += 1
    row.updated_at = now


async def record_transition(
    session: AsyncSession,
    row: AidRequest,
    event_model: type[AidRequestEvent],
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Emit the event for the change just applied to `row` (already `touch`ed)."""
    state = request_state(row)
    data = event_model(**state.model_dump(), actor=actor, **extra)
    await outbox.add(session, data, subject=row.id)
    session.add(
        HistoryEntry(
            entity_id=row.id,
            entity_type="aid_request",
            event_type=CATALOG.for_model(event_model).name,
            version=row.version,
            status=row.status,
            actor=actor,
            detail={**(detail or {}), **_jsonable(extra)},
            at=row.updated_at,
        )
    )
    await _sync_open_listing(session, row)


async def _sync_open_listing(session: AsyncSession, row: AidRequest) -> None:
    now_open = is_open(row)
    if not now_open and not row.ngo_visible:
        return
    if not now_open and row.sensitivity == Sensitivity.restricted:
        # Reclassified to restricted while listed: a tombstone, not a last listing.
        row.ngo_visible = False
        retraction = OpenRequestRetracted(
            request_id=row.id,
            reason=RetractionReason.reclassified_restricted,
            version=row.version,
            retracted_at=row.updated_at,
        )
        await outbox.add(session, retraction, subject=row.id)
        return
    listing = OpenAidRequest(
        **request_summary(row).model_dump(),
        status=row.status,
        sensitivity=ListedSensitivity(row.sensitivity),
        version=row.version,
        updated_at=row.updated_at,
    )
    model: type[OpenAidRequest]
    if now_open and not row.ngo_visible:
        model = OpenRequestOpened
    elif now_open:
        model = OpenRequestUpdated
    else:
        model = OpenRequestClosed
    row.ngo_visible = now_open
    await outbox.add(session, model(**listing.model_dump()), subject=row.id)


async def record_offer(
    session: AsyncSession,
    offer: Offer,
    request: AidRequest,
    event_model: type[OfferState],
    *,
    actor: str,
    **extra: Any,
) -> None:
    """Emit an offer event (NGO-readable: the coarsened summary only) and a history row."""
    data = event_model(**offer_state(offer, request).model_dump(), **extra)
    await outbox.add(session, data, subject=offer.id)
    session.add(
        HistoryEntry(
            entity_id=request.id,
            entity_type="offer",
            event_type=CATALOG.for_model(event_model).name,
            version=offer.version,
            status=offer.status,
            actor=actor,
            detail={"offer_id": str(offer.id), "ngo_id": str(offer.ngo_id), "round": offer.round},
            at=offer.updated_at,
        )
    )


def offer_state(offer: Offer, request: AidRequest) -> OfferState:
    return OfferState.model_validate(
        dict(
            offer_id=offer.id,
            request_id=offer.request_id,
            ngo_id=offer.ngo_id,
            status=offer.status,
            round=offer.round,
            rank=offer.rank,
            score=offer.score,
            explanation=offer.explanation,
            request=request_summary(request),
            sensitivity=offer.sensitivity,
            offered_at=offer.offered_at,
            respond_by=offer.respond_by,
            responded_at=offer.responded_at,
            decline_reason=offer.decline_reason,
            updated_at=offer.updated_at,
            version=offer.version,
        )
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (str(v) if not isinstance(v, int | float | bool | None) else v)
        for k, v in values.items()
    }
