"""Killing the delivery worker mid-flight loses nothing and sends nothing twice beyond what
the receiver's dedupe by `webhook-id` absorbs.

The worker is a real process (`services/ngo_registry/tests/webhook_worker.py`): first it
dies right after the receiver accepted a batch and before it recorded that (crash point
`webhook.after_send`), then it is killed with SIGKILL while a send is in flight, then a
fresh one finishes the work. The registry app here consumes and fans out, but runs no
delivery loop of its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from deploy.stack import LocalStack
from services.ngo_registry.app import create_app
from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import count, create_vetted_ngo, staff
from services.ngo_registry.tests.webhooks import Receiver, register_webhook, running
from shared.faults import CRASH_ENV, CRASH_EXIT_CODE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
NGO_UPDATED = "concord.ngo_registry.ngo.updated.v1"
UPDATES_PER_NGO = 3


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(webhook_allow_loopback=True)


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.runtime.run_background = False  # the worker process delivers, nothing else
    return app


async def start_worker(
    stack: LocalStack, crash_at: str | None = None
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **stack.environment(),
        "NGO_REGISTRY_WEBHOOK_ALLOW_LOOPBACK": "true",
        "NGO_REGISTRY_WEBHOOK_BACKOFF_BASE": "0.05",
        "NGO_REGISTRY_WEBHOOK_BACKOFF_CAP": "0.2",
        "NGO_REGISTRY_WEBHOOK_POLL_INTERVAL": "0.05",
        "NGO_REGISTRY_WEBHOOK_MAX_ATTEMPTS": "100",
        "NGO_REGISTRY_WEBHOOK_BATCH": "500",
        "WORKER_SECONDS": "120",
    }
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.ngo_registry.tests.webhook_worker", cwd=ROOT, env=env
    )


async def update_ngo(client: httpx.AsyncClient, settings: Settings, ngo_id: str, n: int) -> None:
    current = await client.get(f"/ngos/{ngo_id}", headers=staff(settings))
    response = await client.patch(
        f"/ngos/{ngo_id}",
        json={"website": f"https://example.org/{n}"},
        headers={**staff(settings), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


async def test_a_killed_delivery_worker_loses_nothing(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, stack: LocalStack
) -> None:
    async with running(Receiver()) as receiver:
        ngos = [(await create_vetted_ngo(client, settings))["ngo_id"] for _ in range(2)]
        webhook = await register_webhook(
            client, settings, ngos[0], receiver.url, event_types=[NGO_UPDATED]
        )
        subscription = uuid.UUID(webhook["webhook_id"])
        for n in range(UPDATES_PER_NGO):
            for ngo_id in ngos:
                await update_ngo(client, settings, ngo_id, n)
        expected = len(ngos) * UPDATES_PER_NGO

        async def ours(status: str) -> int:
            return await count(
                app,
                "SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e"
                " ON e.id = d.event_id WHERE d.subscription_id = :s AND e.type = :t"
                " AND e.entity_key = ANY(:k) AND d.status = :status",
                s=subscription,
                t=NGO_UPDATED,
                k=ngos,
                status=status,
            )

        async with asyncio.timeout(60):  # the consumer fanned every update out
            while await ours("pending") < expected:  # noqa: ASYNC110 (state in Postgres)
                await asyncio.sleep(0.1)

        # 1. Dies after the receiver said 2xx, before recording it.
        crashed = await start_worker(stack, crash_at="webhook.after_send")
        assert await asyncio.wait_for(crashed.wait(), timeout=60) == CRASH_EXIT_CODE
        accepted_before_crash = [r for r in receiver.accepted if r.event["subject"] in ngos]
        assert accepted_before_crash, "the crashed round had sent to the receiver"
        assert await ours("delivered") == 0

        # 2. Killed outright while a send is in flight.
        receiver.holding = True
        killed = await start_worker(stack)
        await asyncio.wait_for(receiver.held.wait(), timeout=60)
        killed.send_signal(signal.SIGKILL)
        await asyncio.wait_for(killed.wait(), timeout=30)
        assert await ours("delivered") == 0

        # 3. A fresh worker finishes: every event once to the receiver's logic, in order.
        receiver.holding = False
        receiver.gate.set()
        final = await start_worker(stack)
        try:
            await receiver.wait_for(
                lambda: all(len(receiver.events_of(n)) >= UPDATES_PER_NGO for n in ngos)
            )
            async with asyncio.timeout(60):
                while await ours("delivered") < expected:  # noqa: ASYNC110 (state in Postgres)
                    await asyncio.sleep(0.1)
        finally:
            final.terminate()
            await asyncio.wait_for(final.wait(), timeout=30)

        for ngo_id in ngos:
            versions = [e["data"]["version"] for e in receiver.events_of(ngo_id)]
            assert versions == sorted(versions)
            assert len(versions) == len(set(versions)) == UPDATES_PER_NGO
        # What the crash made the worker send again came under the same webhook-id.
        assert receiver.duplicates >= len(accepted_before_crash)
        assert await ours("pending") == 0 and await ours("dead") == 0
