"""One running registry app per test module, against the session's real Postgres and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from deploy.stack import LocalStack
from services.ngo_registry.app import create_app
from services.ngo_registry.config import Settings
from shared.testing import serve_in_process


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(app) as http:
        yield http
