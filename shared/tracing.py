"""W3C Trace Context (`traceparent`) carried from HTTP requests into events and back.

The HTTP middleware and the event consumer set the current trace for their unit of work; the
outbox stamps it on every event written in it, so one trace id follows a field report from
the request that created it through every service that reacts to it.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_current: ContextVar[str | None] = ContextVar("traceparent", default=None)


def new_traceparent(trace_id: str | None = None) -> str:
    """A fresh span id in the given trace (a new trace when none is given)."""
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_of(traceparent: str | None) -> str:
    """A new span in the same trace as `traceparent`, or a new trace if it is not valid."""
    trace_id = trace_id_of(traceparent)
    return new_traceparent(trace_id)


def trace_id_of(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if not match or set(match.group(1)) == {"0"}:
        return None
    return match.group(1)


def set_current(traceparent: str | None) -> None:
    _current.set(traceparent)


def current() -> str | None:
    return _current.get()
