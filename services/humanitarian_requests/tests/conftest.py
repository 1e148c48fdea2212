"""Fixtures of the requests service's tests: one running app for the session, real stack.

One app for all modules keeps the replica consumer group stable (no rebalance per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from shared.testing import serve_in_process


@pytest.fixture(scope="session")
def settings(stack: LocalStack) -> Settings:
    return Settings(offer_response_seconds=600, offer_sweep_interval_seconds=1.0)


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings)) as running:
        yield running
