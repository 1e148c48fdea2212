"""Cancelling the first report of a cluster must not strand the reports waiting in it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    ngo_state,
    point_in,
    publish_registry_events,
    submit_triaged,
    triaged,
    unique_unit,
    wait_for_replica,
)
from shared.db import asyncpg_url
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def test_cancelling_a_cluster_root_sends_its_waiting_duplicates_on(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    spot = {"lat": 7.6543, "lon": 28.1234, "pcode": None}
    root_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    root = await submit_triaged(
        client, aid_request_body(sector=Sector.mine_action, location=spot), root_unit
    )
    waiting = []
    for north in (0.005, 0.01):  # about 0.5 and 1 km away, reported by other units
        other = bearer(settings, "field_unit", unit_id=unique_unit())
        body = aid_request_body(sector=Sector.mine_action, location={**spot, "lat": 7.6543 + north})
        # Each triaged before the next is submitted: the duplicate search sees triaged ones.
        waiting.append(await submit_triaged(client, body, other))
    assert all(w["duplicate_of"] == root["request_id"] for w in waiting)
    assert all(w["status"] == "triaged" for w in waiting)

    cancelled = await client.post(
        f"/aid-requests/{root['request_id']}/cancel",
        json={"reason": "reported twice by mistake"},
        headers=root_unit,
    )
    assert cancelled.status_code == 200, cancelled.text

    ops = bearer(settings, "ops_centre")
    first, second = [
        (await client.get(f"/aid-requests/{w['request_id']}", headers=ops)).json() for w in waiting
    ]
    # The earliest waiting report takes over the cluster and goes to matching (escalated here:
    # no NGO holds mine-action grants); the others wait in its cluster instead.
    assert first["duplicate_of"] is None and first["cluster_id"] == first["request_id"]
    assert first["status"] in {"offered", "escalated"}
    assert second["duplicate_of"] == first["request_id"] == second["cluster_id"]
    assert second["status"] == "triaged"


async def test_a_new_need_next_to_a_fulfilled_request_is_matched_not_linked(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    """A fulfilled request's need was met: a report next to it is a new need, and linked
    into the finished cluster it would never be offered (nobody would serve it)."""
    county = "SS0405"
    ngo = ngo_state(name="Food partner", sector=Sector.food_security, pcodes=[county])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ngo = bearer(settings, "ngo", ngo_id=ngo.ngo_id)
    spot = point_in(county)
    body = aid_request_body(sector=Sector.food_security, location=spot)
    first = await submit_triaged(client, body, as_unit)
    assert first["offered_ngo_id"] == str(ngo.ngo_id)
    rid = first["request_id"]
    for path, payload in [
        (f"/offers/{first['current_offer_id']}/accept", None),
        (f"/aid-requests/{rid}/start", None),
        (f"/aid-requests/{rid}/deliveries", {"items": [], "final": True}),
    ]:
        done = await client.post(path, json=payload, headers=as_ngo)
        assert done.status_code == 200, (path, done.text)

    later = await submit_triaged(client, body, as_unit)
    assert later["duplicate_of"] is None
    assert later["status"] == "offered"


async def test_a_report_joining_a_cluster_while_its_root_is_cancelled_is_not_stranded(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    """The root's cancel hands its cluster on only to members it can see: a report linking
    itself at the same moment must wait for the cancel and then not join the dead cluster.

    The report is stored at once; the triage worker's duplicate search finds the root and
    share-locks it before joining its cluster, so it waits on the cancel's row lock."""
    spot = {"lat": 8.3456, "lon": 27.2345, "pcode": None}
    body = aid_request_body(sector=Sector.shelter_nfi, location=spot)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    root = await submit_triaged(client, body, as_unit)
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.connect() as cancelling:
            # A cancel in flight: it holds the root's row lock and has not committed yet.
            await cancelling.execute(
                text("SELECT 1 FROM humanitarian_requests.aid_requests WHERE id = :i FOR UPDATE"),
                {"i": root["request_id"]},
            )
            blocker = (await cancelling.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            other = bearer(settings, "field_unit", unit_id=unique_unit())
            created = await client.post("/aid-requests", json=body, headers=other)
            assert created.status_code == 201, created.text
            assert created.json()["status"] == "submitted"
            # The worker's triage of the report now waits on the root's row lock.
            await _until_someone_waits_on(database_url, blocker)
            await cancelling.execute(
                text(
                    "UPDATE humanitarian_requests.aid_requests SET status = 'cancelled'"
                    " WHERE id = :i"
                ),
                {"i": root["request_id"]},
            )
            await cancelling.commit()
        joined = await triaged(client, created.json()["request_id"], other)
    finally:
        await engine.dispose()
    assert joined["duplicate_of"] is None
    assert joined["status"] in {"offered", "escalated"}


async def _until_someone_waits_on(database_url: str, blocker: int) -> None:
    """Wait until a session waits on a lock `blocker` (the backend's pid) holds."""
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query ILIKE '%aid_requests%' AND :blocker = ANY(pg_blocking_pids(pid))"
    )
    async with asyncio.timeout(30):  # no timed assertion: fails only if nobody ever waits
        while True:
            if (await fetch(database_url, sql, blocker=blocker))[0][0]:
                return
            await asyncio.sleep(0.05)
