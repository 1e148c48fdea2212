"""The triage worker: what happens to a request between its 201 and its triage.

Intake stores a request `submitted`; the service's triage worker triages it right after
(`triage/`). To look at a request while it waits, these tests hold the triage lock
(`TRIAGE_LOCK`, the advisory lock every triage pass takes first) on a connection of their
own: the worker's next pass waits on it, and releasing it lets the pass go on. Nothing is
timed: each test waits for an outcome, and the order of the queue (submission order) is the
marker that an earlier request has been considered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    submit_triaged,
    triaged,
    unique_unit,
)
from services.humanitarian_requests.triage.service import TRIAGE_LOCK
from services.humanitarian_requests.triage.tasks import drain
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


class TriageLock:
    """The triage lock held on a connection of the test's own, until `release()`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.held = False

    async def hold(self) -> None:
        # Waits for a pass in progress to commit; every later pass then waits on us.
        await self.conn.execute("SELECT pg_advisory_lock($1)", TRIAGE_LOCK)
        self.held = True

    async def release(self) -> None:
        if self.held:
            await self.conn.execute("SELECT pg_advisory_unlock($1)", TRIAGE_LOCK)
            self.held = False


@pytest.fixture
async def triage_lock(database_url: str) -> AsyncIterator[TriageLock]:
    conn = await asyncpg.connect(database_url)
    lock = TriageLock(conn)
    try:
        await lock.hold()
        yield lock
    finally:
        await lock.release()
        await conn.close()


