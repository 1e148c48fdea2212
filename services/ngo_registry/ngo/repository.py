"""Queries on NGOs and their registrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.db.models.registry import Ngo, Registration
from services.ngo_registry.ngo.errors import DuplicateRegistration
from services.ngo_registry.ngo.schemas import RegistrationIn
from shared.events.schemas.ngo_registry import VettingStatus
from shared.gazetteer import gazetteer


async def get(session: AsyncSession, ngo_id: uuid.UUID, *, lock: bool = False) -> Ngo | None:
    query = select(Ngo).where(Ngo.id == ngo_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def existing_ids(session: AsyncSession, ngo_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these NGOs the registry knows."""
    return set((await session.scalars(select(Ngo.id).where(Ngo.id.in_(ngo_ids)))).all())


async def registrations_of(session: AsyncSession, ngo_id: uuid.UUID) -> Sequence[Registration]:
    query = (
        select(Registration)
        .where(Registration.ngo_id == ngo_id)
        .order_by(Registration.country, Registration.registration_number)
    )
    return (await session.scalars(query)).all()


async def replace_registrations(
    session: AsyncSession, ngo_id: uuid.UUID, registrations: list[RegistrationIn]
) -> None:
    """Make the NGO's registrations exactly these.

    The unique constraint on (country, number) decides: a pre-check alone would let two
    officers registering the same organisation at once both pass. The insert runs in a
    savepoint so that, on a clash, the transaction is still usable to name the holder.
    """
    await session.execute(delete(Registration).where(Registration.ngo_id == ngo_id))
    if not registrations:
        return
    rows = [{"id": uuid.uuid4(), "ngo_id": ngo_id, **r.model_dump()} for r in registrations]
    try:
        async with session.begin_nested():
            await session.execute(insert(Registration), rows)
    except IntegrityError:
        keys = [(r.country, r.registration_number) for r in registrations]
        holder = (
            await session.execute(
                select(Registration.country, Registration.registration_number, Ngo.id, Ngo.name)
                .join(Ngo, Ngo.id == Registration.ngo_id)
                .where(tuple_(Registration.country, Registration.registration_number).in_(keys))
                .where(Registration.ngo_id != ngo_id)
                .limit(1)
            )
        ).first()
        if holder is None:  # the other writer rolled back meanwhile; let the client retry
            raise DuplicateRegistration(
                "A concurrent registration clashed; retry", existing_ngo_id=None
            ) from None
        raise DuplicateRegistration(
            f"Registration {holder.registration_number} in {holder.country} already belongs "
            f"to {holder.name!r} ({holder.id})",
            country=holder.country,
            registration_number=holder.registration_number,
            existing_ngo_id=str(holder.id),
            existing_ngo_name=holder.name,
        ) from None


async def list_directory(
    session: AsyncSession,
    *,
    sector: str | None,
    pcode: str | None,
    status: VettingStatus | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Ngo], int]:
    """NGOs by name; `pcode` finds those working in that area, in an area inside it, or in an
    area containing it."""
    query = select(Ngo)
    if sector is not None:
        query = query.where(Ngo.sectors.contains([sector]))
    if pcode is not None:
        g = gazetteer()
        related = set(g.ancestors(pcode)) | {a for a in g.areas if g.covers(pcode, a)} | {pcode}
        query = query.where(Ngo.operating_areas.overlap(sorted(related)))
    if status is not None:
        query = query.where(Ngo.vetting_status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(query.order_by(Ngo.name, Ngo.id).limit(limit).offset(offset))
    return page.all(), int(total or 0)
