"""Read one aid request's offer exchange as the caller may see it, for the EDXL-RM builder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.common.events import offer_state, request_summary
from services.humanitarian_requests.db.models.tables import AidRequest
from services.humanitarian_requests.edxl import repository
from services.humanitarian_requests.edxl.builder import Delivery, exchange_document
from services.humanitarian_requests.edxl.errors import ExchangeNotFound


async def edxl_rm_exchange(
    session: AsyncSession, request_id: uuid.UUID, *, ngo_id: uuid.UUID | None
) -> bytes:
    """The EDXL-RM messages of `request_id`: every offer for staff (`ngo_id` None), only the
    offers made to `ngo_id` for an NGO. A request never offered to the caller is 404,
    exactly like one that does not exist."""
    request = await session.get(AidRequest, request_id)
    offers = list(await repository.offers_of_request(session, request_id, ngo_id=ngo_id))
    if request is None or not offers:
        raise ExchangeNotFound(f"No aid request {request_id} offered to you")
    delivery = Delivery(
        status=request.status,
        fulfilment=request.fulfilment,
        in_progress_at=request.in_progress_at,
        fulfilled_at=request.fulfilled_at,
    )
    return exchange_document(
        request_summary(request),
        [offer_state(offer, request) for offer in offers],
        delivery,
        generated_at=datetime.now(UTC),
    )
