"""Builders for the webhook tests: an NGO's token, a registration, a loopback receiver."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.ngo_registry.config import Settings
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, service_source
from shared.events.kafka import create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    OfferMade,
    OfferStatus,
    OpenRequestSummary,
    RequestItem,
)
from shared.testing import bearer
from shared.vocabulary import Sector, Urgency


def ngo_token(settings: Settings, ngo_id: str) -> dict[str, str]:
    return bearer(settings, "ngo", ngo_id=ngo_id, subject=f"ngo-dev-{ngo_id[:8]}")


async def register_webhook(
    client: httpx.AsyncClient,
    settings: Settings,
    ngo_id: str,
    url: str,
    **filter_: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/ngos/{ngo_id}/webhooks",
        json={"url": url, "filter": filter_},
        headers=ngo_token(settings, ngo_id),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


DOC = Path(__file__).resolve().parents[3] / "docs" / "ngo-integration.md"


def documented_verifier() -> Callable[[str, dict[str, str], bytes], bool]:
    """`verify_webhook` exactly as docs/ngo-integration.md §9 prints it."""
    blocks = re.findall(r"```py\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    found = [b for b in blocks if "def verify_webhook" in b]
    assert len(found) == 1, "the page has one webhook verification example"
    namespace: dict[str, Any] = {}
    exec(compile(found[0], str(DOC), "exec"), namespace)  # noqa: S102 (our own docs)
    verifier: Callable[[str, dict[str, str], bytes], bool] = namespace["verify_webhook"]
    return verifier


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """An independent check of the algorithm (no tolerance: a test may read late)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if "," in s]
    return any(hmac.compare_digest(expected, s) for s in offered)


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A real HTTP endpoint on loopback: answers `fail_first` requests with 500 (or all,
    while `down`), then 204; keeps every request it accepted, and dedupes by `webhook-id`
    as a receiver should."""

    fail_first: int = 0
    down: bool = False
    url: str = ""
    requests: int = 0
    accepted: list[Received] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    duplicates: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # While `holding`, a request is kept unanswered until `gate` opens (a send in flight).
    holding: bool = False
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    held: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        body = await request.body()
        if self.holding:
            self.held.set()
            await self.gate.wait()
            return Response(status_code=503)  # its sender is gone; it never reads this
        if self.down or self.requests <= self.fail_first:
            return Response(status_code=500)
        headers = {k.lower(): v for k, v in request.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        if webhook_id in self.seen_ids:
            self.duplicates += 1
        else:
            self.seen_ids.add(webhook_id)
            self.accepted.append(Received(webhook_id, headers, body))
        self.arrived.set()
        return Response(status_code=204)

    def events_of(self, entity: str) -> list[dict[str, Any]]:
        return [r.event for r in self.accepted if r.event["subject"] == entity]

    async def wait_for(self, predicate: Any, timeout: float = 60.0) -> None:
        """Until `predicate()` holds (each accepted request wakes the check)."""
        async with asyncio.timeout(timeout):
            while True:
                self.arrived.clear()
                if predicate():
                    return
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def running(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


async def publish(bootstrap: str, source: str, events: list[BaseModel], subject: str) -> list[str]:
    """Produce events as another service's relay would: CloudEvents keyed by `subject`."""
    ids: list[str] = []
    producer = create_producer(bootstrap, client_id="webhook-test-publisher")
    await producer.start()
    try:
        for data in events:
            entry = CATALOG.for_model(type(data))
            event = CloudEvent(
                source=service_source(source),
                type=entry.name,
                subject=subject,
                data=data.model_dump(mode="json"),
            )
            await producer.send_and_wait(
                entry.topic.name,
                value=event.to_json(),
                key=event.kafka_key,
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
            )
            ids.append(str(event.id))
    finally:
        await producer.stop()
    return ids


def offer_made(ngo_id: str, *, sector: str = "wash", pcode: str = "SS0101") -> OfferMade:
    now = datetime.now(UTC)
    request = OpenRequestSummary(
        request_id=uuid.uuid4(),
        sector=Sector(sector),
        urgency=Urgency.urgent,
        pcode=pcode,
        admin1=pcode[:4],
        items=[RequestItem(item="water", quantity=10, unit="m3")],
        affected_total=120,
        priority_score=0.7,
        submitted_at=now,
        details_withheld=False,
    )
    return OfferMade(
        offer_id=uuid.uuid4(),
        request_id=request.request_id,
        ngo_id=uuid.UUID(ngo_id),
        status=OfferStatus.pending,
        round=1,
        rank=1,
        score=0.9,
        explanation=[],
        request=request,
        offered_at=now,
        respond_by=now + timedelta(hours=4),
        responded_at=None,
        decline_reason=None,
        updated_at=now,
        version=1,
    )
