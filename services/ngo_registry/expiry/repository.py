"""Queries of the expiry sweep: the next batch of vettings and agreements reaching their dates.

Each locks with `FOR UPDATE SKIP LOCKED`, so replicas sweeping at once share the work
without waiting on each other or doing it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import Agreement, Ngo
from shared.events.schemas.ngo_registry import AgreementStatus, VettingStatus


async def vetting_run_out(session: AsyncSession, today: date, *, limit: int) -> Sequence[Ngo]:
    """Vetted or suspended NGOs whose `vetted_until` has passed, in id order, locked."""
    query = (
        select(Ngo)
        .where(
            Ngo.vetting_status.in_([VettingStatus.vetted, VettingStatus.suspended]),
            Ngo.vetted_until < today,
        )
        .order_by(Ngo.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def agreements_ended(
    session: AsyncSession, today: date, *, limit: int
) -> Sequence[Agreement]:
    """Active agreements whose `ends_on` has passed, in id order, locked."""
    query = (
        select(Agreement)
        .where(Agreement.status == AgreementStatus.active, Agreement.ends_on < today)
        .order_by(Agreement.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def agreements_to_warn(
    session: AsyncSession, today: date, lead_days: int, *, limit: int
) -> Sequence[Agreement]:
    """Active agreements ending within `lead_days` whose parties have not been warned yet,
    in id order, locked."""
    query = (
        select(Agreement)
        .where(
            Agreement.status == AgreementStatus.active,
            Agreement.expiring_notified_at.is_(None),
            Agreement.ends_on >= today,
            Agreement.ends_on <= today + timedelta(days=lead_days),
        )
        .order_by(Agreement.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()
