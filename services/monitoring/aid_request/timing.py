"""Durations as logarithmic histogram buckets, and percentiles read back from them.

A duration of `s` seconds falls in bucket `floor(log(1 + s) / log(BASE))`; each bucket spans
about 15 % of its value, which is the precision of the p50/p90 the dashboard shows. Keeping
counts per bucket instead of every duration makes adding a request O(1) and reading a
percentile proportional to the number of buckets, not the number of requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

BASE = 1.15
STAGES = ("triage", "offer", "acceptance", "fulfilment")


def bucket_of(seconds: float) -> int:
    return math.floor(math.log1p(max(seconds, 0.0)) / math.log(BASE))


def bucket_value(bucket: int) -> float:
    """The representative duration (seconds) of a bucket: its geometric middle."""
    low = BASE**bucket - 1
    high = BASE ** (bucket + 1) - 1
    return math.sqrt(max(low, 0.0) * high) if low > 0 else high / 2


def percentile(counts: Iterable[tuple[int, int]], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) of (bucket, count) pairs; None when there are none."""
    ordered = sorted((b, n) for b, n in counts if n > 0)
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket, n in ordered:
        seen += n
        if seen >= rank:
            return round(bucket_value(bucket), 1)
    return round(bucket_value(ordered[-1][0]), 1)
