"""The access audit in monitoring (issue 13): every read that serves a restricted record in
full — drill-down, map layers, CAP message, the audit trail's payloads, the requests export —
is recorded (an `access_log` row and an `access.restricted_read.v1` event the audit trail
chains); coarsened reads are not; bulk reads serve restricted records in full only with a
`purpose`; a bad `purpose` is a problem+json 422 that records nothing.

Real Kafka and Postgres: the events go to the real topics, monitoring's consumers build its
read models and chain, and the reads go through the HTTP API.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.db.models.access_log import access_log
from services.monitoring.db.models.audit import audit_log
from services.monitoring.db.models.read_models import alerts, incidents, requests
from services.monitoring.tests.factories import (
    aid_request,
    envelope,
    incident,
    now,
    projected,
    publish,
)
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import monitoring as sla
from shared.runtime import ServiceRuntime
from shared.testing import bearer, problem_of, serve_in_process
from shared.vocabulary import Sector, Sensitivity, Urgency

pytestmark = pytest.mark.integration

ACCESS_EVENT = "concord.monitoring.access.restricted_read.v1"
PURPOSE = "case review 2026-12"


async def test_restricted_reads_through_monitoring_are_recorded(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings()
    at = now()
    restricted_id, internal_id, incident_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    restricted = aid_request(
        request_id=restricted_id,
        version=1,
        status=hr.RequestStatus.submitted,
        submitted_at=at,
        sector=Sector.gbv,
        pcode="SS0301",
        admin1="SS03",
        sensitivity=Sensitivity.restricted,
    )
    internal = aid_request(
        request_id=internal_id,
        version=1,
        status=hr.RequestStatus.submitted,
        submitted_at=at,
        pcode="SS0301",
        admin1="SS03",
    )
    reported = incident(
        incident_id=incident_id, version=1, pcode="SS0301", occurred_at=at
    ).model_copy(
        update={
            "sensitivity": Sensitivity.restricted,
            "incident_type": hr.IncidentType.sgbv,
            "description": "Planted survivor account",
        }
    )
    incident_event = envelope(reported, subject=incident_id)
    request_event = envelope(restricted, subject=restricted_id)
    alert_id = uuid.uuid4()
    breach = sla.SlaBreached(
        alert_id=alert_id,
        request_id=restricted_id,
        stage=sla.SlaStage.triage,
        urgency=Urgency.urgent,
        sector=Sector.gbv,
        pcode="SS0301",
        level=sla.AlertLevel.breach,
        escalation_level=1,
        escalate_to=["duty_officer", "sector_lead"],
        started_at=at - timedelta(hours=2),
        due_at=at - timedelta(hours=1),
        raised_at=at,
        version=1,
        sensitivity=Sensitivity.restricted,
    )
    events = [
        request_event,
        envelope(internal, subject=internal_id),
        incident_event,
        envelope(breach, subject=alert_id),
    ]

    # Unique subjects: this test's reads are told apart from every other test's.
    officer_name = f"po-{uuid.uuid4()}"
    officer = bearer(settings, "protection_officer", subject=officer_name)
    ops = bearer(settings, "ops_centre", subject=f"ops-{uuid.uuid4()}")
    granted_name = f"ops-granted-{uuid.uuid4()}"
    granted = bearer(settings, "ops_centre", subject=granted_name, grants=["restricted"])

    app = create_app(settings)
    async with serve_in_process(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        await publish(kafka_bootstrap, events)

        async def held() -> bool:
            async with runtime.sessionmaker() as session:
                modelled = await session.scalar(
                    select(func.count())
                    .select_from(requests)
                    .where(requests.c.request_id.in_([restricted_id, internal_id]))
                )
                incident_held = await session.scalar(
                    select(incidents.c.incident_id).where(incidents.c.incident_id == incident_id)
                )
                chained = await session.scalar(
                    select(func.count())
                    .select_from(audit_log)
                    .where(audit_log.c.event_id.in_([e.id for e in events]))
                )
                alert_held = await session.scalar(
                    select(alerts.c.sensitivity).where(alerts.c.alert_id == alert_id)
                )
            return (
                modelled == 2
                and incident_held is not None
                and alert_held == "restricted"
                and chained == len(events)
            )

        await projected(held, kafka_bootstrap)

        async def logged(subject: str) -> list[Any]:
            async with runtime.sessionmaker() as session:
                rows = await session.execute(
                    select(access_log)
                    .where(access_log.c.subject == subject)
                    .order_by(access_log.c.at, access_log.c.records)
                )
                return list(rows.all())

        async def get(path: str, headers: dict[str, str], **params: str) -> httpx.Response:
            response = await client.get(path, params=params, headers=headers)
            assert response.status_code == 200, (path, response.text)
            return response

        # Coarsened reads record nothing: an ops centre without the grant, everywhere.
        detail = (await get(f"/api/requests/{restricted_id}", ops)).json()
        assert detail["request"]["details_withheld"] is True
        assert detail["request"]["title"] == "(restricted)"
        cap = (await get(f"/api/cap/messages/{incident_event.id}", ops)).text
        assert "Planted survivor" not in cap and "Details withheld" in cap
        coarse = await get(f"/api/cap/messages/{incident_event.id}", ops)
        assert coarse.headers["x-concord-sensitivity"] == "internal"
        audited = (await get("/api/audit/events", ops, subject=str(restricted_id))).json()
        assert [e["event"] for e in audited] == [None]
        assert audited[0]["details_withheld"] is True

        # An SLA alert on a restricted request is restricted, placed in its state for the
        # ops centre (the feed and the drill-down alike).
        def our_alert(feed: list[dict[str, Any]]) -> dict[str, Any]:
            return next(a for a in feed if a["alert_id"] == str(alert_id))

        feed = (await get("/api/alerts", ops, limit="500")).json()
        assert our_alert(feed) | {"pcode": "SS03", "details_withheld": True} == our_alert(feed)
        assert our_alert(feed)["sensitivity"] == "restricted"
        assert our_alert(detail["alerts"])["pcode"] == "SS03"

        # A drill-down in full is recorded (a purpose is optional for one record); an
        # internal request's is not.
        detail = (await get(f"/api/requests/{restricted_id}", officer, purpose=PURPOSE)).json()
        assert detail["request"]["title"] == restricted.title
        assert "details_withheld" not in detail["request"]
        assert our_alert(detail["alerts"])["pcode"] == "SS0301"
        await get(f"/api/requests/{internal_id}", officer)
        [drill] = await logged(officer_name)
        assert (drill.records, drill.entity_ids, drill.purpose) == (
            "aid_request",
            [str(restricted_id)],
            PURPOSE,
        )
        assert drill.roles == ["protection_officer"]
        assert drill.route == "/api/requests/{request_id}"

        # The map: without a purpose even the officer gets restricted points coarsened, and
        # nothing is recorded; with one they are exact, and each kind served is recorded.
        def ours(layers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
            point = next(r for r in layers["requests"] if r["request_id"] == str(restricted_id))
            spot = next(i for i in layers["incidents"] if i["incident_id"] == str(incident_id))
            return point, spot

        point, spot = ours((await get("/api/map", officer)).json())
        assert point["details_withheld"] and spot["details_withheld"]
        assert (point["lat"], point["lon"]) != (4.85, 31.6)
        assert len(await logged(officer_name)) == 1
        point, spot = ours((await get("/api/map", officer, purpose=PURPOSE)).json())
        assert (point["lat"], point["lon"]) == (4.85, 31.6) and spot["lat"] == 4.85
        assert "details_withheld" not in point
        map_rows = [r for r in await logged(officer_name) if r.route == "/api/map"]
        assert {r.records for r in map_rows} == {"aid_request", "incident"}
        by_kind = {r.records: r for r in map_rows}
        assert str(restricted_id) in by_kind["aid_request"].entity_ids
        assert str(internal_id) not in by_kind["aid_request"].entity_ids
        assert str(incident_id) in by_kind["incident"].entity_ids
        assert all(r.restricted_records == len(r.entity_ids) for r in map_rows)

        # The alert feed in full only with a purpose, and then recorded.
        feed = (await get("/api/alerts", officer, limit="500")).json()
        assert our_alert(feed)["pcode"] == "SS03"
        feed = (await get("/api/alerts", officer, limit="500", purpose=PURPOSE)).json()
        assert our_alert(feed)["pcode"] == "SS0301"
        assert "details_withheld" not in our_alert(feed)
        feed_read = (await logged(officer_name))[-1]
        assert feed_read.records == "sla_alert" and str(alert_id) in feed_read.entity_ids

        # A CAP message about a restricted incident, in full: recorded.
        full_cap = await get(f"/api/cap/messages/{incident_event.id}", granted)
        assert "Planted survivor account" in full_cap.text
        assert full_cap.headers["x-concord-sensitivity"] == "restricted"
        [cap_read] = await logged(granted_name)
        assert (cap_read.records, cap_read.entity_ids, cap_read.purpose) == (
            "incident",
            [str(incident_id)],
            None,
        )

        # The audit trail's restricted payloads: withheld without a purpose, served and
        # recorded with one.
        audited = (await get("/api/audit/events", granted, subject=str(restricted_id))).json()
        assert audited[0]["event"] is None
        audited = (
            await get("/api/audit/events", granted, subject=str(restricted_id), purpose=PURPOSE)
        ).json()
        assert audited[0]["event"]["data"]["title"] == restricted.title
        audit_read = (await logged(granted_name))[-1]
        assert (audit_read.records, audit_read.entity_ids) == (
            "audited_event",
            [str(request_event.id)],
        )

        # The requests export: restricted rows only with a purpose; then it is recorded with
        # how many it holds, and says its class.
        period = {
            "start": at.isoformat(),
            "end": (at + timedelta(milliseconds=1)).isoformat(),
        }
        plain = await get("/api/reports/requests.csv", officer, **period)
        assert plain.headers["x-concord-sensitivity"] == "internal"
        assert str(restricted_id) not in plain.text and str(internal_id) in plain.text
        full = await get("/api/reports/requests.csv", officer, **period, purpose=PURPOSE)
        assert full.headers["x-concord-sensitivity"] == "restricted"
        assert str(restricted_id) in full.text
        export = (await logged(officer_name))[-1]
        assert (export.records, export.export, export.restricted_records) == (
            "export",
            "requests.csv",
            1,
        )
        assert export.entity_ids == [] and export.purpose == PURPOSE

        # Each recorded read went out through the outbox and is chained in the audit trail,
        # with who read as its actor.
        recorded = await logged(officer_name) + await logged(granted_name)

        async def chained() -> list[Any] | None:
            async with runtime.sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(audit_log).where(
                            audit_log.c.event_type == ACCESS_EVENT,
                            audit_log.c.subject.in_([str(r.id) for r in recorded]),
                        )
                    )
                ).all()
            return list(rows) if len(rows) == len(recorded) else None

        for row in await projected(chained, kafka_bootstrap):
            assert row.actor in (officer_name, granted_name)
            data = orjson.loads(row.canonical)["data"]
            assert data["actor"] == row.actor and data["access_id"] == row.subject


async def test_a_bad_purpose_is_refused_and_records_nothing(stack: LocalStack) -> None:
    settings = Settings()
    name = f"po-{uuid.uuid4()}"
    officer = bearer(settings, "protection_officer", subject=name)
    app = create_app(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    routes = [
        f"/api/requests/{uuid.uuid4()}",
        "/api/map",
        "/api/alerts",
        f"/api/cap/messages/{uuid.uuid4()}",
        "/api/audit/events",
        "/api/reports/requests.csv",
    ]
    async with serve_in_process(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        for route in routes:
            for purpose in ("", "x" * 501):
                response = await client.get(route, params={"purpose": purpose}, headers=officer)
                assert response.status_code == 422, (route, response.text)
                assert problem_of(response)["status"] == 422
        async with runtime.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).select_from(access_log).where(access_log.c.subject == name)
            )
        assert count == 0
        spec = app.openapi()
        for path in (
            "/api/requests/{request_id}",
            "/api/map",
            "/api/alerts",
            "/api/cap/messages/{message_id}",
            "/api/audit/events",
            "/api/reports/requests.csv",
        ):
            operation = spec["paths"][path]["get"]
            assert "application/problem+json" in operation["responses"]["422"]["content"]
            [purpose] = [p for p in operation["parameters"] if p["name"] == "purpose"]
            assert purpose["schema"]["anyOf"][0]["maxLength"] == 500
