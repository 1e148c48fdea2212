"""The registry's webhook delivery loop alone, as a real process a test can kill.

    python -m services.ngo_registry.tests.webhook_worker

Reads the registry's settings from the environment (NGO_REGISTRY_WEBHOOK_*, DATABASE_URL);
honours CONCORD_CRASH_AT (`webhook.after_send`). Runs the same loop as the service
(`webhook/tasks.py` drives `deliver_due`) until killed or for WORKER_SECONDS (default 60).
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import httpx

from services.ngo_registry.config import Settings
from services.ngo_registry.webhook.delivery import DeliveryPolicy, deliver_due
from shared.db import create_engine, create_sessionmaker


async def main() -> None:
    settings = Settings()
    engine = create_engine(
        settings.service_database_url,
        schema=settings.db_schema,
        application_name="ngo_registry.webhook_worker",
    )
    sessionmaker = create_sessionmaker(engine)
    policy = DeliveryPolicy.from_settings(settings)

    async def loop() -> None:
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            while True:
                if await deliver_due(sessionmaker, client, policy) == 0:
                    await asyncio.sleep(settings.webhook_poll_interval_seconds)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loop(), timeout=float(os.environ.get("WORKER_SECONDS", "60")))
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
