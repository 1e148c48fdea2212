"""Telling a transient failure (the database or the broker is away) from a bad message.

The two need opposite treatment. A transient failure says nothing about the message: the same
message will succeed once the database is back, so the consumer must wait and try again, and
must never dead-letter it or commit its offset. Only a failure that the message itself causes
(it cannot be decoded, it does not match its schema, a handler refuses it) is poison.

Postgres says which is which in its SQLSTATE: class 08 (connection exception), 40001
(serialization failure), 40P01 (deadlock), 53 (insufficient resources: too many connections),
57P01-57P05 (admin shutdown, crash shutdown, cannot connect now, ...), 55P03 (lock not
available). Anything raised by the socket or the pool (timeouts, refused connections) is
transient too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01", "55P03", "58")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.append(current.__cause__)
        pending.append(current.__context__)
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            pending.append(orig)


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of the first database error in the chain, if any says one."""
    for link in _chain(error):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def is_transient(error: BaseException) -> bool:
    """True when retrying the same work later can succeed without changing it."""
    code = sqlstate_of(error)
    if code is not None:
        return code.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    for link in _chain(error):
        if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
            return True
        if isinstance(
            link,
            sa_exc.TimeoutError  # the pool had no connection in time
            | sa_exc.DisconnectionError
            | sa_exc.InterfaceError
            | ConnectionError
            | OSError
            | TimeoutError
            | asyncio.TimeoutError,
        ):
            return True
        name = type(link).__name__
        # asyncpg's connection-level errors that carry no SQLSTATE
        if name in {
            "ConnectionDoesNotExistError",
            "InterfaceError",
            "InternalClientError",
            "ConnectionFailureError",
            "PostgresConnectionError",
        }:
            return True
    return False
