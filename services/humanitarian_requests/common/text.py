"""Input Postgres cannot store must be refused at the edge as 422, never reach the database.

Postgres text and JSONB refuse the NUL character (U+0000): before this check such a report
raised a database error, a 500 for a single POST and, in a store-and-forward batch, a 500
that sank every other item with it.
"""

from __future__ import annotations

from shared.inputs import NUL, StrictInput, has_nul

__all__ = ["NUL", "StorableInput", "has_nul"]


class StorableInput(StrictInput):
    """Base of every body the service stores: unknown fields and the NUL character are 422."""
