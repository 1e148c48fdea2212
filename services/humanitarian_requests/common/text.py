"""Input Postgres cannot store must be refused at the edge as 422, never reach the database.

Postgres text and JSONB refuse the NUL character (U+0000): before this check such a report
raised a database error, a 500 for a single POST and, in a store-and-forward batch, a 500
that sank every other item with it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

NUL = "\x00"


def has_nul(value: Any) -> bool:
    """True if any string in `value` (walked through dicts and lists) holds a NUL."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class StorableInput(BaseModel):
    """Base of every body the service stores: refuses the NUL character anywhere in it."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return data
