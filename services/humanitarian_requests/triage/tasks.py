"""The triage worker: a background loop of the service runtime.

Its queue is the requests table itself (`status = 'submitted'`, a partial index): intake
commits a request and its `aid_request.submitted` outbox row, and the outbox trigger's NOTIFY
on that commit wakes the worker, which triages everything waiting (`triage/service.py`). A
poll every `triage_poll_interval_seconds` covers a lost notification or a listener that is
reconnecting, so nothing waits longer than that. Several replicas may run it: the advisory
lock of `triage_pass` lets one pass run at a time, and each request is triaged once, in the
transaction that commits its outcome.

A database away aborts the pass (nothing half-written) and the worker retries with backoff; a
request that fails on its own is held back for `HOLD_BACK_SECONDS` while the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.triage.service import triage_pass
from shared.db import plain_dsn, unit_of_work
from shared.events.outbox import notify_channel
from shared.logging import get_logger
from shared.retry import Backoff
from shared.runtime import ServiceRuntime
from shared.transient import is_transient

log = get_logger(__name__)

BATCH = 20  # requests per pass: a cancel of a waiting request waits at most one pass
HOLD_BACK_SECONDS = 30.0


class HeldBack:
    """Requests that failed on their own, each held back until its time is up."""

    def __init__(self) -> None:
        self._until: dict[uuid.UUID, float] = {}

    def add(self, request_ids: list[uuid.UUID]) -> None:
        until = time.monotonic() + HOLD_BACK_SECONDS
        self._until.update((request_id, until) for request_id in request_ids)

    def current(self) -> list[uuid.UUID]:
        now = time.monotonic()
        self._until = {k: v for k, v in self._until.items() if v > now}
        return list(self._until)


async def drain(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    held_back: HeldBack | None = None,
) -> int:
    """Triage every request waiting, pass after pass; returns how many were triaged. When it
    returns, every request committed before the call is triaged, except those another
    transaction held locked (a cancel in flight) and those held back after a failure."""
    held_back = held_back or HeldBack()
    triaged = 0
    while True:
        async with unit_of_work(sessionmaker) as session:
            outcome = await triage_pass(
                session,
                settings=settings,
                now=datetime.now(UTC),
                limit=BATCH,
                held_back=held_back.current(),
            )
        triaged += len(outcome.triaged)
        held_back.add(outcome.failed)
        if outcome.claimed < BATCH:
            return triaged


async def triage_worker(runtime: ServiceRuntime) -> None:
    """Drain the triage queue whenever a commit notifies, or every poll interval."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    wake = asyncio.Event()
    held_back = HeldBack()
    backoff = Backoff(base=0.1, cap=5.0)
    failures = 0
    listener: asyncpg.Connection | None = None
    try:
        while True:
            listener = await _listen(listener, settings, wake)
            wake.clear()
            try:
                count = await drain(runtime.sessionmaker, settings, held_back)
                failures = 0
                if count:
                    log.debug("triage.pass", triaged=count)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = backoff.delay(failures)
                log.warning(
                    "triage.pass_failed",
                    error=repr(exc),
                    transient=is_transient(exc),
                    retry_in=round(delay, 3),
                )
                await asyncio.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=settings.triage_poll_interval_seconds)
    finally:
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close()


async def _listen(
    listener: asyncpg.Connection | None, settings: Settings, wake: asyncio.Event
) -> asyncpg.Connection | None:
    """The LISTEN connection on the outbox's channel, (re)opened when it is gone; None while
    the database is away (the poll interval then paces the worker)."""
    if listener is not None and not listener.is_closed():
        return listener
    try:
        listener = await asyncpg.connect(plain_dsn(settings.service_database_url), timeout=10)
        await listener.add_listener(notify_channel(outbox.schema), lambda *_: wake.set())
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("triage.listen_failed", error=repr(exc))
        return None
    return listener
