"""The delivery loop the runtime supervises (see `ServiceRuntime.background`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.ngo_registry.config import Settings
from services.ngo_registry.webhook.delivery import DeliveryPolicy, deliver_due
from services.ngo_registry.webhook.service import prune
from shared.egress import outbound_client
from shared.retry import jittered
from shared.runtime import ServiceRuntime

PRUNE_INTERVAL_SECONDS = 3600.0


async def webhook_sender(runtime: ServiceRuntime) -> None:
    """Deliver what is due; when nothing is, wait `NGO_REGISTRY_WEBHOOK_POLL_INTERVAL`.

    Redirects are not followed: a 3xx is a failed try, since a redirect could lead anywhere
    the address check did not look. Connections go only to addresses the check accepts, at
    connection time (`shared.egress.outbound_client`).
    """
    settings = runtime.settings
    assert isinstance(settings, Settings)
    policy = DeliveryPolicy.from_settings(settings)
    async with outbound_client(allow_loopback=policy.allow_loopback) as client:
        while True:
            if await deliver_due(runtime.sessionmaker, client, policy) == 0:
                await asyncio.sleep(settings.webhook_poll_interval_seconds)


async def webhook_pruner(runtime: ServiceRuntime) -> None:
    """About every hour, forget the stored events past `NGO_REGISTRY_WEBHOOK_RETENTION`."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    retention = timedelta(seconds=settings.webhook_retention_seconds)
    while True:
        await asyncio.sleep(jittered(PRUNE_INTERVAL_SECONDS))
        await prune(runtime.sessionmaker, now=datetime.now(UTC), retention=retention)
