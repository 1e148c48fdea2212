"""The log scrubber: no personal data and no SQL parameters in any log line (issue 13).

Logs leave the data-responsibility perimeter: they are shipped, kept for months and read by
whoever operates the machine. So every line, whoever wrote it (our code, SQLAlchemy, asyncpg,
uvicorn, aiokafka), passes this processor before it is rendered:

- the value of a field whose name says it holds personal or secret data (`description`,
  `contact`, `lat`, `token`, ...) is replaced by `[redacted]`, at any depth;
- in every text (the message, an exception's traceback, any string field) what the database
  and the validators echo back from their input is cut out: SQLAlchemy's `[parameters: ...]`
  (the engines also run with `hide_parameters=True`), Postgres' `Key (col)=(value)`,
  `Failing row contains (...)` and `invalid input syntax for type ...: "value"`, pydantic's
  `input_value=...`; bearer tokens and JWTs, e-mail addresses, telephone numbers and
  coordinates written with four or more decimals (about 10 m) are masked.

Ids, counts, types, statuses and P-codes pass untouched: they are what an operator needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset(
    {
        "description",
        "contact",
        "contact_name",
        "contact_phone",
        "phone",
        "email",
        "survivor",
        "survivor_name",
        "victim",
        "access_constraints",
        "lat",
        "lon",
        "latitude",
        "longitude",
        "location",
        "coordinates",
        "geometry",
        "polygon",
        "body",
        "payload",
        "parameters",
        "params",
        "password",
        "secret",
        "token",
        "authorization",
        "cookie",
        "api_key",
    }
)
"""Field names whose values never reach a log line (compared lower-case)."""

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # SQLAlchemy appends the bound parameters to a DBAPI error's text.
    (re.compile(r"\[parameters: .*?\](?=\n|$|\s*\()", re.S), "[parameters: [redacted]]"),
    # Postgres echoes the values of a violated key, a failing row or a bad literal.
    (re.compile(r"(Key \([^)]*\)=)\((?:[^()]|\([^()]*\))*\)"), r"\1(" + REDACTED + ")"),
    (re.compile(r"(Failing row contains )\((?:[^()]|\([^()]*\))*\)"), r"\1(" + REDACTED + ")"),
    (
        re.compile(r'(invalid input (?:syntax|value) for [^:]*: )"(?:[^"\\]|\\.)*"'),
        r'\1"[redacted]"',
    ),
    # asyncpg names the argument it could not encode, with its value.
    (
        re.compile(r"(invalid input for query argument \$\d+: )('(?:[^'\\]|\\.)*'|\S+)"),
        r"\1" + REDACTED,
    ),
    # pydantic's validation errors show what was sent.
    (
        re.compile(r"(input_value=)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,\s\]]+)"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)(bearer\s+)[\w\-.~+/]+=*"), r"\1" + REDACTED),
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[jwt]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w.])\+\d{1,4}[\s-]?[\w-]{5,}"), "[phone]"),
    (re.compile(r"(?<![\w.:])-?\d{1,3}\.\d{4,}(?![\w.])"), "[coordinate]"),
]


def scrub_text(text: str) -> str:
    """`text` with every database echo, token, address, number and coordinate masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(key: str | None, value: Any) -> Any:
    if key is not None and key.lower() in SENSITIVE_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub_value(None, v) for v in value]
    if isinstance(value, BaseException):
        return scrub_text(repr(value))
    return value


_KEEP = frozenset({"timestamp", "level", "logger", "service", "request_id", "trace_id"})


def scrub_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """A structlog processor: run it after `format_exc_info`, before the renderer."""
    return {
        key: value if key in _KEEP else scrub_value(key, value) for key, value in event_dict.items()
    }
