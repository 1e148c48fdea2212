"""The live stream opens with a short-lived single-use ticket, never a token in its URL, and
holds a bounded number of subscribers, overall (503) and per principal (429)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.db.models.live import live_tickets
from services.monitoring.live import Broadcaster
from services.monitoring.live_tickets import redeem_ticket, ticket_digest
from shared.errors import InvalidToken, TooManyRequests, Unavailable
from shared.testing import bearer, problem_of, serve_over_http

pytestmark = pytest.mark.integration


def quiet_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    return app


async def new_ticket(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/live/tickets", headers=headers)
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


@asynccontextmanager
async def open_stream(client: httpx.AsyncClient, ticket: str) -> AsyncIterator[httpx.Response]:
    """An open stream, once its `hello` event arrived; closed on leaving."""
    async with client.stream("GET", "/api/live", params={"ticket": ticket}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        async with asyncio.timeout(30):
            while (await anext(lines)).strip() != "event: hello":
                pass
        yield response


async def test_a_ticket_opens_the_stream_once_and_a_token_in_the_url_never(
    stack: LocalStack,
) -> None:
    settings = Settings()
    staff = bearer(settings, "ops_centre", subject="duty-officer-7")
    app = quiet_app(settings)
    async with serve_over_http(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.post("/api/live/tickets")).status_code == 401
        ngo = bearer(settings, "ngo", ngo_id="0b9f6a7e-0000-4000-8000-000000000001")
        forbidden = await client.post("/api/live/tickets", headers=ngo)
        assert forbidden.status_code == 403
        problem_of(forbidden)

        issued = await client.post("/api/live/tickets", headers=staff)
        assert issued.status_code == 201
        assert issued.json()["expires_in"] == settings.live_ticket_ttl_seconds <= 60
        ticket = issued.json()["ticket"]
        assert staff["Authorization"].split()[1] not in ticket

        token = staff["Authorization"].split()[1]
        refused = [
            await client.get("/api/live"),
            await client.get("/api/live", params={"ticket": "made-up-ticket"}),
            await client.get("/api/live", params={"token": token}),
            await client.get("/api/live", params={"access_token": token}),
            await client.get("/api/live", headers=staff),  # a header is not a ticket either
        ]
        for response in refused:
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"].startswith("Bearer")
            problem_of(response)

        async with open_stream(client, ticket):
            pass
        used = await client.get("/api/live", params={"ticket": ticket})
        assert used.status_code == 401
        assert "already used" in problem_of(used)["detail"]

        stale = await new_ticket(client, staff)
        async with app.state.runtime.sessionmaker() as session, session.begin():
            await session.execute(
                update(live_tickets)
                .where(live_tickets.c.ticket_sha256 == ticket_digest(stale))
                .values(expires_at=live_tickets.c.expires_at - timedelta(seconds=61))
            )
        expired = await client.get("/api/live", params={"ticket": stale})
        assert expired.status_code == 401
        assert "expired" in problem_of(expired)["detail"]

        # The ticket is bound to who asked for it.
        bound = await new_ticket(client, staff)
        async with app.state.runtime.sessionmaker() as session, session.begin():
            principal = await redeem_ticket(session, bound)
        assert principal.subject == "duty-officer-7"
        assert {role.value for role in principal.roles} == {"ops_centre"}
        async with app.state.runtime.sessionmaker() as session, session.begin():
            with pytest.raises(InvalidToken):
                await redeem_ticket(session, bound)


async def test_subscribers_are_bounded_with_503_and_retry_after(stack: LocalStack) -> None:
    settings = Settings(live_max_subscribers=1)
    staff = bearer(settings, "admin")
    async with (
        serve_over_http(quiet_app(settings)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        waiting = await new_ticket(client, staff)
        async with open_stream(client, await new_ticket(client, staff)):
            full = await client.get("/api/live", params={"ticket": waiting})
            assert full.status_code == 503
            assert int(full.headers["retry-after"]) > 0
            assert "subscribers" in problem_of(full)["detail"]
        # The first stream closed, so its slot comes back; the refused ticket was not spent.
        deadline = time.monotonic() + 30
        while True:
            async with client.stream("GET", "/api/live", params={"ticket": waiting}) as response:
                if response.status_code == 200:
                    break
                assert response.status_code == 503, await response.aread()
            assert time.monotonic() < deadline, "the closed stream's slot never came back"
            await asyncio.sleep(0.1)


async def test_one_principal_holds_a_bounded_share_of_streams_with_429(stack: LocalStack) -> None:
    settings = Settings(live_max_subscribers=10, live_max_subscribers_per_principal=1)
    tabs = bearer(settings, "ops_centre", subject="duty-officer-with-many-tabs")
    colleague = bearer(settings, "ops_centre", subject="duty-officer-next-desk")
    async with (
        serve_over_http(quiet_app(settings)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        waiting = await new_ticket(client, tabs)
        async with open_stream(client, await new_ticket(client, tabs)):
            second = await client.get("/api/live", params={"ticket": waiting})
            assert second.status_code == 429
            assert int(second.headers["retry-after"]) > 0
            assert "live streams open" in problem_of(second)["detail"]
            # Another principal still gets a stream: the share is per principal.
            async with open_stream(client, await new_ticket(client, colleague)):
                pass
        # The first stream closed, so its share comes back; the refused ticket was not spent.
        deadline = time.monotonic() + 30
        while True:
            async with client.stream("GET", "/api/live", params={"ticket": waiting}) as response:
                if response.status_code == 200:
                    break
                assert response.status_code == 429, await response.aread()
            assert time.monotonic() < deadline, "the closed stream's share never came back"
            await asyncio.sleep(0.1)


def test_the_broadcaster_counts_each_principal_and_the_total() -> None:
    broadcaster = Broadcaster(max_subscribers=3, max_per_principal=2)
    first, second = broadcaster.add_subscriber("a"), broadcaster.add_subscriber("a")
    with pytest.raises(TooManyRequests):
        broadcaster.add_subscriber("a")
    broadcaster.add_subscriber("b")
    with pytest.raises(Unavailable):
        broadcaster.add_subscriber("c")
    broadcaster.remove_subscriber(first)
    broadcaster.remove_subscriber(first)  # twice (stream end and response end): one slot
    assert broadcaster.subscribers == 2
    third = broadcaster.add_subscriber("a")
    with pytest.raises(TooManyRequests):
        broadcaster.add_subscriber("a")
    for queue in (second, third):
        broadcaster.remove_subscriber(queue)
    assert broadcaster.subscribers == 1
    broadcaster.add_subscriber("a")
    broadcaster.add_subscriber("a")
