"""Input Postgres cannot store (the NUL character) is refused at the edge as 422."""

from __future__ import annotations

from shared.inputs import NUL, StrictInput, has_nul

__all__ = ["NUL", "StrictInput", "has_nul"]
