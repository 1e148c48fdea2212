"""Numbers an event can carry, and the bounds every input that becomes an event keeps to.

Why bound numbers at all: a report's numbers travel from the request body into Postgres
(JSONB), out again through the outbox relay, and into every consumer's JSON parser. JSONB keeps
a number exactly and writes `1e20` back as the 21-digit integer `100000000000000000000`,
which the relay's serialiser refuses (it holds 64-bit integers); a JavaScript or other
float64 consumer holds integers exactly only up to 2**53 - 1. A number past those limits,
accepted with a 201, would be an event nobody can carry. So the edge refuses it with a 422
naming the field, and the outbox refuses (`Outbox.add`) whatever an edge forgot.

The domain caps sit far below those limits and far above anything real: no report counts a
billion people, and no request or capacity asks for a billion units of anything.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field

MAX_EXACT_INTEGER = 2**53 - 1
"""The largest integer every JSON consumer (float64) holds exactly."""

MAX_PEOPLE = 1_000_000_000
"""People (affected, casualties, occupants) in one report."""

MAX_QUANTITY = 1_000_000_000
"""Units of one good, service or resource in one request, delivery or capacity."""

MAX_RADIUS_KM = 20_000
"""Half the Earth's circumference: no circle on it is wider."""

MAX_DAYS = 3_660
"""A period in days (reporting frequency): ten years."""

PeopleCount = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]
Quantity = Annotated[float, Field(ge=0, le=MAX_QUANTITY, allow_inf_nan=False)]
PositiveQuantity = Annotated[float, Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False)]
RadiusKm = Annotated[float, Field(gt=0, le=MAX_RADIUS_KM, allow_inf_nan=False)]
PeriodDays = Annotated[int, Field(gt=0, le=MAX_DAYS)]


def unrepresentable_number(value: Any, path: str = "") -> str | None:
    """The path of the first number in `value` (walked through dicts and lists) that a JSON
    event cannot carry exactly — not finite, or beyond ±(2**53 - 1) — else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return path or "<root>"
        return (path or "<root>") if abs(value) > MAX_EXACT_INTEGER else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = unrepresentable_number(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unrepresentable_number(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None
