"""Crash points for chaos tests.

A crash point is a named place where a process can be made to die at once, with no cleanup,
exactly as if the machine lost power there: `CONCORD_CRASH_AT=relay.after_publish` makes the
outbox relay exit right after Kafka acknowledged a batch and before it marked the rows
published. Tests start real processes with that variable, watch them die, restart them without
it, and check that nothing was lost or applied twice. In production the variable is unset and
a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os

CRASH_EXIT_CODE = 86
CRASH_ENV = "CONCORD_CRASH_AT"


def crash_point(name: str) -> None:
    """Exit the process immediately if the environment names this crash point."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_EXIT_CODE)