async def _submit(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> str:
    created = await client.post("/aid-requests", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "submitted", created.text
    return str(created.json()["request_id"])


async def _history_types(database_url: str, request_id: str) -> list[str]:
    """The request's own transitions (its offers have history rows of their own)."""
    rows = await fetch(
        database_url,
        "SELECT event_type FROM humanitarian_requests.history"
        " WHERE entity_id = :i AND entity_type = 'aid_request' ORDER BY id",
        i=request_id,
    )
    return [_short(r[0]) for r in rows]


async def _outbox_types(database_url: str, request_id: str) -> list[str]:
    rows = await fetch(
        database_url,
        "SELECT event_type FROM humanitarian_requests.outbox"
        " WHERE message_key = :i AND event_type LIKE '%.aid_request.%' ORDER BY id",
        i=request_id,
    )
    return [_short(r[0]) for r in rows]


def _short(event_type: str) -> str:
    """`concord.humanitarian_requests.aid_request.triaged.v1` → `triaged`."""
    return event_type.split(".")[-2]


def _spot(index: int) -> dict[str, Any]:
    """A place of this module's own (no other test reports there), 0.2° (about 22 km, four
    times the duplicate radius) from the module's other places."""
    return {"lat": round(6.1 + 0.2 * index, 4), "lon": 31.2468, "pcode": None}


async def test_decisions_ops_made_while_a_request_waited_stand(
    client: httpx.AsyncClient, settings: Settings, database_url: str, triage_lock: TriageLock
) -> None:
    """An overridden priority is kept, a request cancelled before triage is never triaged,
    and a request ops linked by hand stays in the cluster they chose."""
    ops = bearer(settings, "ops_centre")
    # Two live roots far apart (triaged before the lock is taken: they are the test's setup).
    await triage_lock.release()
    unit = bearer(settings, "field_unit", unit_id=unique_unit())
    near, far = _spot(0), _spot(1)
    root_near = await submit_triaged(
        client, aid_request_body(sector=Sector.education, location=near), unit
    )
    root_far = await submit_triaged(
        client, aid_request_body(sector=Sector.education, location=far), unit
    )
    assert root_near["duplicate_of"] is None and root_far["duplicate_of"] is None
    await triage_lock.hold()

    cancelled = await _submit(client, aid_request_body(urgency="routine", location=_spot(2)), unit)
    gone = await client.post(
        f"/aid-requests/{cancelled}/cancel", json={"reason": "sent twice"}, headers=unit
    )
    assert gone.status_code == 200, gone.text

    overridden = await _submit(client, aid_request_body(urgency="routine", location=_spot(3)), unit)
    override = await client.post(
        f"/aid-requests/{overridden}/priority",
        json={"priority_score": 97.5, "reason": "convoy hit on the road"},
        headers=ops,
    )
    assert override.status_code == 200, override.text

    # Next to root_near (triage alone would link it there); ops link it to root_far instead.
    linked = await _submit(client, aid_request_body(sector=Sector.education, location=near), unit)
    link = await client.post(
        f"/aid-requests/{linked}/link",
        json={"duplicate_of": root_far["request_id"], "reason": "same family, moved"},
        headers=ops,
    )
    assert link.status_code == 200, link.text

    # Still waiting: the worker's pass waits on the lock.
    waiting = await fetch(
        database_url,
        "SELECT id FROM humanitarian_requests.aid_requests"
        " WHERE id IN (:a, :b) AND status = 'submitted'",
        a=overridden,
        b=linked,
    )
    assert len(waiting) == 2
    await triage_lock.release()

    kept = await triaged(client, overridden, ops)
    assert kept["priority_score"] == 97.5
    assert kept["status"] in {"offered", "escalated"}
    stays = await triaged(client, linked, ops)
    assert stays["status"] == "triaged"
    assert stays["duplicate_of"] == root_far["request_id"] == stays["cluster_id"]
    # `linked` was submitted after `cancelled`: triaged in submission order, so the pass that
    # triaged it has also considered every earlier request.
    never = (await client.get(f"/aid-requests/{cancelled}", headers=ops)).json()
    assert never["status"] == "cancelled"
    assert "triaged" not in await _history_types(database_url, cancelled)
    assert "triaged" not in await _outbox_types(database_url, cancelled)
    assert await _history_types(database_url, overridden) == [
        "submitted",
        "priority_overridden",
        "triaged",
        kept["status"],
    ]
    assert await _history_types(database_url, linked) == [
        "submitted",
        "duplicate_linked",
        "triaged",
    ]


async def test_a_request_that_fails_on_its_own_is_held_back_and_the_rest_go_on(
    client: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    triage_lock: TriageLock,
) -> None:
    """A row triage cannot handle (here an urgency no scale knows, as a bad migration or a
    hand edit could leave) rolls back alone: the request after it is triaged, the bad one
    stays `submitted` with nothing half-written, and is triaged once it is repaired."""
    unit = bearer(settings, "field_unit", unit_id=unique_unit())
    bad = await _submit(client, aid_request_body(location=_spot(4)), unit)
    after = await _submit(client, aid_request_body(location=_spot(5)), unit)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE humanitarian_requests.aid_requests SET urgency = 'bogus' WHERE id = $1",
            bad,
        )
        await triage_lock.release()
        went_on = await triaged(client, after, unit)
        assert went_on["status"] in {"offered", "escalated"}
        # `after` was submitted after `bad`: the pass that triaged it tried `bad` first.
        state = await conn.fetchrow(
            "SELECT status, version, triaged_at FROM humanitarian_requests.aid_requests"
            " WHERE id = $1",
            bad,
        )
        assert state is not None
        assert (state["status"], state["version"], state["triaged_at"]) == ("submitted", 1, None)
        assert await _history_types(database_url, bad) == ["submitted"]
        assert await _outbox_types(database_url, bad) == ["submitted"]
    finally:
        await conn.execute(
            "UPDATE humanitarian_requests.aid_requests SET urgency = 'urgent' WHERE id = $1", bad
        )
        await conn.close()
    # Repaired, it is triaged by the next drain (the worker holds it back for a while; a
    # drain of our own with nothing held back does not wait for that).
    async with asyncio.timeout(60):
        await drain(sessionmaker, settings)
    repaired = await triaged(client, bad, unit)
    assert repaired["status"] in {"offered", "escalated"}
    assert await _history_types(database_url, bad) == ["submitted", "triaged", repaired["status"]]


async def test_requests_triaged_in_one_pass_see_each_other(
    client: httpx.AsyncClient, settings: Settings, triage_lock: TriageLock
) -> None:
    """Waiting requests are triaged together, in one pass: each sees what the pass did before
    it, so a near-duplicate submitted second joins the first's cluster instead of being
    offered as well."""
    unit = bearer(settings, "field_unit", unit_id=unique_unit())
    ops = bearer(settings, "ops_centre")
    place = _spot(6)
    first = await _submit(client, aid_request_body(sector=Sector.shelter_nfi, location=place), unit)
    second = await _submit(
        client, aid_request_body(sector=Sector.shelter_nfi, location=place), unit
    )
    await triage_lock.release()
    root = await triaged(client, first, ops)
    joined = await triaged(client, second, ops)
    assert root["duplicate_of"] is None
    assert root["status"] in {"offered", "escalated"}
    assert joined["duplicate_of"] == first == joined["cluster_id"]
    assert joined["status"] == "triaged"
