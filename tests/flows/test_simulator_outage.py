"""`concord simulate` behaves like a field unit on a bad link.

A 5xx, a 503 with `Retry-After`, a dropped connection or a timeout is retried with the same
`Idempotency-Key` after a jittered backoff no shorter than `Retry-After`; what could be
applied twice is not replayed; the simulator keeps running through an outage and counts what
it retried. The retry policy is checked against a scripted transport (a pure unit test), the
ride through a real database outage against the requests service on the real stack.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from deploy.demo.client import REQUESTS, ConcordClient, ServiceError
from deploy.demo.retrying import RetryPolicy
from deploy.demo.simulate import Simulator
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import aid_request_body, fetch, unique_unit
from shared.auth import Role
from shared.retry import Backoff
from tests.platform.tcp_proxy import TcpProxy

Script = Iterator[httpx.Response | Exception]


class Recorder:
    """A transport that answers from a script and keeps every request it was sent."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self.script)
        if isinstance(answer, Exception):
            raise answer
        return answer


def scripted_client(
    handler: Callable[[httpx.Request], httpx.Response], policy: RetryPolicy | None
) -> ConcordClient:
    client = ConcordClient(retry=policy)
    client._http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return client


def instant_policy(**kwargs: Any) -> tuple[RetryPolicy, list[float]]:
    """A policy whose pauses are recorded instead of slept."""
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    return RetryPolicy(sleep=pause, **kwargs), pauses


def unavailable(retry_after: str = "0") -> httpx.Response:
    return httpx.Response(
        503,
        headers={"Retry-After": retry_after, "content-type": "application/problem+json"},
        json={"status": 503, "title": "Service Unavailable"},
    )


async def post_report(client: ConcordClient, key: str | None) -> httpx.Response:
    return await client.call(
        REQUESTS,
        "POST",
        "/aid-requests",
        role=Role.field_unit,
        unit_id="unit-sim",
        json={"title": "water"},
        headers={"Idempotency-Key": key} if key else None,
    )


async def test_5xx_and_dropped_links_are_retried_with_the_same_key() -> None:
    policy, pauses = instant_policy()
    script = iter(
        [
            unavailable(retry_after="7"),
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("no answer"),
            httpx.RemoteProtocolError("peer closed"),
            httpx.Response(502),
            httpx.Response(201, json={"request_id": "r-1"}),
        ]
    )
    recorder = Recorder(script)
    async with scripted_client(recorder, policy) as client:
        response = await post_report(client, "field-key-1")
    assert response.status_code == 201
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["field-key-1"] * 6
    assert [r.content for r in recorder.requests] == [recorder.requests[0].content] * 6
    assert policy.retried == Counter(
        {"503": 1, "connection refused": 1, "timeout": 1, "connection dropped": 1, "502": 1}
    )
    assert not policy.gave_up
    assert pauses[0] >= 7  # Retry-After honoured
    assert all(p <= policy.backoff.ceiling(i + 1) for i, p in enumerate(pauses[1:], start=1))


async def test_what_could_be_applied_twice_is_not_replayed() -> None:
    policy, _ = instant_policy()
    # A 503 or a timeout for a write without an Idempotency-Key: it may have been applied.
    for failure in (unavailable(), httpx.ReadTimeout("no answer")):
        recorder = Recorder(iter([failure, httpx.Response(201, json={})]))
        async with scripted_client(recorder, policy) as client:
            with pytest.raises(ServiceError if isinstance(failure, httpx.Response) else
                               httpx.ReadTimeout):  # fmt: skip
                await post_report(client, None)
        assert len(recorder.requests) == 1
    # A connection that was never made carried nothing: that one is retried.
    recorder = Recorder(iter([httpx.ConnectError("refused"), httpx.Response(201, json={})]))
    async with scripted_client(recorder, policy) as client:
        assert (await post_report(client, None)).status_code == 201
    assert len(recorder.requests) == 2
    # 501: the server says it never will.
    recorder = Recorder(iter([httpx.Response(501), httpx.Response(201, json={})]))
    async with scripted_client(recorder, policy) as client:
        with pytest.raises(ServiceError):
            await post_report(client, "k")
    assert len(recorder.requests) == 1


async def test_a_field_unit_gives_up_after_its_budget_and_says_so() -> None:
    policy, _ = instant_policy(give_up_after=0.0)
    recorder = Recorder(iter([unavailable(), unavailable()]))
    async with scripted_client(recorder, policy) as client:
        with pytest.raises(ServiceError):
            await post_report(client, "k")
    assert len(recorder.requests) == 1
    assert policy.gave_up == Counter({"503": 1})


