"""One way to say what did not validate, for every input path: a request body (the 422
problem, `shared.web`), one item of a store-and-forward batch (its outcome), and an event a
consumer cannot read (the dead-letter reason, `shared.events.inbox`).

Each error is `{location, message, type}`, plus `allowed` when pydantic names the values it
would have taken (an enum); the summary is the first few as `location: message`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SUMMARY_LIMIT = 5


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors (`exc.errors()`) as Concord reports them."""
    return [
        {
            "location": [str(part) for part in error.get("loc", ())],
            "message": error.get("msg", ""),
            "type": error.get("type", ""),
            **(
                {"allowed": error["ctx"]["expected"]}
                if "expected" in (error.get("ctx") or {})
                else {}
            ),
        }
        for error in errors
    ]


def validation_summary(errors: Iterable[Mapping[str, Any]], *, limit: int = SUMMARY_LIMIT) -> str:
    """The first `limit` errors on one line, `location: message; …` (`<root>` for an error
    of the whole value)."""
    reported = validation_errors(errors)[:limit]
    return "; ".join(f"{'.'.join(e['location']) or '<root>'}: {e['message']}" for e in reported)
