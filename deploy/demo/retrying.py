"""How a field unit retries: what the simulator (and any client that opts in) does on a bad link.

A field unit that got no answer, or a 5xx, does not know whether its report was taken. It
sends the same request again with the same `Idempotency-Key` — the service answers a replay
with the first response and creates nothing twice — after a jittered, growing pause
(`shared.retry.Backoff`, the platform's one backoff), and never sooner than the service's
`Retry-After` asks. It keeps at it for a while (a Postgres restart, a service restart), then
gives up and says so. A request without an `Idempotency-Key` that is not a read is retried
only when its connection was never made: anything else might be applied twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from shared.retry import Backoff

NOT_RETRIED_5XX = frozenset({501, 505})  # the server says it never will


def _retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class RetryPolicy:
    """When to try a request again, how long to wait, and a count of what was retried."""

    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=8.0))
    give_up_after: float = 300.0  # seconds since the first attempt of one request
    max_retry_after: float = 60.0  # a Retry-After longer than this is waited only this long
    retried: Counter[str] = field(default_factory=Counter)  # retries, by reason
    gave_up: Counter[str] = field(default_factory=Counter)  # requests abandoned, by reason
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def total_retries(self) -> int:
        return sum(self.retried.values())

    def reason_for_status(self, status_code: int) -> str | None:
        if status_code == 429 or (status_code >= 500 and status_code not in NOT_RETRIED_5XX):
            return str(status_code)
        return None

    @staticmethod
    def reason_for_error(error: httpx.TransportError) -> str:
        if isinstance(error, httpx.TimeoutException):
            return "timeout"
        if isinstance(error, httpx.ConnectError):
            return "connection refused"
        return "connection dropped"

    def within_budget(self, started: float) -> bool:
        return time.monotonic() - started < self.give_up_after

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """The pause before retry number `attempt` (1, 2, …): jittered backoff, at least
        what `Retry-After` asked (up to `max_retry_after`)."""
        jittered = self.backoff.delay(attempt)
        asked = _retry_after_seconds(retry_after)
        if asked is None:
            return jittered
        return max(jittered, min(asked, self.max_retry_after))

    async def wait(self, attempt: int, reason: str, retry_after: str | None = None) -> None:
        self.retried[reason] += 1
        await self.sleep(self.delay(attempt, retry_after))
