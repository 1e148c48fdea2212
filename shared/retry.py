"""One backoff policy for everything that waits and tries again.

Exponential backoff with *full jitter* (a random delay between zero and the exponential
ceiling): when a database or a broker comes back, the relay, every consumer, the supervisor
and every field client must not all hit it in the same millisecond. Used by the relay, the
inbox consumer, the runtime's supervisor and the CLI alike, so the policy is tuned in one place.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

_jitter = random.SystemRandom()


@dataclass(frozen=True)
class Backoff:
    """`delay(attempt)` for attempt 1, 2, 3 … : uniform in [0, min(cap, base * 2**(attempt-1))]."""

    base: float = 0.2
    cap: float = 5.0

    def ceiling(self, attempt: int) -> float:
        exponent = min(max(attempt - 1, 0), 32)  # 2**32 * base is far past any cap
        return float(min(self.cap, self.base * 2**exponent))

    def delay(self, attempt: int) -> float:
        return _jitter.uniform(0.0, self.ceiling(attempt))

    async def sleep(self, attempt: int) -> None:
        await asyncio.sleep(self.delay(attempt))


def jittered(interval: float, spread: float = 0.2) -> float:
    """`interval` give or take `spread` of it, so that periodic work of several replicas (or
    services) started together does not stay in step."""
    return _jitter.uniform(interval * (1 - spread), interval * (1 + spread))
