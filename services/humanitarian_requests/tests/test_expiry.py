"""Offer deadlines: an unanswered offer expires to the next NGO, then the request escalates.

Time is moved by setting an offer's `respond_by` into the past in the database, then one
sweep runs (`sweep_once`, what the runtime's background loop runs); the app's own sweeper may
get there first, which the test tolerates: either way exactly one sweeper expires each offer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.matching.tasks import sweep_once
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    ngo_state,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.db import create_engine, create_sessionmaker
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(
        settings.service_database_url, schema=settings.db_schema, application_name="expiry-test"
    )
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _expire_now(
    database_url: str,
    offer_id: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await fetch(
        database_url,
        "UPDATE humanitarian_requests.offers SET respond_by = now() - interval '1 second'"
        " WHERE id = :id RETURNING id",
        id=offer_id,
    )
    await sweep_once(sessionmaker, settings)
    async with asyncio.timeout(30):  # the app's sweeper may hold it: wait for the outcome
        while True:
            rows = await fetch(
                database_url,
                "SELECT status FROM humanitarian_requests.offers WHERE id = :id",
                id=offer_id,
            )
            if rows[0][0] == "expired":
                return
            await asyncio.sleep(0.1)


async def test_unanswered_offers_expire_to_the_next_ngo_then_escalate(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    kafka_bootstrap: str,
    database_url: str,
) -> None:
    county = "SS0105"
    first = ngo_state(name="Slow A", sector=Sector.nutrition, pcodes=[county])
    second = ngo_state(name="Slow B", sector=Sector.nutrition, pcodes=[county], near="SS0301")
    await publish_registry_events(kafka_bootstrap, [first, second])
    await wait_for_replica(database_url, second.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    request: dict[str, Any] = await submit_triaged(
        client, aid_request_body(sector=Sector.nutrition, pcode=county), as_unit
    )
    path = f"/aid-requests/{request['request_id']}"
    assert request["offered_ngo_id"] == str(first.ngo_id)
    first_offer = request["current_offer_id"]

    await _expire_now(database_url, first_offer, sessionmaker, settings)
    state = (await client.get(path, headers=as_unit)).json()
    assert state["status"] == "offered" and state["offered_ngo_id"] == str(second.ngo_id)
    assert state["offer_round"] == 2

    late = await client.post(
        f"/offers/{first_offer}/accept", headers=bearer(settings, "ngo", ngo_id=first.ngo_id)
    )
    assert late.status_code == 409

    await _expire_now(database_url, state["current_offer_id"], sessionmaker, settings)
    state = (await client.get(path, headers=as_unit)).json()
    assert state["status"] == "escalated"
    assert state["escalation_reason"] == "every eligible NGO declined or timed out"

    history = (await client.get(f"{path}/history", headers=as_unit)).json()
    kinds = [h["event_type"].split(".")[-2] for h in history]
    assert kinds.count("offer_expired") == 2 and kinds[-1] == "escalated"
    offers = (
        await client.get(
            f"/offers?request_id={request['request_id']}", headers=bearer(settings, "ops_centre")
        )
    ).json()
    assert {o["status"] for o in offers} == {"expired"}
    assert all(len(o["ranking"]) >= 2 for o in offers)  # ops see the whole ranking

    rematch = await client.post(f"{path}/rematch", headers=bearer(settings, "ops_centre"))
    assert rematch.status_code == 200 and rematch.json()["status"] == "escalated"  # nobody new
