"""After every change to an NGO: recompute its eligibility, bump its version, rebuild its
search cells and emit its full public state, all in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ngo_registry.agreement import repository as agreements
from services.ngo_registry.db.models import outbox
from services.ngo_registry.db.models.registry import Ngo, SearchCell
from services.ngo_registry.ngo import repository
from services.ngo_registry.ngo.state import compute_grants, is_vetted_on, to_state
from services.ngo_registry.search.indexer import cells_for
from shared.events.schemas.ngo_registry import NgoEligibilityChanged, NgoState
from shared.logging import get_logger

log = get_logger(__name__)


def utc_today() -> date:
    return datetime.now(UTC).date()


async def publish(
    session: AsyncSession,
    ngo: Ngo,
    event: type[NgoState],
    *,
    today: date | None = None,
    **extra: Any,
) -> NgoState:
    """Recompute, bump the version, reindex, and write `event` with the NGO's state."""
    today = today or utc_today()
    grants = compute_grants(ngo, await agreements.active_for_ngo(session, ngo.id, today), today)
    ngo.eligibility = [grant.model_dump(mode="json") for grant in grants]
    ngo.eligible = is_vetted_on(ngo, today) and bool(grants)
    ngo.version += 1
    ngo.updated_at = datetime.now(UTC)
    await session.flush()
    await session.execute(delete(SearchCell).where(SearchCell.ngo_id == ngo.id))
    cells = cells_for(ngo, grants, vetted=is_vetted_on(ngo, today))
    if cells:
        await session.execute(insert(SearchCell), cells)
    state = to_state(ngo)
    await outbox.add(session, event(**state.model_dump(), **extra), subject=ngo.id)
    log.info("ngo.published", ngo_id=str(ngo.id), event_type=event.__name__, version=ngo.version)
    return state


async def refresh_eligibility(
    session: AsyncSession, ngo_ids: list[uuid.UUID], *, today: date | None = None
) -> None:
    """An agreement changed: re-derive each party's eligibility and emit where it changed.

    Rows are locked in id order so that two agreements touching the same NGOs cannot
    deadlock, and so the version bump cannot race a profile update.
    """
    today = today or utc_today()
    for ngo_id in sorted(set(ngo_ids)):
        ngo = await repository.get(session, ngo_id, lock=True)
        if ngo is None:
            continue
        grants = compute_grants(ngo, await agreements.active_for_ngo(session, ngo.id, today), today)
        new = [grant.model_dump(mode="json") for grant in grants]
        if new == ngo.eligibility and ngo.eligible == (is_vetted_on(ngo, today) and bool(grants)):
            continue
        await publish(session, ngo, NgoEligibilityChanged, today=today)
