"""Input Postgres cannot store (the NUL character) is refused at the edge as 422."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

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
    """Base of every body the service accepts: unknown fields and NUL characters are 422."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return data
