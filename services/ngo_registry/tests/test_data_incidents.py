"""The data-incident workflow (issue 13) against the real database and broker: report,
classify, contain (the NGO's access suspended in the same step), notify, close; each step on
the data-incident topic in order, and every refusal a problem."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.ngo_registry.config import Settings
from services.ngo_registry.data_incident.handlers import DATA_INCIDENT_GROUP
from services.ngo_registry.tests.helpers import create_vetted_ngo, staff
from shared.events.envelope import CloudEvent, service_source
from shared.events.kafka import create_producer
from shared.events.schemas import CATALOG
from shared.events.schemas.backbone import refused_event_type
from shared.events.schemas.ngo_registry import DATA_INCIDENT_TOPIC, NGO_TOPIC
from shared.testing import bearer, committed_to_end, problem_of, read_events
from tests.platform.conftest import wait_for

pytestmark = pytest.mark.integration


async def test_a_data_incident_from_report_to_closure_revokes_the_ngo_at_containment(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    other = await create_vetted_ngo(client, settings)
    ngo_id = ngo["ngo_id"]
    as_officer = bearer(settings, "protection_officer", subject="officer-1")
    as_unit = bearer(settings, "field_unit", unit_id="unit-7", subject="unit-7")

    reported = await client.post(
        "/data-incidents",
        json={
            "summary": "An export with survivors' locations was e-mailed to a partner",
            "occurred_at": "2026-12-01T09:00:00Z",
            "records": [{"kind": "export", "id": "requests.csv:2026-11"}],
            "recipients": [ngo_id],
        },
        headers=as_unit,
    )
    assert reported.status_code == 201, reported.text
    incident = reported.json()
    incident_id = incident["incident_id"]
    assert incident["status"] == "reported" and incident["reported_by"] == "unit-7"
    assert incident["recipients"] == [ngo_id] and incident["discovered_at"]

    # Closing before containment is refused, and changes nothing.
    early = await client.post(
        f"/data-incidents/{incident_id}/closure", json={"lessons": "x"}, headers=as_officer
    )
    assert early.status_code == 409
    assert problem_of(early)["type"].endswith("data-incident-step-refused")

    steps: list[tuple[str, dict[str, Any]]] = [
        ("classification", {"severity": "high", "reason": "survivors' locations"}),
        ("containment", {"revoke_ngo_ids": [ngo_id], "reason": "received the export"}),
        ("notification", {"notified": [{"recipient": "protection cluster", "channel": "email"}]}),
        ("closure", {"lessons": "Exports of restricted data need a second pair of eyes"}),
    ]
    states = []
    for step, body in steps:
        response = await client.post(
            f"/data-incidents/{incident_id}/{step}", json=body, headers=as_officer
        )
        assert response.status_code == 200, (step, response.text)
        states.append(response.json())
    assert [s["status"] for s in states] == ["classified", "contained", "notified", "closed"]
    assert [s["version"] for s in states] == [2, 3, 4, 5]
    assert states[0]["severity"] == "high"
    assert states[1]["revoked_ngo_ids"] == [ngo_id]
    assert states[2]["notifications"][0]["recipient"] == "protection cluster"
    assert states[3]["closed_at"] and states[3]["lessons"].startswith("Exports")

    # Containment suspended the NGO in the same step; the other NGO is untouched.
    staff_headers = staff(settings)
    assert (await client.get(f"/ngos/{ngo_id}", headers=staff_headers)).json()[
        "vetting_status"
    ] == "suspended"
    assert (await client.get(f"/ngos/{other['ngo_id']}", headers=staff_headers)).json()[
        "vetting_status"
    ] == "vetted"

    # The suspended NGO's own token is refused from now on; the other NGO's still works.
    as_suspended = bearer(settings, "ngo", ngo_id=ngo_id)
    refused = await client.get(f"/ngos/{ngo_id}", headers=as_suspended)
    assert refused.status_code == 403
    assert problem_of(refused)["type"].endswith("ngo-access-suspended")
    other_id = other["ngo_id"]
    own = await client.get(f"/ngos/{other_id}", headers=bearer(settings, "ngo", ngo_id=other_id))
    assert own.status_code == 200

    # Every step is on the data-incident topic, in order; the suspension on the NGO topic.
    on_topic = await read_events(
        kafka_bootstrap,
        [DATA_INCIDENT_TOPIC.name],
        where=lambda e: e.subject == incident_id,
        until=lambda found: any(e.type.endswith("closed.v1") for e in found),
    )
    assert [e.type.rsplit(".", 2)[-2] for e in on_topic] == [
        "reported",
        "classified",
        "contained",
        "notified",
        "closed",
    ]
    assert [e.data["actor"] for e in on_topic] == ["unit-7", *["officer-1"] * 4]
    suspended = await read_events(
        kafka_bootstrap,
        [NGO_TOPIC.name],
        where=lambda e: e.subject == ngo_id and e.type.endswith("vetting_changed.v1"),
        until=lambda found: any(e.data["vetting_status"] == "suspended" for e in found),
    )
    assert suspended[-1].data["decided_by"] == "mission:vetting"

    fetched = await client.get(f"/data-incidents/{incident_id}", headers=as_officer)
    assert fetched.json()["status"] == "closed" and fetched.json()["version"] == 5
    listed = await client.get("/data-incidents", params={"status": "closed"}, headers=as_officer)
    assert incident_id in {i["incident_id"] for i in listed.json()["items"]}


async def test_bad_input_and_wrong_roles_are_problems_that_change_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    as_officer = bearer(settings, "protection_officer")
    unknown = str(uuid.uuid4())
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int]] = [
        ("POST", "/data-incidents", {"summary": ""}, as_officer, 422),
        ("POST", "/data-incidents", {"summary": "x" * 4001}, as_officer, 422),
        ("POST", "/data-incidents", {"summary": "s", "surprise": 1}, as_officer, 422),
        ("POST", "/data-incidents", {"summary": "s", "recipients": [unknown]}, as_officer, 422),
        ("POST", "/data-incidents", {"summary": "s"}, bearer(settings, "ngo", ngo_id=unknown), 403),
        ("GET", "/data-incidents", None, bearer(settings, "ops_centre"), 403),
        ("GET", f"/data-incidents/{unknown}", None, as_officer, 404),
        ("POST", f"/data-incidents/{unknown}/closure", {"lessons": "l"}, as_officer, 404),
    ]
    before = (await client.get("/data-incidents", params={"limit": 200}, headers=as_officer)).json()
    for method, path, body, headers, status in cases:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (path, body, response.text)
        problem_of(response)
    after = (await client.get("/data-incidents", params={"limit": 200}, headers=as_officer)).json()
    assert after == before

    # Containment naming an unknown NGO is refused whole: the incident stays as it was.
    created = await client.post("/data-incidents", json={"summary": "s"}, headers=as_officer)
    incident_id = created.json()["incident_id"]
    refused = await client.post(
        f"/data-incidents/{incident_id}/containment",
        json={"revoke_ngo_ids": [unknown], "reason": "r"},
        headers=as_officer,
    )
    assert refused.status_code == 422
    assert problem_of(refused)["type"].endswith("data-incident-unknown-ngo")
    again = await client.get(f"/data-incidents/{incident_id}", headers=as_officer)
    assert again.json()["status"] == "reported" and again.json()["version"] == 1


async def test_an_outbox_refusing_restricted_data_opens_a_data_incident_by_itself(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str
) -> None:
    """The requests service's outbox refused an open-request event carrying restricted data
    (`tests/platform/test_outbox_inbox.py` shows the refusal being recorded): its relay puts
    the refusal on the service's backbone topic, and the registry opens a data incident with
    no recipient, reported by the system."""
    refusal_id, request_id = uuid.uuid4(), uuid.uuid4()
    entry = CATALOG.by_type(refused_event_type("humanitarian_requests"))
    assert entry is not None
    refusal = entry.data_model.model_validate(
        {
            "service": "humanitarian_requests",
            "refusal_id": refusal_id,
            "event_type": "concord.humanitarian_requests.open_request.opened.v1",
            "topic": "concord.humanitarian_requests.open_request.v1",
            "subject": str(request_id),
            "refused_at": datetime.now(UTC),
        }
    )
    event = CloudEvent(
        source=service_source("humanitarian_requests"),
        type=entry.name,
        subject=str(refusal_id),
        data=refusal.model_dump(mode="json"),
    )
    producer = create_producer(kafka_bootstrap, client_id="data-incident-test")
    await producer.start()
    try:
        # Twice, as a relay crashing before it marks the row would: one incident.
        for _ in range(2):
            await producer.send_and_wait(
                entry.topic.name, event.to_json(), key=event.subject.encode()
            )
    finally:
        await producer.stop()

    officer = bearer(settings, "protection_officer", subject="officer-2")

    async def opened() -> list[dict[str, Any]]:
        listed = await client.get("/data-incidents", params={"limit": 200}, headers=officer)
        assert listed.status_code == 200, listed.text
        return [i for i in listed.json()["items"] if str(refusal_id) in i["summary"]]

    async def any_opened() -> bool:
        return bool(await opened())

    await wait_for(any_opened, timeout=90, what="the registry opened an incident from the refusal")
    await wait_for(
        lambda: committed_to_end(kafka_bootstrap, DATA_INCIDENT_GROUP, [entry.topic.name]),
        timeout=90,
        what="the detector consumed the backbone topic",
    )
    [incident] = await opened()
    assert incident["status"] == "reported" and incident["recipients"] == []
    assert incident["reported_by"] == "system:humanitarian_requests-outbox"
    assert incident["records"] == [{"kind": "open_request", "id": str(request_id)}]
    assert "concord.humanitarian_requests.open_request.v1" in incident["summary"]
