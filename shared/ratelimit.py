"""Per-principal rate limits: a token bucket per (limit, token subject), in process.

Intake (reports, batches) and exports (CSV, sitrep) take a `rate_limit("intake")` or
`rate_limit("export")` dependency. A caller over its bucket gets a 429 problem with
`Retry-After` (the seconds until one token is back) and nothing is done. The buckets live in
the process: each replica admits the configured rate on its own, so a deployment of N
replicas behind a balancer admits up to N times it — documented, and acceptable for a limit
whose job is to stop one runaway client or stolen token, not to meter. Settings:
`CONCORD_RATE_LIMIT_{INTAKE,EXPORT}_{PER_MINUTE,BURST}`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from shared.auth import CurrentPrincipal
from shared.config import ServiceSettings
from shared.errors import TooManyRequests
from shared.state import StateKey, service_state

MAX_TRACKED = 100_000
"""Buckets kept per limit; past it, full (idle) buckets are dropped first."""


class TokenBucket:
    """`burst` tokens, refilled at `per_minute` a minute, per key."""

    def __init__(
        self, *, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 if granted, else the seconds until one is back."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= MAX_TRACKED:
            return
        full = [
            k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst
        ]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


RateLimits = dict[str, TokenBucket]

RATE_LIMITS: StateKey[RateLimits] = StateKey("rate_limits")
"""The app's buckets, one per limit, created on the first charge. A key of the app's state
rather than one of `ServiceState`'s attributes: the state sits below `shared.auth`, which
this module builds on."""


def _limits(settings: ServiceSettings) -> RateLimits:
    return {
        "intake": TokenBucket(
            per_minute=settings.rate_limit_intake_per_minute,
            burst=settings.rate_limit_intake_burst,
        ),
        "export": TokenBucket(
            per_minute=settings.rate_limit_export_per_minute,
            burst=settings.rate_limit_export_burst,
        ),
    }


def rate_limit(name: str) -> Any:
    """A dependency charging one token of the caller's `name` bucket (429 when empty)."""

    async def charge(request: Request, principal: CurrentPrincipal) -> None:
        state = service_state(request)
        limits = state.get_or_create(RATE_LIMITS, lambda: _limits(state.settings))
        wait = limits[name].take(principal.subject)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Too many {name} requests for this principal; retry in {seconds} s",
                retry_after=seconds,
                limit=name,
            )

    return Depends(charge)
