"""The audit trail: every consumed event chained; an altered row is found at that row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.audit.__main__ import verify
from services.monitoring.config import Settings
from services.monitoring.tests.factories import aid_request, envelope, eventually, now, publish
from shared.db import create_engine
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

        rows = await eventually(audited)
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
