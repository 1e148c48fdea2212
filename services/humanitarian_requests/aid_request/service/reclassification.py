"""Staff reclassification of a request, with a reason: never below the class the server
derives from what the request is (its floor), and to restricted it leaves every NGO listing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request.service.visibility import (
    TransitionBy,
    lock_for_transition,
    view_for,
)
from services.humanitarian_requests.common.errors import ReclassificationRefused
from services.humanitarian_requests.common.events import record_transition, touch
from services.humanitarian_requests.common.principals import actor_of
from services.humanitarian_requests.db.models.tables import AidRequest
from services.humanitarian_requests.matching.repository import lock_request
from services.humanitarian_requests.matching.service import reclassify_offers
from shared.auth import Principal
from shared.classification import aid_request_floor, reclassification_error
from shared.events.schemas.humanitarian_requests import AidRequestReclassified
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)


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
    await apply_reclassification(
        session, row, sensitivity=sensitivity, reason=reason, actor=actor_of(principal), now=now
    )
    return view_for(row, principal)


async def restrict_exposed(
    session: AsyncSession, request_id: uuid.UUID, *, reason: str, actor: str, now: datetime
) -> bool:
    """A request named by a contained data incident becomes restricted (the system's
    reclassification, `data_incident/service.py`): it leaves every NGO listing with a
    retraction, and its offers follow. False when there is no such request or it already
    is restricted (a repeated containment changes nothing)."""
    row = await lock_request(session, request_id)
    if row is None or row.sensitivity == Sensitivity.restricted.value:
        return False
    await apply_reclassification(
        session, row, sensitivity=Sensitivity.restricted, reason=reason, actor=actor, now=now
    )
    return True


async def apply_reclassification(
    session: AsyncSession,
    row: AidRequest,
    *,
    sensitivity: Sensitivity,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    """Reclassify the locked request (never below its floor, never to the class it has), its
    offers in step, and record it: the `reclassified` event is the audit."""
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