class FlakyRequestsService:
    """The requests service as the simulator sees it, down for its first `outage` writes
    (503 with Retry-After, or the connection dropped), then up."""

    def __init__(self, outage: int) -> None:
        self.outage = outage
        self.writes = 0
        self.offer_looks_failed = 0
        self.failed_keys: set[str] = set()
        self.answered_keys: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == "/offers":
            # Down with the rest: a failed look at the offers must not stop the simulator.
            if self.writes < self.outage:
                self.offer_looks_failed += 1
                return unavailable(retry_after="1")
            return httpx.Response(200, json=[])
        if path == "/notifications":
            # Joint planning's, not this service's: movements go on during its outage.
            return httpx.Response(201, json={"notification_id": str(uuid.uuid4()), "conflicts": []})
        key = request.headers.get("Idempotency-Key", "")
        self.writes += 1
        if self.writes <= self.outage:
            self.failed_keys.add(key)
            if self.writes % 3 == 0:
                raise httpx.RemoteProtocolError("server disconnected without a response")
            return unavailable(retry_after="1")
        self.answered_keys[key] += 1
        if path == "/reports/batch":
            return httpx.Response(200, json={"results": []})
        if path == "/incidents":
            return httpx.Response(201, json={"incident_id": str(uuid.uuid4())})
        # Intake answers `submitted`: triage and the offer follow in the service's worker.
        return httpx.Response(201, json={"request_id": str(uuid.uuid4()), "status": "submitted"})


async def test_the_simulator_keeps_running_through_an_outage_and_counts_its_retries() -> None:
    service = FlakyRequestsService(outage=15)
    policy, pauses = instant_policy(backoff=Backoff(base=0.01, cap=0.05))
    async with scripted_client(service, None) as client:
        simulator = Simulator(client, rate=20, duration=2, seed=11, retry=policy)
        await simulator.run()
    stats = simulator.stats
    assert service.writes > service.outage  # it went on after the outage
    assert service.offer_looks_failed and stats.outcomes["offers unseen (503)"]
    assert sum(stats.retried.values()) >= service.outage
    assert set(stats.retried) <= {"503", "connection dropped"}
    assert stats.retried["503"] and stats.retried["connection dropped"]
    assert not stats.gave_up
    assert not [kind for kind in stats.outcomes if kind.startswith("error")]
    # Every report refused during the outage got through afterwards, under its own key.
    assert service.failed_keys <= set(service.answered_keys)
    # After each 503 the service's Retry-After (1 s), not the far shorter backoff.
    assert sum(pause >= 1 for pause in pauses) == stats.retried["503"]
    rows = dict(stats.rows())
    assert "503" in rows["retried"] and rows["gave up"] == "-"


@pytest.fixture
async def requests_behind_a_proxy(
    database_url: str,
) -> AsyncIterator[tuple[ConcordClient, TcpProxy, RetryPolicy]]:
    settings = Settings()
    direct = make_url(settings.service_database_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    await proxy.start()
    proxied = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app_settings = settings.model_copy(
        update={"service_database_url_override": proxied, "db_pool_size": 2}
    )
    policy = RetryPolicy(backoff=Backoff(base=0.05, cap=0.5), give_up_after=120)
    try:
        async with LifespanManager(create_app(app_settings), startup_timeout=60) as manager:
            client = ConcordClient(retry=policy)
            # The in-process app instead of a port: the client's URLs go to it.
            client._http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), timeout=15
            )
            async with client:
                yield client, proxy, policy
    finally:
        await proxy.close()


async def test_a_field_unit_rides_out_a_database_outage(
    requests_behind_a_proxy: tuple[ConcordClient, TcpProxy, RetryPolicy], database_url: str
) -> None:
    client, proxy, policy = requests_behind_a_proxy
    unit = unique_unit()
    body = aid_request_body(client_id=f"{unit}-1")
    headers = {"Idempotency-Key": f"{unit}-key"}

    async def report() -> httpx.Response:
        return await client.call(
            REQUESTS, "POST", "/aid-requests", role=Role.field_unit, unit_id=unit,
            json=body, headers=headers,
        )  # fmt: skip

    await proxy.cut()
    sending = asyncio.create_task(report())
    try:
        async with asyncio.timeout(60):
            while policy.retried["503"] < 3:  # the service answers 503 while Postgres is away
                assert not sending.done(), sending.result()
                await asyncio.sleep(0.05)
    finally:
        await proxy.restore()
    created = await sending
    assert created.status_code == 201, created.text
    assert not policy.gave_up
    replay = await report()
    assert replay.json()["request_id"] == created.json()["request_id"]
    stored = await fetch(
        database_url,
        "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u",
        u=unit,
    )
    assert stored[0][0] == 1
