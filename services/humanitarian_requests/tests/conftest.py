"""Fixtures of the requests service's tests: one running app for the session, real stack.

One app for all modules keeps the replica consumer group stable (no rebalance per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from shared.db import create_engine, create_sessionmaker
from shared.testing import serve_in_process


@pytest.fixture(scope="session")
def settings(stack: LocalStack) -> Settings:
    return Settings(offer_response_seconds=600, offer_sweep_interval_seconds=1.0)


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings)) as running:
        yield running


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on the service's schema, for tests that call a use case directly."""
    engine = create_engine(
        settings.service_database_url,
        schema=settings.db_schema,
        application_name="requests-test",
    )
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
