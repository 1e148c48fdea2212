"""Live updates for the dashboard: Postgres NOTIFY in, server-sent events out.

Handlers call `notify(session, kind, payload)` in the transaction that changes a read model;
Postgres delivers the notification only if that transaction commits, so the dashboard never
hears of a change that rolled back. One listener connection per process (a runtime
background task) fans notifications out to every open SSE stream through bounded queues: a
slow browser drops messages instead of slowing the others. The number of streams is bounded
too, per principal (`MONITORING_LIVE_MAX_SUBSCRIBERS_PER_PRINCIPAL`: one more of the same
principal is a 429) and overall (`MONITORING_LIVE_MAX_SUBSCRIBERS`: one more is a 503), both
with `Retry-After`, rather than letting open connections grow without limit or one
principal's tabs take every slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime
from enum import Enum
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import plain_dsn
from shared.errors import TooManyRequests, Unavailable
from shared.events.envelope import CloudEvent
from shared.logging import get_logger
from shared.runtime import ServiceRuntime
from shared.state import StateKey

log = get_logger(__name__)

CHANNEL = "monitoring_live"


async def notify(session: AsyncSession, kind: str, payload: dict[str, Any]) -> None:
    message = orjson.dumps({"kind": kind, **payload}).decode()
    await session.execute(
        text("SELECT pg_notify(:channel, :message)"),
        {
            "channel": CHANNEL,
            "message": message[:7900],
        },
    )


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def notify_change(session: AsyncSession, kind: str, event: CloudEvent, **fields: Any) -> None:
    """`notify` of a read-model change of `kind` that `event` caused: its type and `fields`
    (ids as strings, enums as their values, times in ISO 8601), the one payload shape every
    handler sends."""
    payload = {"type": event.type, **{name: _plain(value) for name, value in fields.items()}}
    await notify(session, kind, payload)


SUBSCRIBERS_RETRY_AFTER_SECONDS = 10


class Broadcaster:
    def __init__(
        self, queue_size: int = 200, max_subscribers: int = 200, max_per_principal: int = 5
    ) -> None:
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self.max_per_principal = max_per_principal
        self._subscribers: dict[asyncio.Queue[str], str | None] = {}
        self._per_principal: Counter[str] = Counter()
        self.listening = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def add_subscriber(self, principal: str | None = None) -> asyncio.Queue[str]:
        """A queue of its own for one more stream of `principal` (a token's subject), or
        `TooManyRequests` (429) when that principal already holds its share of streams, or
        `Unavailable` (503) when the overall bound is reached. Synchronous on purpose: check
        and add happen with no await between them, so concurrent requests cannot overshoot
        either bound."""
        if principal is not None and self._per_principal[principal] >= self.max_per_principal:
            raise TooManyRequests(
                f"You already have {self.max_per_principal} live streams open; close one "
                "or retry later",
                retry_after=SUBSCRIBERS_RETRY_AFTER_SECONDS,
            )
        if len(self._subscribers) >= self.max_subscribers:
            raise Unavailable(
                f"The live stream already has {self.max_subscribers} subscribers; retry later",
                retry_after=SUBSCRIBERS_RETRY_AFTER_SECONDS,
            )
        queue: asyncio.Queue[str] = asyncio.Queue(self.queue_size)
        self._subscribers[queue] = principal
        if principal is not None:
            self._per_principal[principal] += 1
        return queue

    def remove_subscriber(self, queue: asyncio.Queue[str]) -> None:
        """Give the stream's slots back; a second call for the same queue does nothing."""
        if queue not in self._subscribers:
            return
        principal = self._subscribers.pop(queue)
        if principal is not None:
            self._per_principal[principal] -= 1
            if self._per_principal[principal] <= 0:
                del self._per_principal[principal]

    def publish(self, message: str) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, principal: str | None = None) -> AsyncIterator[asyncio.Queue[str]]:
        queue = self.add_subscriber(principal)
        try:
            yield queue
        finally:
            self.remove_subscriber(queue)

    async def run(self, runtime: ServiceRuntime) -> None:
        """The background task: listen until cancelled (the runtime restarts it on errors)."""
        conn = await asyncpg.connect(plain_dsn(runtime.settings.service_database_url))
        try:
            await conn.add_listener(CHANNEL, lambda *args: self.publish(str(args[3])))
            self.listening.set()
            log.info("live.listening", channel=CHANNEL)
            while True:
                await asyncio.sleep(30)
                await conn.execute("SELECT 1")  # notice a dead connection, so we reconnect
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await conn.close()


BROADCASTER: StateKey[Broadcaster] = StateKey("broadcaster")
"""The process's broadcaster in the app's state: `create_app` sets it, the live route reads it."""
