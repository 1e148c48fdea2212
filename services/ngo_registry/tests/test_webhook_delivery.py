"""Webhook delivery against a real receiver on loopback that fails, then recovers.

The registry consumes its own NGO topic and the requests' offer topic from the real Kafka,
fans each event out to the matching subscriptions, and its delivery loop posts them signed.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from deploy.stack import LocalStack
from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import count, create_vetted_ngo, staff
from services.ngo_registry.tests.webhooks import (
    Receiver,
    documented_verifier,
    ngo_token,
    offer_made,
    publish,
    register_webhook,
    running,
    verify,
)

pytestmark = pytest.mark.integration

NGO_UPDATED = "concord.ngo_registry.ngo.updated.v1"
OFFER_MADE = "concord.humanitarian_requests.offer.made.v1"
UPDATES_PER_NGO = 4


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(
        webhook_allow_loopback=True,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_cap_seconds=0.3,
        webhook_poll_interval_seconds=0.05,
        webhook_max_attempts=40,
    )


async def update_ngo(client: httpx.AsyncClient, settings: Settings, ngo_id: str, n: int) -> None:
    current = await client.get(f"/ngos/{ngo_id}", headers=staff(settings))
    response = await client.patch(
        f"/ngos/{ngo_id}",
        json={"website": f"https://example.org/{n}"},
        headers={**staff(settings), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


async def test_a_receiver_that_fails_then_recovers_gets_every_event_in_order_signed(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, stack: LocalStack
) -> None:
    async with running(Receiver(fail_first=5)) as receiver:
        ngos = [(await create_vetted_ngo(client, settings))["ngo_id"] for _ in range(3)]
        owner = ngos[0]
        webhook = await register_webhook(
            client, settings, owner, receiver.url, event_types=[NGO_UPDATED, OFFER_MADE]
        )
        for n in range(UPDATES_PER_NGO):
            for ngo_id in ngos:
                await update_ngo(client, settings, ngo_id, n)
        # An offer to another NGO is never this NGO's; its own offer is.
        other = ngos[1]
        foreign = offer_made(other)
        mine = offer_made(owner)
        assert stack.kafka_bootstrap_servers
        await publish(
            stack.kafka_bootstrap_servers,
            "humanitarian_requests",
            [foreign],
            str(foreign.offer_id),
        )
        await publish(
            stack.kafka_bootstrap_servers, "humanitarian_requests", [mine], str(mine.offer_id)
        )

        def complete() -> bool:
            return all(len(receiver.events_of(n)) >= UPDATES_PER_NGO for n in ngos) and bool(
                receiver.events_of(str(mine.offer_id))
            )

        await receiver.wait_for(complete)

        assert receiver.requests > len(receiver.accepted)  # the first five were refused
        for ngo_id in ngos:
            versions = [e["data"]["version"] for e in receiver.events_of(ngo_id)]
            assert versions == sorted(versions), f"out of order for {ngo_id}: {versions}"
            assert len(versions) == UPDATES_PER_NGO == len(set(versions))
            assert all(e["type"] == NGO_UPDATED for e in receiver.events_of(ngo_id))
        secret = webhook["secret"]
        documented = documented_verifier()
        for received in receiver.accepted:
            assert verify(secret, received.headers, received.body), received.webhook_id
            assert documented(secret, received.headers, received.body)
            assert not documented(secret, received.headers, received.body + b" ")
            assert not verify(secret, {**received.headers, "webhook-id": "x"}, received.body)
            assert "contacts" not in received.event["data"]  # as on the NGO topic: public
        offer = receiver.events_of(str(mine.offer_id))[0]
        assert offer["type"] == OFFER_MADE
        assert offer["data"]["ngo_id"] == owner

        # The foreign offer was consumed (it is stored) but queued for nobody here.
        stored = await count(
            app,
            "SELECT count(*) FROM webhook_events WHERE entity_key = :k",
            k=str(foreign.offer_id),
        )
        assert stored == 1
        assert not receiver.events_of(str(foreign.offer_id))
        queued = await count(
            app,
            "SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
            " WHERE e.entity_key = :k AND d.subscription_id = :s",
            k=str(foreign.offer_id),
            s=uuid.UUID(webhook["webhook_id"]),
        )
        assert queued == 0

        listed = await client.get(
            f"/webhooks/{webhook['webhook_id']}/deliveries?limit=200",
            headers=ngo_token(settings, owner),
        )
        assert listed.status_code == 200
        items: list[dict[str, Any]] = listed.json()["items"]
        failed = [a for d in items for a in d["attempts"] if a["status_code"] == 500]
        assert failed, "the refused tries are logged per attempt"
        assert all(a["error"] == "HTTP 500" and a["duration_ms"] >= 0 for a in failed)
        ours = [d for d in items if d["entity_key"] in ngos]
        assert all(d["status"] == "delivered" for d in ours)


async def test_after_a_rotation_both_secrets_sign_during_the_overlap(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async with running(Receiver()) as receiver:
        ngo_id = (await create_vetted_ngo(client, settings))["ngo_id"]
        webhook = await register_webhook(
            client, settings, ngo_id, receiver.url, event_types=[NGO_UPDATED]
        )
        rotated = await client.post(
            f"/webhooks/{webhook['webhook_id']}/rotate-secret",
            headers=ngo_token(settings, ngo_id),
        )
        assert rotated.status_code == 200
        old, new = webhook["secret"], rotated.json()["secret"]
        await update_ngo(client, settings, ngo_id, 1)
        await receiver.wait_for(lambda: bool(receiver.events_of(ngo_id)))
        received = next(r for r in receiver.accepted if r.event["subject"] == ngo_id)
        assert len(received.headers["webhook-signature"].split()) == 2
        documented = documented_verifier()
        assert documented(new, received.headers, received.body)
        assert documented(old, received.headers, received.body)
        stranger = "whsec_" + base64.b64encode(b"\x01" * 32).decode()
        assert not documented(stranger, received.headers, received.body)
