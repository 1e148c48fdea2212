"""A receiver down past the retry budget: the dead-letter list, re-drive and replay; and a
suspended NGO's deliveries wait."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from deploy.stack import LocalStack
from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import (
    count,
    create_vetted_ngo,
    outbox_events,
    staff,
    vetting,
)
from services.ngo_registry.tests.webhooks import (
    Receiver,
    ngo_token,
    register_webhook,
    running,
    verify,
)
from shared.testing import problem_of

pytestmark = pytest.mark.integration

NGO_UPDATED = "concord.ngo_registry.ngo.updated.v1"
MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(
        webhook_allow_loopback=True,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_cap_seconds=0.2,
        webhook_poll_interval_seconds=0.05,
        webhook_max_attempts=MAX_ATTEMPTS,
    )


async def update_ngo(client: httpx.AsyncClient, settings: Settings, ngo_id: str, n: int) -> None:
    current = await client.get(f"/ngos/{ngo_id}", headers=staff(settings))
    response = await client.patch(
        f"/ngos/{ngo_id}",
        json={"website": f"https://example.org/{n}"},
        headers={**staff(settings), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


async def deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], webhook_id: str, **query: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/webhooks/{webhook_id}/deliveries", params={"limit": 200, **query}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def until(check: Any, timeout: float = 60.0) -> None:
    """Poll the API until `check()` holds: the state is the marker, no fixed sleep."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 (the state is read over HTTP)
            await asyncio.sleep(0.1)


