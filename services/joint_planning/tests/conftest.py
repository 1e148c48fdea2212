"""Fixtures of the joint planning service's tests: one running app for the session.

One app for all modules keeps the replica consumer groups stable (no rebalance per module).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from deploy.stack import LocalStack
from services.joint_planning.app import create_app
from services.joint_planning.config import Settings
from shared.testing import serve_in_process


@pytest.fixture(scope="session")
def settings(stack: LocalStack) -> Settings:
    return Settings(
        incident_radius_km=15.0, incident_window_hours=72.0, sweep_interval_seconds=3600
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(app) as running:
        yield running
