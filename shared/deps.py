"""FastAPI dependency aliases every router uses: `DbSession`, `CurrentPrincipal`, and the
factory of each service's `AppSettings` (`settings_dependency`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import CurrentPrincipal
from shared.config import ServiceSettings
from shared.state import service_state, settings_of

__all__ = ["MAX_OFFSET", "CurrentPrincipal", "DbSession", "settings_dependency"]

S = TypeVar("S", bound=ServiceSettings)

MAX_OFFSET = 2**31 - 1
"""The largest page offset a list route takes (`Query(ge=0, le=MAX_OFFSET)`): past it a
Postgres OFFSET would overflow, a 500 before; now a 422."""


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns, before the response
    is sent (`scope="function"`): a client never sees 201 for a write that did not commit."""
    async with service_state(request).runtime.sessionmaker() as session, session.begin():
        yield session


DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]


def settings_dependency(kind: type[S]) -> Callable[[Request], S]:
    """The dependency that gives a route its service's settings, typed: each service
    declares `AppSettings = Annotated[Settings, Depends(settings_dependency(Settings))]` in
    its `common/deps.py`, and that alias is the one way settings reach a route."""

    def app_settings(request: Request) -> S:
        return settings_of(request, kind)

    return app_settings
