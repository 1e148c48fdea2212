"""The base of every request body: unknown fields refused at every level, NUL refused.

Postgres cannot store the NUL character and an unknown field is a client's mistake that
would otherwise be dropped silently; both are a 422 problem at the edge. Every input model,
nested ones included, derives from `StrictInput` (or a service's subclass of it), and bounds
its own strings and lists with `Field(max_length=…)`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

NUL = "\x00"


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class StrictInput(BaseModel):
    """Base of every body a service accepts: unknown fields and NUL characters are 422."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return data


Code = Annotated[str, StringConstraints(max_length=20)]
"""A short code in a list: a P-code, a country or language code."""

Line = Annotated[str, StringConstraints(max_length=2000)]
"""One line of free text in a list: an objective, an agenda item, a responsibility."""

Name = Annotated[str, StringConstraints(max_length=200)]
"""A name or label in a list: a signatory, a resource."""
