"""Queries of aid requests: lookups, clusters, history, and who may see which request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.common.events import OPEN_STATUSES
from services.humanitarian_requests.db.models.tables import (
    AidRequest,
    HistoryEntry,
    NgoReplica,
    Offer,
)
from shared.events.schemas.humanitarian_requests import OfferStatus, RequestStatus
from shared.gazetteer import gazetteer
from shared.vocabulary import Sector, Sensitivity


async def get(session: AsyncSession, request_id: uuid.UUID) -> AidRequest | None:
    return await session.get(AidRequest, request_id)


async def insert_unless_client_id_taken(
    session: AsyncSession, values: dict[str, Any]
) -> AidRequest | None:
    """Insert a new request in one statement; None when its unit's client_id is taken.

    `ON CONFLICT DO NOTHING` on the (unit, client_id) index: a concurrent submission of the
    same client_id waits for the first to commit and then inserts nothing (or inserts, if
    the first rolled back). One round trip, where a look-up first and an insert in a
    savepoint took four."""
    statement = (
        insert(AidRequest)
        .values(values)
        .on_conflict_do_nothing(
            index_elements=[AidRequest.reporting_unit, AidRequest.client_id],
            index_where=AidRequest.client_id.is_not(None),
        )
        .returning(AidRequest)
    )
    return (await session.scalars(statement)).one_or_none()


async def find_by_client_id(
    session: AsyncSession, reporting_unit: str, client_id: str
) -> AidRequest | None:
    return (
        await session.execute(
            select(AidRequest).where(
                AidRequest.reporting_unit == reporting_unit, AidRequest.client_id == client_id
            )
        )
    ).scalar_one_or_none()


async def share_lock(session: AsyncSession, request_id: uuid.UUID) -> AidRequest | None:
    """The request re-read under a share lock: waits for a writer holding its row lock."""
    return (
        await session.execute(
            select(AidRequest)
            .where(AidRequest.id == request_id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def cluster_member_ids(session: AsyncSession, root_id: uuid.UUID) -> Sequence[uuid.UUID]:
    """The other requests of the cluster rooted at `root_id`, by submission."""
    query = (
        select(AidRequest.id)
        .where(AidRequest.cluster_id == root_id, AidRequest.id != root_id)
        .order_by(AidRequest.submitted_at, AidRequest.id)
    )
    return (await session.scalars(query)).all()


async def list_requests(
    session: AsyncSession,
    *,
    reporting_unit: str | None,
    status: RequestStatus | None,
    sector: Sector | None,
    limit: int,
    offset: int,
) -> Sequence[AidRequest]:
    query = select(AidRequest).order_by(AidRequest.submitted_at.desc(), AidRequest.id)
    if reporting_unit is not None:
        query = query.where(AidRequest.reporting_unit == reporting_unit)
    if status is not None:
        query = query.where(AidRequest.status == status)
    if sector is not None:
        query = query.where(AidRequest.sector == sector)
    return (await session.scalars(query.limit(limit).offset(offset))).all()


async def history_of(session: AsyncSession, entity_id: uuid.UUID) -> Sequence[HistoryEntry]:
    return (
        await session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.entity_id == entity_id)
            .order_by(HistoryEntry.id)
        )
    ).all()


def _in_scope(ngo: NgoReplica | None, row: AidRequest, today: date) -> bool:
    """The request's sector and area fall within one of the NGO's current grants."""
    if ngo is None:
        return False
    gaz = gazetteer()
    return any(
        grant["sector"] == row.sector
        and date.fromisoformat(grant["valid_until"]) >= today
        and any(area in gaz and gaz.covers(area, row.pcode) for area in grant["pcodes"])
        for grant in ngo.eligibility
    )


def open_to_ngo(ngo: NgoReplica | None, row: AidRequest, today: date) -> bool:
    return (
        row.status in OPEN_STATUSES
        and row.sensitivity != Sensitivity.restricted
        and row.duplicate_of is None
        and _in_scope(ngo, row, today)
    )


async def ngo_can_see(
    session: AsyncSession, ngo_id: uuid.UUID, row: AidRequest, today: date
) -> bool:
    if row.assigned_ngo_id == ngo_id:
        return True
    # An offer shows the request to its NGO only while it stands: once declined, expired
    # or withdrawn, the request is the NGO's to see again only if it is open to it.
    if row.current_offer_id is not None:
        current = await session.get(Offer, row.current_offer_id)
        if (
            current is not None
            and current.ngo_id == ngo_id
            and current.status == OfferStatus.pending
        ):
            return True
    return open_to_ngo(await session.get(NgoReplica, ngo_id), row, today)


async def list_for_ngo(
    session: AsyncSession, ngo_id: uuid.UUID, *, today: date, limit: int, offset: int
) -> list[AidRequest]:
    """Assignments of the NGO, then the open non-restricted requests in its grants."""
    ngo = await session.get(NgoReplica, ngo_id)
    sectors = sorted({g["sector"] for g in ngo.eligibility}) if ngo is not None else []
    rows = (
        await session.scalars(
            select(AidRequest)
            .where(
                or_(
                    AidRequest.assigned_ngo_id == ngo_id,
                    AidRequest.status.in_(OPEN_STATUSES) & AidRequest.sector.in_(sectors),
                )
            )
            .order_by(AidRequest.priority_score.desc(), AidRequest.id)
        )
    ).all()
    visible = [r for r in rows if r.assigned_ngo_id == ngo_id or open_to_ngo(ngo, r, today)]
    return visible[offset : offset + limit]