async def test_dead_deliveries_are_listed_redriven_and_replayed(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    async with running(Receiver(down=True)) as receiver:
        ngo_id = (await create_vetted_ngo(client, settings))["ngo_id"]
        own = ngo_token(settings, ngo_id)
        webhook = await register_webhook(
            client, settings, ngo_id, receiver.url, event_types=[NGO_UPDATED]
        )
        webhook_id = webhook["webhook_id"]
        before = datetime.now(UTC)
        for n in range(2):
            await update_ngo(client, settings, ngo_id, n)

        async def both_dead() -> bool:
            dead = await deliveries(client, own, webhook_id, status="dead")
            return len([d for d in dead if d["entity_key"] == ngo_id]) == 2

        await until(both_dead)
        dead = [
            d
            for d in await deliveries(client, staff(settings), webhook_id, status="dead")
            if d["entity_key"] == ngo_id
        ]
        for delivery in dead:
            assert len(delivery["attempts"]) == MAX_ATTEMPTS
            assert {a["status_code"] for a in delivery["attempts"]} == {500}
            assert delivery["next_attempt_at"] is None
        dead_events = [
            e["data"]
            for e in await outbox_events(app, webhook_id)
            if e["type"] == "concord.ngo_registry.webhook.delivery_dead.v1"
        ]
        assert {e["delivery_id"] for e in dead_events} >= {d["delivery_id"] for d in dead}
        assert not receiver.accepted

        # One re-drive of a delivery that is not dead is a conflict; then all of them.
        receiver.down = False
        first, second = dead
        one = await client.post(
            f"/webhooks/{webhook_id}/deliveries/{first['delivery_id']}/redrive", headers=own
        )
        assert one.status_code == 200, one.text
        assert one.json()["delivery_ids"] == [first["delivery_id"]]
        await receiver.wait_for(lambda: len(receiver.events_of(ngo_id)) >= 1)
        again = await client.post(
            f"/webhooks/{webhook_id}/deliveries/{first['delivery_id']}/redrive", headers=own
        )
        assert again.status_code == 409
        assert problem_of(again)["type"].endswith("webhook-delivery-not-dead")
        rest = await client.post(f"/webhooks/{webhook_id}/redrive", headers=staff(settings))
        assert rest.status_code == 200
        assert second["delivery_id"] in rest.json()["delivery_ids"]
        await receiver.wait_for(lambda: len(receiver.events_of(ngo_id)) >= 2)
        first_pass = receiver.events_of(ngo_id)
        assert [e["data"]["version"] for e in first_pass] == sorted(
            e["data"]["version"] for e in first_pass
        )
        assert [r.webhook_id for r in receiver.accepted if r.event["subject"] == ngo_id] == [
            first["delivery_id"],
            second["delivery_id"],
        ]
        assert all(verify(webhook["secret"], r.headers, r.body) for r in receiver.accepted)

        # Replay from before the updates: both again, in order, under new webhook-ids.
        replay = await client.post(
            f"/webhooks/{webhook_id}/replay", json={"from": before.isoformat()}, headers=own
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["count"] >= 2
        await receiver.wait_for(lambda: len(receiver.events_of(ngo_id)) >= 4)
        ours = [r for r in receiver.accepted if r.event["subject"] == ngo_id]
        assert [r.event["id"] for r in ours[2:]] == [r.event["id"] for r in ours[:2]]
        assert len({r.webhook_id for r in ours}) == 4
        assert receiver.duplicates == 0
        requeued = [
            e["data"]
            for e in await outbox_events(app, webhook_id)
            if e["type"] == "concord.ngo_registry.webhook.deliveries_requeued.v1"
        ]
        assert [(e["operation"], e["requested_by"] != "") for e in requeued] == [
            ("redrive", True),
            ("redrive", True),
            ("replay", True),
        ]


async def test_a_suspended_ngos_deliveries_wait_and_resume_when_reinstated(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    async with running(Receiver()) as receiver:
        ngo_id = (await create_vetted_ngo(client, settings))["ngo_id"]
        webhook = await register_webhook(
            client, settings, ngo_id, receiver.url, event_types=[NGO_UPDATED]
        )
        suspended = await vetting(client, settings, ngo_id, "suspend", reason="audit finding")
        assert suspended.status_code == 200
        await update_ngo(client, settings, ngo_id, 1)

        async def queued() -> bool:
            pending = await count(
                app,
                "SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e"
                " ON e.id = d.event_id WHERE d.subscription_id = :s AND e.entity_key = :k"
                " AND e.type = :t AND d.status = 'pending' AND d.attempts = 0",
                s=uuid.UUID(webhook["webhook_id"]),
                k=ngo_id,
                t=NGO_UPDATED,
            )
            return pending == 1

        await until(queued)
        reinstated = await vetting(client, settings, ngo_id, "reinstate", reason="cleared")
        assert reinstated.status_code == 200, reinstated.text
        await receiver.wait_for(lambda: bool(receiver.events_of(ngo_id)))
        updated = [e for e in receiver.events_of(ngo_id) if e["type"] == NGO_UPDATED]
        assert updated and updated[0]["data"]["vetting_status"] == "suspended"


async def test_an_endpoint_that_now_resolves_inside_is_refused_at_delivery(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    """The address is checked again before every try: a name that pointed outside at
    registration may point at the mission's network by the time an event goes out."""
    async with running(Receiver()) as receiver:
        ngo_id = (await create_vetted_ngo(client, settings))["ngo_id"]
        own = ngo_token(settings, ngo_id)
        webhook_id = (
            await register_webhook(
                client, settings, ngo_id, receiver.url, event_types=[NGO_UPDATED]
            )
        )["webhook_id"]
        # What a DNS change would do, without a DNS server: the stored target moves inside.
        async with app.state.runtime.sessionmaker() as session, session.begin():
            await session.execute(
                text("UPDATE webhook_subscriptions SET url = :u WHERE id = :i"),
                {"u": "https://169.254.169.254/latest/meta-data/", "i": uuid.UUID(webhook_id)},
            )
        await update_ngo(client, settings, ngo_id, 1)

        async def dead() -> bool:
            found = await deliveries(client, own, webhook_id, status="dead")
            return any(d["entity_key"] == ngo_id for d in found)

        await until(dead)
        parked = [
            d
            for d in await deliveries(client, own, webhook_id, status="dead")
            if d["entity_key"] == ngo_id
        ]
        attempts = parked[0]["attempts"]
        assert len(attempts) == MAX_ATTEMPTS
        assert all(a["status_code"] is None for a in attempts)
        assert all(a["error"].startswith("refused: ") for a in attempts)
        assert "metadata" in attempts[0]["error"]
        assert receiver.requests == 0
