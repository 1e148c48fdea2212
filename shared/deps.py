"""FastAPI dependency aliases every router uses: `DbSession`, `CurrentPrincipal`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import CurrentPrincipal
from shared.runtime import ServiceRuntime

__all__ = ["MAX_OFFSET", "CurrentPrincipal", "DbSession"]

MAX_OFFSET = 2**31 - 1
"""The largest page offset a list route takes (`Query(ge=0, le=MAX_OFFSET)`): past it a
Postgres OFFSET would overflow, a 500 before; now a 422."""


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns, before the response
    is sent (`scope="function"`): a client never sees 201 for a write that did not commit."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessionmaker() as session, session.begin():
        yield session


DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
