"""Each way an answer to an offer can fail has its own problem `type`, in the answer and in
the OpenAPI document, so an NGO's system can branch on it without parsing `detail`.

Over HTTP: another NGO's offer (`offer-not-found`) and an offer already answered
(`offer-already-answered`). A lapsed deadline (`offer-expired`) and a request that moved on
(`offer-superseded`) are raced by the app's own sweeper over HTTP, so they run against the
service in a transaction that is rolled back: the answer at a `now` past the deadline, and
the answer after the request was moved on inside that transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.matching import repository, service
from services.humanitarian_requests.matching.errors import (
    OfferLapsed,
    OfferSuperseded,
)
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    ngo_state,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.db import create_engine, create_sessionmaker
from shared.errors import ConcordError
from shared.events.schemas.humanitarian_requests import RequestStatus
from shared.testing import bearer, problem_of
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration

SECTOR = Sector.human_rights  # no other test grants it: each offer below is to our NGO,
HTTP_COUNTY, SERVICE_COUNTY = "SS0806", "SS0805"  # and each test has its own county
PROBLEMS = "https://concord.example.org/problems/"


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(
        settings.service_database_url, schema=settings.db_schema, application_name="conflict-test"
    )
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _offered(
    client: httpx.AsyncClient,
    settings: Settings,
    kafka_bootstrap: str,
    database_url: str,
    county: str,
) -> tuple[uuid.UUID, dict[str, Any]]:
    """A fresh NGO, the only one granted `county`, and a request offered to it."""
    ngo = ngo_state(name=f"Answers {county}", sector=SECTOR, pcodes=[county])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    request = await submit_triaged(
        client,
        aid_request_body(sector=SECTOR, pcode=county),
        bearer(settings, "field_unit", unit_id=unique_unit()),
    )
    assert request["status"] == "offered", request
    assert request["offered_ngo_id"] == str(ngo.ngo_id)
    return ngo.ngo_id, request


async def test_answers_name_their_problem_type_over_http(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    ngo_id, request = await _offered(client, settings, kafka_bootstrap, database_url, HTTP_COUNTY)
    offer_id = request["current_offer_id"]
    as_ngo = bearer(settings, "ngo", ngo_id=ngo_id)

    foreign = await client.post(
        f"/offers/{offer_id}/accept", headers=bearer(settings, "ngo", ngo_id=uuid.uuid4())
    )
    assert foreign.status_code == 404
    assert problem_of(foreign)["type"] == PROBLEMS + "offer-not-found"

    declined = await client.post(f"/offers/{offer_id}/decline", json={}, headers=as_ngo)
    assert declined.status_code == 200, declined.text
    for answer in ("accept", "decline"):
        again = await client.post(f"/offers/{offer_id}/{answer}", json={}, headers=as_ngo)
        assert again.status_code == 409, again.text
        problem = problem_of(again)
        assert problem["type"] == PROBLEMS + "offer-already-answered"
        assert problem["offer_status"] == "declined"

    # A transition the request's status does not allow names the request's own type.
    as_ops = bearer(settings, "ops_centre")
    closed = await client.post(f"/aid-requests/{request['request_id']}/close", headers=as_ops)
    assert closed.status_code == 409
    assert problem_of(closed)["type"] == PROBLEMS + "aid-request-transition-not-allowed"


async def _answer_in_rolled_back_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
    offer_id: uuid.UUID,
    ngo_id: uuid.UUID,
    *,
    late_by: timedelta | None = None,
    move_request_on: bool = False,
) -> ConcordError:
    async with sessionmaker() as session:
        try:
            offer = await repository.get_offer(session, offer_id)
            assert offer is not None and offer.status == "pending"
            now = offer.respond_by + late_by if late_by is not None else offer.offered_at
            if move_request_on:
                row = await repository.lock_request(session, offer.request_id)
                assert row is not None
                row.status = RequestStatus.escalated
                row.current_offer_id = None
                await session.flush()
            with pytest.raises(ConcordError) as raised:
                await service.accept_offer(
                    session, offer_id, ngo_id=ngo_id, actor=f"ngo:{ngo_id}", now=now
                )
            return raised.value
        finally:
            await session.rollback()


async def test_a_lapsed_deadline_and_a_request_moved_on_are_their_own_conflicts(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    kafka_bootstrap: str,
    database_url: str,
) -> None:
    ngo_id, request = await _offered(
        client, settings, kafka_bootstrap, database_url, SERVICE_COUNTY
    )
    offer_id = uuid.UUID(request["current_offer_id"])

    lapsed = await _answer_in_rolled_back_transaction(
        sessionmaker, offer_id, ngo_id, late_by=timedelta(seconds=1)
    )
    assert isinstance(lapsed, OfferLapsed)
    assert lapsed.status == 409
    assert lapsed.to_problem()["type"] == PROBLEMS + "offer-expired"
    assert "respond_by" in lapsed.to_problem()

    superseded = await _answer_in_rolled_back_transaction(
        sessionmaker, offer_id, ngo_id, move_request_on=True
    )
    assert isinstance(superseded, OfferSuperseded)
    assert superseded.status == 409
    assert superseded.to_problem()["type"] == PROBLEMS + "offer-superseded"

    # Both rolled back: the offer still stands and its NGO can take it.
    accepted = await client.post(
        f"/offers/{offer_id}/accept", headers=bearer(settings, "ngo", ngo_id=ngo_id)
    )
    assert accepted.status_code == 200, accepted.text


async def test_openapi_lists_each_answer_conflict(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for answer in ("accept", "decline"):
        responses = document["paths"][f"/offers/{{offer_id}}/{answer}"]["post"]["responses"]
        conflicts = responses["409"]["description"]
        for problem_type in ("offer-already-answered", "offer-expired", "offer-superseded"):
            assert PROBLEMS + problem_type in conflicts, (answer, conflicts)
        assert PROBLEMS + "offer-not-found" in responses["404"]["description"]
    cancel = document["paths"]["/aid-requests/{request_id}/cancel"]["post"]["responses"]
    assert PROBLEMS + "aid-request-transition-not-allowed" in cancel["409"]["description"]
