"""The expiry sweep: vetting and agreements that reach their dates, and early warnings.

State lives in the rows, not in this process: a vetting is due when `vetted_until` has
passed, an agreement when `ends_on` has, and a warning when `expiring_notified_at` is still
empty inside the lead time. Each pass picks a batch with `FOR UPDATE SKIP LOCKED` so that
several replicas share the work without waiting on each other or doing it twice, changes the
rows and writes their events in one transaction, and commits. A crash mid-batch rolls the
whole batch back and the next pass picks it up again; a finished row no longer matches, so
running the sweep twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ngo_registry.agreement import service as agreements
from services.ngo_registry.expiry import repository
from services.ngo_registry.vetting import service as vetting
from shared.db import unit_of_work
from shared.logging import get_logger

log = get_logger(__name__)

BATCH = 100


@dataclass
class SweepResult:
    vetting_expired: int = 0
    agreements_expired: int = 0
    agreements_warned: int = 0

    @property
    def total(self) -> int:
        return self.vetting_expired + self.agreements_expired + self.agreements_warned


async def _expire_vetting(session: AsyncSession, today: date) -> int:
    due = await repository.vetting_run_out(session, today, limit=BATCH)
    for ngo in due:
        await vetting.expire(session, ngo, today)
    return len(due)


async def _expire_agreements(session: AsyncSession, today: date) -> int:
    due = await repository.agreements_ended(session, today, limit=BATCH)
    for agreement in due:
        await agreements.expire(session, agreement, today)
    return len(due)


async def _warn_expiring(session: AsyncSession, today: date, lead_days: int) -> int:
    due = await repository.agreements_to_warn(session, today, lead_days, limit=BATCH)
    for agreement in due:
        await agreements.warn_expiring(session, agreement, today)
    return len(due)


async def sweep_once(
    sessionmaker: async_sessionmaker[AsyncSession], *, today: date, lead_days: int
) -> SweepResult:
    """Run every step until nothing is due; one transaction per batch."""
    result = SweepResult()
    while True:
        async with unit_of_work(sessionmaker) as session:
            expired = await _expire_vetting(session, today)
        result.vetting_expired += expired
        if expired < BATCH:
            break
    while True:
        async with unit_of_work(sessionmaker) as session:
            warned = await _warn_expiring(session, today, lead_days)
        result.agreements_warned += warned
        if warned < BATCH:
            break
    while True:
        async with unit_of_work(sessionmaker) as session:
            ended = await _expire_agreements(session, today)
        result.agreements_expired += ended
        if ended < BATCH:
            break
    if result.total:
        log.info(
            "expiry.swept",
            vetting_expired=result.vetting_expired,
            agreements_expired=result.agreements_expired,
            agreements_warned=result.agreements_warned,
        )
    return result
