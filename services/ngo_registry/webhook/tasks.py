"""The delivery loop the runtime supervises (see `ServiceRuntime.background`)."""

from __future__ import annotations

import asyncio

import httpx

from services.ngo_registry.config import Settings
from services.ngo_registry.webhook.delivery import DeliveryPolicy, deliver_due
from shared.runtime import ServiceRuntime


async def webhook_sender(runtime: ServiceRuntime) -> None:
    """Deliver what is due; when nothing is, wait `NGO_REGISTRY_WEBHOOK_POLL_INTERVAL`.

    Redirects are not followed: a 3xx is a failed try, since a redirect could lead anywhere
    the address check did not look.
    """
    settings = runtime.settings
    assert isinstance(settings, Settings)
    policy = DeliveryPolicy.from_settings(settings)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        while True:
            if await deliver_due(runtime.sessionmaker, client, policy) == 0:
                await asyncio.sleep(settings.webhook_poll_interval_seconds)
