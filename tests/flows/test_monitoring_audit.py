"""The audit trail: every consumed event chained; an altered row is found at that row, and an
event the audit consumer had to dead-letter is named as a hole instead of passing unseen."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from deploy.cli import app as concord
from deploy.demo.client import ConcordClient
from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.audit.__main__ import verify
from services.monitoring.audit.handlers import AUDIT_GROUP
from services.monitoring.config import Settings
from services.monitoring.tests.factories import (
    aid_request,
    all_consumed,
    envelope,
    eventually,
    now,
    publish,
)
from shared.db import create_engine
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from shared.events.kafka import create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas import humanitarian_requests as hr
from shared.testing import bearer, problem_of, serve_in_process

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(stack: LocalStack) -> AsyncIterator[AsyncEngine]:
    settings = Settings()
    engine = create_engine(
        settings.service_database_url, schema="monitoring", application_name="audit-test"
    )
    yield engine
    await engine.dispose()


async def test_tampering_is_reported_at_the_altered_row(
    engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    settings = Settings()
    staff = bearer(settings, "admin")
    request_id = uuid.uuid4()
    submitted = now() - timedelta(minutes=5)
    states: list[tuple[type[hr.AidRequestEvent], hr.RequestStatus, dict[str, Any]]] = [
        (hr.AidRequestSubmitted, hr.RequestStatus.submitted, {}),
        (hr.AidRequestTriaged, hr.RequestStatus.triaged, {"triaged_at": now()}),
        (
            hr.AidRequestCancelled,
            hr.RequestStatus.cancelled,
            {"triaged_at": now(), "cancelled_at": now()},
        ),
    ]
    events = [
        envelope(
            aid_request(
                model,
                request_id=request_id,
                version=v,
                status=status,
                submitted_at=submitted,
                **stamps,
            ),
            subject=request_id,
        )
        for v, (model, status, stamps) in enumerate(states, start=1)
    ]
    async with serve_in_process(create_app(settings)) as client:
        await publish(kafka_bootstrap, [*events, events[1]])  # one duplicate delivery

        async def audited() -> list[dict[str, object]] | None:
            rows = (
                await client.get(
                    "/api/audit/events", params={"subject": str(request_id)}, headers=staff
                )
            ).json()
            return rows if len(rows) >= 3 else None

        await eventually(audited)
        # The duplicate came last: once the audit group committed past it, count.
        await all_consumed(kafka_bootstrap, AUDIT_GROUP, events)
        rows = (
            await client.get(
                "/api/audit/events", params={"subject": str(request_id)}, headers=staff
            )
        ).json()
        assert len(rows) == 3  # the duplicate was chained once
        assert [r["event_id"] for r in reversed(rows)] == [str(e.id) for e in events]
        assert {r["actor"] for r in rows} == {"field_unit:unit-1"}
        by_actor = (
            await client.get(
                "/api/audit/events",
                params={"actor": "field_unit:unit-1", "limit": 500},
                headers=staff,
            )
        ).json()
        assert {str(e.id) for e in events} <= {r["event_id"] for r in by_actor}

        intact = (await client.get("/api/audit/verify", headers=staff)).json()
        assert intact["ok"] is True and intact["first_broken"] is None
        assert intact["checked"] >= 3

        target = rows[1]  # the triaged event, in the middle of this request's three
        position = target["position"]
        async with engine.begin() as conn:
            original = await conn.scalar(
                text("SELECT canonical FROM audit_log WHERE position = :p"), {"p": position}
            )
            await conn.execute(
                text(
                    "UPDATE audit_log SET canonical = replace(canonical, :old, :new) "
                    "WHERE position = :p"
                ),
                {"old": '"priority_score":50.0', "new": '"priority_score":99.0', "p": position},
            )
        try:
            report = (await client.get("/api/audit/verify", headers=staff)).json()
            assert report["ok"] is False
            assert report["first_broken"]["position"] == position
            assert report["first_broken"]["event_id"] == target["event_id"]
            assert "altered" in report["first_broken"]["reason"]
            cli = await verify(settings)  # what `python -m services.monitoring.audit verify` runs
            assert cli.first_broken is not None and cli.first_broken.position == position
        finally:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE audit_log SET canonical = :c WHERE position = :p"),
                    {"c": original, "p": position},
                )

        # Editing an indexed copy (who did it) is caught too.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE audit_log SET actor = 'someone-else' WHERE position = :p"),
                {"p": position},
            )
        try:
            report = (await client.get("/api/audit/verify", headers=staff)).json()
            assert report["first_broken"]["position"] == position
            assert "actor" in report["first_broken"]["reason"]
        finally:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE audit_log SET actor = 'field_unit:unit-1' WHERE position = :p"),
                    {"p": position},
                )
        assert (await client.get("/api/audit/verify", headers=staff)).json()["ok"] is True

        # Only staff may read the trail.
        unauthenticated = await client.get("/api/audit/verify")
        assert unauthenticated.status_code == 401 and problem_of(unauthenticated)
        ngo = await client.get(
            "/api/audit/events", headers=bearer(settings, "ngo", ngo_id=uuid.uuid4())
        )
        assert ngo.status_code == 403 and problem_of(ngo)
        bad = await client.get("/api/audit/events", params={"limit": 0}, headers=staff)
        assert bad.status_code == 422 and problem_of(bad)


async def _send_raw(bootstrap: str, topic: str, values: list[bytes]) -> list[tuple[int, int]]:
    """Produce raw values to a topic; where each landed (partition, offset)."""
    producer = create_producer(
        bootstrap, client_id="concord-test", acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        placed = []
        for value in values:
            meta = await producer.send_and_wait(
                topic,
                value=value,
                key=uuid.uuid4().bytes,
                headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE.encode())],
            )
            placed.append((meta.partition, meta.offset))
        return placed
    finally:
        await producer.stop()


async def test_dead_lettered_events_are_holes_that_verification_names(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings()
    staff = bearer(settings, "admin")
    topic = CATALOG.for_model(hr.AidRequestSubmitted).topic.name
    # Poison for the audit group alone: a type no read model handles (that group ignores it),
    # whose subject the trail cannot store (Postgres text holds no NUL character), so every
    # attempt to chain it fails and the audit consumer dead-letters it.
    unstorable = CloudEvent(
        source="/concord/humanitarian_requests",
        type="concord.test.unstorable.v1",
        subject=f"poison\x00{uuid.uuid4()}",
        data={"note": "cannot be chained"},
    )
    async with serve_in_process(create_app(settings)) as client:
        placed = await _send_raw(
            kafka_bootstrap, topic, [unstorable.to_json(), b"{not a cloud event"]
        )
        undecodable = {"topic": topic, "partition": placed[1][0], "offset": placed[1][1]}

        async def holes_reported() -> dict[str, Any] | None:
            report: dict[str, Any] = (
                await client.get("/api/audit/verify", params={"missing_limit": 1000}, headers=staff)
            ).json()
            missing = report.get("missing", [])
            named = any(m["event_id"] == str(unstorable.id) for m in missing)
            located = any(
                {k: m[k] for k in ("topic", "partition", "offset")} == undecodable for m in missing
            )
            return report if named and located else None

        report = await eventually(holes_reported, timeout=120)
        # The links that are there still re-hash: intact, but not complete.
        assert report["ok"] is True and report["first_broken"] is None
        assert report["complete"] is False and report["missing_count"] >= 2
        hole = next(m for m in report["missing"] if m["event_id"] == str(unstorable.id))
        assert hole["event_type"] == "concord.test.unstorable.v1"
        assert (hole["topic"], hole["partition"], hole["offset"]) == (topic, *placed[0])
        assert "handler failed" in hole["error"]
        raw = next(
            m
            for m in report["missing"]
            if {k: m[k] for k in ("topic", "partition", "offset")} == undecodable
        )
        assert raw["event_id"] is None and "not a CloudEvent" in raw["error"]
        assert "events missing (dead-lettered)" in report["summary"]
        assert str(unstorable.id) in report["summary"]

        cli = await verify(settings)  # what `python -m services.monitoring.audit verify` runs
        assert cli.ok and not cli.complete
        assert str(unstorable.id) in {m.event_id for m in cli.missing}

    # `concord audit verify` on that answer: says so, and exits non-zero.
    async def answer(self: ConcordClient, service: str, path: str, **kwargs: Any) -> Any:
        assert path == "/api/audit/verify"
        return report

    monkeypatch.setattr(ConcordClient, "get_json", answer)
    result = await asyncio.to_thread(
        CliRunner().invoke, concord, ["audit", "verify"], terminal_width=400
    )
    assert result.exit_code == 3, result.output
    assert "audit chain intact" in result.output
    assert "events missing (dead-lettered)" in result.output
    assert str(unstorable.id) in result.output
