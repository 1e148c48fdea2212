"""Webhook registration: the secret shown once, the tenant rule, bad input, the events."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from deploy.stack import LocalStack
from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import count, create_ngo, outbox_events, staff
from services.ngo_registry.tests.webhooks import ngo_token, register_webhook
from services.ngo_registry.webhook.service import prune
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

OFFER_MADE = "concord.humanitarian_requests.offer.made.v1"
# Loopback is allowed only in tests (NGO_REGISTRY_WEBHOOK_ALLOW_LOOPBACK). The NGOs here are
# not vetted, so nothing is ever sent to this closed port: their deliveries wait.
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(scope="module")
def settings(stack: LocalStack) -> Settings:
    return Settings(webhook_allow_loopback=True)


async def test_an_ngo_registers_its_webhook_and_sees_the_secret_once(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    ngo_id = ngo["ngo_id"]
    created = await register_webhook(
        client, settings, ngo_id, HOOK, event_types=[OFFER_MADE], sectors=["wash"], pcodes=["SS01"]
    )
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["filter"] == {
        "event_types": [OFFER_MADE],
        "sectors": ["wash"],
        "pcodes": ["SS01"],
    }
    assert created["status"] == "active"

    webhook_id = created["webhook_id"]
    read = await client.get(f"/webhooks/{webhook_id}", headers=ngo_token(settings, ngo_id))
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = await client.get(f"/ngos/{ngo_id}/webhooks", headers=staff(settings))
    assert [w["webhook_id"] for w in listed.json()["items"]] == [webhook_id]
    assert "secret" not in listed.text

    rotated = await client.post(
        f"/webhooks/{webhook_id}/rotate-secret", headers=ngo_token(settings, ngo_id)
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != secret
    assert rotated.json()["version"] == 2

    disabled = await client.delete(f"/webhooks/{webhook_id}", headers=ngo_token(settings, ngo_id))
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    again = await client.post(
        f"/webhooks/{webhook_id}/rotate-secret", headers=ngo_token(settings, ngo_id)
    )
    assert again.status_code == 409
    assert problem_of(again)["type"].endswith("webhook-disabled")

    events = await outbox_events(app, webhook_id)
    assert [e["type"] for e in events] == [
        "concord.ngo_registry.webhook.registered.v1",
        "concord.ngo_registry.webhook.secret_rotated.v1",
        "concord.ngo_registry.webhook.disabled.v1",
    ]
    dumped = json.dumps(events)
    assert secret not in dumped and rotated.json()["secret"] not in dumped
    assert "whsec_" not in dumped


async def test_another_ngos_webhook_is_not_found_and_staff_roles_are_kept_apart(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    owner = (await create_ngo(client, settings))["ngo_id"]
    other = (await create_ngo(client, settings))["ngo_id"]
    webhook_id = (await register_webhook(client, settings, owner, HOOK))["webhook_id"]
    intruder = ngo_token(settings, other)
    for method, path in [
        ("GET", f"/webhooks/{webhook_id}"),
        ("DELETE", f"/webhooks/{webhook_id}"),
        ("POST", f"/webhooks/{webhook_id}/rotate-secret"),
        ("GET", f"/webhooks/{webhook_id}/deliveries"),
        ("POST", f"/webhooks/{webhook_id}/redrive"),
        ("POST", f"/webhooks/{webhook_id}/deliveries/{uuid.uuid4()}/redrive"),
        ("GET", f"/ngos/{owner}/webhooks"),
    ]:
        response = await client.request(method, path, headers=intruder)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    replay = await client.post(
        f"/webhooks/{webhook_id}/replay", json={"from": "2026-01-01T00:00:00Z"}, headers=intruder
    )
    assert replay.status_code == 404
    foreign = await client.post(f"/ngos/{owner}/webhooks", json={"url": HOOK}, headers=intruder)
    assert foreign.status_code == 404
    # The operations centre reads and re-drives, but never makes or sees a secret.
    ops = staff(settings)
    assert (await client.get(f"/webhooks/{webhook_id}", headers=ops)).status_code == 200
    assert (await client.post(f"/webhooks/{webhook_id}/redrive", headers=ops)).status_code == 200
    refused = await client.post(f"/webhooks/{webhook_id}/rotate-secret", headers=ops)
    assert refused.status_code == 403
    field_unit = bearer(settings, "field_unit")
    assert (await client.get(f"/webhooks/{webhook_id}", headers=field_unit)).status_code == 403
    untouched = await client.get(f"/webhooks/{webhook_id}", headers=ngo_token(settings, owner))
    assert untouched.json()["status"] == "active"
    assert untouched.json()["version"] == 1


BAD_BODIES = [
    ({}, 422),
    ({"url": HOOK, "extra": 1}, 422),
    ({"url": HOOK, "filter": {"event_types": ["concord.ngo_registry.agreement.created.v1"]}}, 422),
    ({"url": HOOK, "filter": {"event_types": ["nonsense"]}}, 422),
    ({"url": HOOK, "filter": {"sectors": ["astrology"]}}, 422),
    ({"url": HOOK, "filter": {"pcodes": ["XX99"]}}, 422),
    ({"url": HOOK, "filter": {"pcodes": "SS01"}}, 422),
    ({"url": "http://127.0.0.1:9/\u0000"}, 422),
    ({"url": "ftp://127.0.0.1/hook"}, 422),
    ({"url": "not a url"}, 422),
    ({"url": "https://user:pw@127.0.0.1/hook"}, 422),
    ({"url": "https://10.1.2.3/hook"}, 422),
    ({"url": "https://192.168.0.10/hook"}, 422),
    ({"url": "https://169.254.169.254/latest/meta-data"}, 422),
    ({"url": "https://[fe80::1]/hook"}, 422),
    ({"url": "https://[::ffff:10.0.0.1]/hook"}, 422),
    ({"url": "https://224.0.0.1/hook"}, 422),
    ({"url": "https://0.0.0.0/hook"}, 422),
    ({"url": "https://100.64.0.1/hook"}, 422),
    ({"url": "https://240.0.0.1/hook"}, 422),
    ({"url": "http://8.8.8.8/hook"}, 422),  # plain http beyond loopback, even in tests
    ({"url": "https://does-not-resolve.invalid/hook"}, 422),
    ({"url": "https://" + "a" * 2000 + ".org/"}, 422),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES, ids=[str(b)[:60] for b, _ in BAD_BODIES])
async def test_bad_registrations_are_problems_and_write_nothing(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, body: object, status: int
) -> None:
    ngo_id = (await create_ngo(client, settings))["ngo_id"]
    response = await client.post(
        f"/ngos/{ngo_id}/webhooks", json=body, headers=ngo_token(settings, ngo_id)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert problem_of(response)["status"] == status
    assert (
        await count(
            app, "SELECT count(*) FROM webhook_subscriptions WHERE ngo_id = :n", n=uuid.UUID(ngo_id)
        )
        == 0
    )
    assert (
        await count(
            app,
            "SELECT count(*) FROM outbox WHERE envelope->>'type' LIKE '%webhook.registered%'"
            " AND envelope->'data'->>'ngo_id' = :n",
            n=ngo_id,
        )
        == 0
    )


async def test_bad_input_on_every_other_route(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo_id = (await create_ngo(client, settings))["ngo_id"]
    own = ngo_token(settings, ngo_id)
    webhook_id = (await register_webhook(client, settings, ngo_id, HOOK))["webhook_id"]
    cases = [
        ("GET", "/webhooks/not-a-uuid", None, 422),
        ("GET", f"/webhooks/{uuid.uuid4()}", None, 404),
        ("GET", f"/ngos/{uuid.uuid4()}/webhooks", None, 404),
        ("GET", f"/webhooks/{webhook_id}/deliveries?status=lost", None, 422),
        ("GET", f"/webhooks/{webhook_id}/deliveries?limit=0", None, 422),
        ("GET", f"/webhooks/{webhook_id}/deliveries?offset=-1", None, 422),
        ("POST", f"/webhooks/{webhook_id}/deliveries/{uuid.uuid4()}/redrive", None, 404),
        ("POST", f"/webhooks/{webhook_id}/deliveries/nope/redrive", None, 422),
        ("POST", f"/webhooks/{webhook_id}/replay", {}, 422),
        ("POST", f"/webhooks/{webhook_id}/replay", {"from": "yesterday"}, 422),
        ("POST", f"/webhooks/{webhook_id}/replay", {"from": "2026-01-01T00:00:00"}, 422),
        ("POST", f"/webhooks/{webhook_id}/replay", {"from": "2026-01-01T00:00:00Z", "x": 1}, 422),
        ("DELETE", f"/webhooks/{uuid.uuid4()}", None, 404),
        ("POST", f"/webhooks/{uuid.uuid4()}/rotate-secret", None, 404),
    ]
    for method, path, body, status in cases:
        response = await client.request(method, path, json=body, headers=own)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json", path
    read = await client.get(f"/webhooks/{webhook_id}", headers=own)
    assert read.json()["version"] == 1


async def test_an_ngo_has_at_most_ten_active_webhooks(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo_id = (await create_ngo(client, settings))["ngo_id"]
    ids = [
        (await register_webhook(client, settings, ngo_id, HOOK))["webhook_id"] for _ in range(10)
    ]
    refused = await client.post(
        f"/ngos/{ngo_id}/webhooks", json={"url": HOOK}, headers=ngo_token(settings, ngo_id)
    )
    assert refused.status_code == 409
    assert problem_of(refused)["type"].endswith("too-many-webhooks")
    await client.delete(f"/webhooks/{ids[0]}", headers=ngo_token(settings, ngo_id))
    await register_webhook(client, settings, ngo_id, HOOK)


def test_the_loopback_allowance_is_refused_in_production() -> None:
    production = {
        "environment": "prod",
        "jwt_secret": secrets.token_urlsafe(48),
        "db_password": secrets.token_urlsafe(24),
    }
    assert Settings(**production).webhook_allow_loopback is False  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="refused in production"):
        Settings(webhook_allow_loopback=True, **production)  # type: ignore[arg-type]


async def test_old_events_are_pruned_once_nothing_needs_them(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo_id = (await create_ngo(client, settings))["ngo_id"]  # not vetted: nothing is sent
    webhook_id = uuid.UUID((await register_webhook(client, settings, ngo_id, HOOK))["webhook_id"])
    old = datetime(2020, 1, 1, tzinfo=UTC)
    events = {status: uuid.uuid4() for status in ("delivered", "dead", "pending")}
    async with app.state.runtime.sessionmaker() as session, session.begin():
        for status, event_id in events.items():
            position = await session.scalar(
                text(
                    "INSERT INTO webhook_events (id, type, entity_key, time, payload, sectors,"
                    " pcodes, received_at) VALUES (:id, 't', :key, :time, '{}', '{}', '{}',"
                    " :time) RETURNING position"
                ),
                {"id": event_id, "key": str(event_id), "time": old},
            )
            await session.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, subscription_id, event_id,"
                    " event_position, entity_key, status, next_attempt_at, created_at,"
                    " queued_at) VALUES (:id, :sub, :event, :pos, :key, :status, :time, :time,"
                    " :time)"
                ),
                {
                    "id": uuid.uuid4(),
                    "sub": webhook_id,
                    "event": event_id,
                    "pos": position,
                    "key": str(event_id),
                    "status": status,
                    "time": old,
                },
            )
    pruned = await prune(
        app.state.runtime.sessionmaker, now=datetime.now(UTC), retention=timedelta(days=1)
    )
    assert pruned >= 1
    left = {
        status: await count(app, "SELECT count(*) FROM webhook_events WHERE id = :i", i=event_id)
        for status, event_id in events.items()
    }
    assert left == {"delivered": 0, "dead": 1, "pending": 1}
    assert (
        await count(
            app,
            "SELECT count(*) FROM webhook_deliveries WHERE event_id = :i",
            i=events["delivered"],
        )
        == 0
    )
