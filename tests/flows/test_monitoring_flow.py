"""Registry and request events in (real Kafka) -> funnel, gap matrix, contribution and an SLA
breach out; duplicate deliveries and stale states change nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.consumers import READ_MODEL_GROUP
from services.monitoring.tests.factories import (
    aid_request,
    all_consumed,
    envelope,
    eventually,
    ngo,
    now,
    publish,
)
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas.monitoring import SLA_TOPIC
from shared.testing import bearer, committed_to_end, read_events, serve_in_process
from shared.vocabulary import Sector, Urgency

pytestmark = pytest.mark.integration

S = hr.RequestStatus


def offer(
    model: type[hr.OfferState],
    *,
    offer_id: uuid.UUID,
    request_id: uuid.UUID,
    ngo_id: uuid.UUID,
    status: hr.OfferStatus,
    version: int,
) -> hr.OfferState:
    at = now()
    return model(
        offer_id=offer_id,
        request_id=request_id,
        ngo_id=ngo_id,
        status=status,
        round=1,
        rank=1,
        score=0.9,
        explanation=[],
        request=hr.OpenRequestSummary(
            request_id=request_id,
            sector=Sector.food_security,
            urgency=Urgency.urgent,
            pcode="SS0203",
            admin1="SS02",
            items=[],
            affected_total=300,
            priority_score=50,
            submitted_at=at,
            details_withheld=False,
        ),
        offered_at=at,
        respond_by=at + timedelta(hours=1),
        responded_at=None if status is hr.OfferStatus.pending else at,
        decline_reason=None,
        updated_at=at,
        version=version,
    )


async def _json(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _cell(gaps: dict[str, Any], sector: str, pcode: str) -> dict[str, Any] | None:
    return next((g for g in gaps["gaps"] if g["sector"] == sector and g["pcode"] == pcode), None)


async def test_requests_and_registry_events_become_funnel_gaps_and_sla_alerts(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings(
        sla_targets={"life_threatening": {"triage": 60}}, sla_sweep_interval_seconds=0.2
    )
    staff = bearer(settings, "ops_centre")
    ngo_a, ngo_b = uuid.uuid4(), uuid.uuid4()
    r1, r2, r3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    t0 = now() - timedelta(hours=3)
    common: dict[str, Any] = {"sector": Sector.food_security, "pcode": "SS0203", "admin1": "SS02"}

    async with serve_in_process(create_app(settings)) as client:
        # The counts are global: first let the read models take in what earlier tests of the
        # session published, so the baseline holds them and the deltas are this test's alone.
        topics = [hr.AID_REQUEST_TOPIC.name, hr.INCIDENT_TOPIC.name, hr.OFFER_TOPIC.name]
        while not await committed_to_end(kafka_bootstrap, READ_MODEL_GROUP, topics):  # noqa: ASYNC110 (polls the broker)
            await asyncio.sleep(0.2)
        before = await _json(client, "/api/kpis", staff)

        registry = [
            envelope(
                ngo(
                    ngo_id=ngo_a,
                    version=1,
                    name=f"Food A {ngo_a.hex[:4]}",
                    grants=[(Sector.food_security, ["SS02"])],
                ),
                subject=ngo_a,
            ),
            envelope(
                ngo(ngo_id=ngo_b, version=1, name="Health B", grants=[(Sector.health, ["SS0203"])]),
                subject=ngo_b,
            ),
        ]
        times = {
            "triaged_at": t0 + timedelta(minutes=10),
            "offered_at": t0 + timedelta(minutes=20),
            "accepted_at": t0 + timedelta(minutes=30),
            "fulfilled_at": t0 + timedelta(hours=2),
        }
        r1_states: list[tuple[type[hr.AidRequestEvent], S, dict[str, Any]]] = [
            (hr.AidRequestSubmitted, S.submitted, {}),
            (hr.AidRequestTriaged, S.triaged, {"triaged_at": times["triaged_at"]}),
            (hr.AidRequestOffered, S.offered, {k: times[k] for k in ("triaged_at", "offered_at")}),
            (
                hr.AidRequestAccepted,
                S.accepted,
                {k: times[k] for k in ("triaged_at", "offered_at", "accepted_at")},
            ),
            (hr.AidRequestFulfilled, S.fulfilled, times),
        ]
        r1_events = [
            envelope(
                aid_request(
                    model,
                    request_id=r1,
                    version=i + 1,
                    status=status,
                    submitted_at=t0,
                    people=300,
                    assigned_ngo_id=ngo_a if status in (S.accepted, S.fulfilled) else None,
                    fulfilment=hr.Fulfilment.full if status is S.fulfilled else hr.Fulfilment.none,
                    **common,
                    **stamps,
                ),
                subject=r1,
            )
            for i, (model, status, stamps) in enumerate(r1_states)
        ]
        r2_submitted = envelope(
            aid_request(
                request_id=r2, version=1, status=S.submitted, submitted_at=t0, people=500, **common
            ),
            subject=r2,
        )
        r3_submitted = envelope(
            aid_request(
                request_id=r3,
                version=1,
                status=S.submitted,
                submitted_at=now() - timedelta(hours=2),
                people=50,
                urgency=Urgency.life_threatening,
                sector=Sector.food_security,
                pcode="SS0204",
                admin1="SS02",
            ),
            subject=r3,
        )
        stale_r1 = envelope(  # a late copy of an old state, under a new event id
            aid_request(
                hr.AidRequestTriaged,
                request_id=r1,
                version=2,
                status=S.triaged,
                submitted_at=t0,
                people=300,
                triaged_at=times["triaged_at"],
                **common,
            ),
            subject=r1,
        )
        offer_id = uuid.uuid4()
        offers = [
            envelope(
                offer(
                    hr.OfferMade,
                    offer_id=offer_id,
                    request_id=r1,
                    ngo_id=ngo_a,
                    status=hr.OfferStatus.pending,
                    version=1,
                ),
                subject=offer_id,
            ),
            envelope(
                offer(
                    hr.OfferAccepted,
                    offer_id=offer_id,
                    request_id=r1,
                    ngo_id=ngo_a,
                    status=hr.OfferStatus.accepted,
                    version=2,
                ),
                subject=offer_id,
            ),
        ]
        # Every event twice (a relay that published twice), plus the stale state.
        batch = [*registry, *r1_events, r2_submitted, r3_submitted, *offers]
        await publish(kafka_bootstrap, [*batch, *batch, stale_r1])

        async def r1_fulfilled() -> dict[str, Any] | None:
            response = await client.get(f"/api/requests/{r1}", headers=staff)
            body: dict[str, Any] = response.json()
            return body if response.status_code == 200 and len(body["history"]) == 6 else None

        detail = await eventually(r1_fulfilled)
        assert detail["request"]["status"] == "fulfilled"
        assert detail["request"]["version"] == 5  # the stale triaged state did not win
        assert [h["status"] for h in detail["history"]][:5] == [
            "submitted",
            "triaged",
            "offered",
            "accepted",
            "fulfilled",
        ]

        async def all_counted() -> dict[str, Any] | None:
            kpis = await _json(client, "/api/kpis", staff)
            return kpis if kpis["requests_total"] - before["requests_total"] >= 3 else None

        await eventually(all_counted)
        # Every duplicate was published behind its original: once the read-model group has
        # committed past them all, count.
        await all_consumed(kafka_bootstrap, READ_MODEL_GROUP, [*batch, stale_r1])
        after = await _json(client, "/api/kpis", staff)
        # Each request counted once although every event came twice.
        assert after["requests_total"] - before["requests_total"] == 3
        assert after["requests_fulfilled"] - before["requests_fulfilled"] == 1
        assert after["people_reached"] - before["people_reached"] == 300

        funnel = await _json(client, "/api/funnel?group_by=pcode", staff)
        area = funnel["timings"]["SS0203"]
        assert area["triage"]["count"] == 1 and area["fulfilment"]["count"] == 1
        assert 500 <= area["triage"]["p50_seconds"] <= 700  # 10 minutes, within a bucket
        assert 6000 <= area["fulfilment"]["p90_seconds"] <= 8400  # 2 hours

        async def cell_with_presence() -> dict[str, Any] | None:
            # The registry topic is consumed independently of the request topic.
            gaps = await _json(client, "/api/gaps?level=2&limit=1000", staff)
            found = _cell(gaps, "food_security", "SS0203")
            return found if found and found["eligible_ngos"] else None

        cell = await eventually(cell_with_presence)
        assert cell["open_requests"] == 1 and cell["people_in_need"] == 500  # R2 only
        assert cell["eligible_ngos"] == 1  # A through its grant for the whole state
        assert cell["capacity"] == {"staff (persons)": 20.0}

        async def offers_counted() -> dict[str, Any] | None:
            contributions = await _json(client, "/api/contributions", staff)
            found = [c for c in contributions if c["ngo_id"] == str(ngo_a)]
            return found[0] if found and found[0]["accepted"] else None

        mine = await eventually(offers_counted)  # the offer topic is consumed independently
        assert (mine["offers"], mine["accepted"], mine["acceptance_rate"]) == (1, 1, 1.0)
        assert (mine["fulfilled"], mine["fulfilled_on_time"], mine["people_reached"]) == (1, 1, 300)

        # R3 waited two hours for triage against a 60 s target: a breach goes out.
        breaches = await read_events(
            kafka_bootstrap,
            [SLA_TOPIC.name],
            where=lambda e: e.data.get("request_id") == str(r3),
            until=lambda found: any(e.type.endswith("sla.breached.v1") for e in found),
        )
        breach = next(e for e in breaches if e.type.endswith("sla.breached.v1"))
        assert breach.data["stage"] == "triage" and breach.data["escalation_level"] >= 1
        assert breach.data["escalate_to"][:2] == ["duty_officer", "sector_lead"]

        async def r3_alert_open() -> list[dict[str, Any]] | None:
            feed = await _json(client, "/api/alerts", staff)
            return [a for a in feed if a["request_id"] == str(r3)] or None

        (alert,) = await eventually(r3_alert_open)
        assert alert["level"] == "breach"

        # Triage happens: the alert clears.
        await publish(
            kafka_bootstrap,
            [
                envelope(
                    aid_request(
                        hr.AidRequestTriaged,
                        request_id=r3,
                        version=2,
                        status=S.triaged,
                        submitted_at=now() - timedelta(hours=2),
                        people=50,
                        urgency=Urgency.life_threatening,
                        sector=Sector.food_security,
                        pcode="SS0204",
                        admin1="SS02",
                        triaged_at=now(),
                    ),
                    subject=r3,
                )
            ],
        )

        async def r3_cleared() -> list[dict[str, Any]] | None:
            feed = await _json(client, "/api/alerts?open_only=false", staff)
            return [
                a for a in feed if a["request_id"] == str(r3) and a["level"] == "cleared"
            ] or None

        (cleared,) = await eventually(r3_cleared)
        assert cleared["resolution"] == "triage reached"
        still_open = await _json(client, "/api/alerts", staff)
        assert all(a["request_id"] != str(r3) for a in still_open)

        # The 3W export carries HXL tags and A's fulfilled work in SS0203.
        export = await client.get(
            "/api/reports/3w.csv",
            params={"start": (t0 - timedelta(minutes=1)).isoformat(), "end": now().isoformat()},
            headers=staff,
        )
        assert export.status_code == 200
        rows = list(csv.reader(io.StringIO(export.text)))
        assert rows[1][:4] == ["#org", "#sector", "#adm1+code", "#adm2+code"]
        assert [
            f"Food A {ngo_a.hex[:4]}",
            "food_security",
            "SS02",
            "SS0203",
            "Kapoeta East",
            "fulfilled",
            "1",
            "300",
            "300",
        ] in rows
