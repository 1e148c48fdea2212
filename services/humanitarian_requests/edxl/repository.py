"""Queries of the EDXL-RM exchange: the offers of one aid request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.db.models.tables import Offer


async def offers_of_request(
    session: AsyncSession, request_id: uuid.UUID, *, ngo_id: uuid.UUID | None
) -> Sequence[Offer]:
    """The request's offers in the order they were made (`ngo_id` None: every NGO's; else
    only those made to that NGO)."""
    query = select(Offer).where(Offer.request_id == request_id)
    if ngo_id is not None:
        query = query.where(Offer.ngo_id == ngo_id)
    return (await session.scalars(query.order_by(Offer.offered_at, Offer.round))).all()
