"""Flow: the registry, the requests service and joint planning, over real Kafka.

An NGO vetted with an agreement in the registry becomes eligible in joint planning's replica
and implements an operation. It notifies two movements. A field unit reports a restricted
incident beside the first route: the requests service's relay publishes it, joint planning's
consumer re-checks, and the movement is flagged — to the NGO without the incident's type or
details. A mission operation planned in the same place and time flags it too; the second
movement, elsewhere, is never flagged. Then the registry suspends the NGO: it is removed as
implementing participant, with an event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app as create_requests
from services.humanitarian_requests.config import Settings as RequestsSettings
from services.joint_planning.app import create_app as create_planning
from services.joint_planning.config import Settings as PlanningSettings
from services.joint_planning.tests.helpers import fresh_county, iso, movement_body, point_of
from services.ngo_registry.app import create_app as create_registry
from services.ngo_registry.config import Settings as RegistrySettings
from services.ngo_registry.tests.helpers import (
    create_active_agreement,
    create_vetted_ngo,
    vetting,
)
from shared.events.envelope import CloudEvent
from shared.events.schemas.joint_planning import NOTIFICATION_TOPIC, OPERATION_TOPIC
from shared.testing import bearer, read_events, serve_in_process

pytestmark = pytest.mark.integration

FLAGGED = "concord.joint_planning.notification.conflict_flagged.v1"
REMOVED = "concord.joint_planning.operation.participant_removed.v1"


async def replica_says_eligible(app: FastAPI, ngo_id: str, eligible: bool) -> None:
    """Wait until joint planning's replica holds the NGO with this eligibility (the test
    fails with TimeoutError if the registry's event never arrives)."""
    async with asyncio.timeout(60):
        while True:
            async with app.state.runtime.sessionmaker() as session:
                found = await session.scalar(
                    text("SELECT eligible FROM ngo_eligibility WHERE ngo_id = :id"),
                    {"id": uuid.UUID(ngo_id)},
                )
            if found is eligible:
                return
            await asyncio.sleep(0.1)


def flagged_on(notification_id: str) -> Callable[[CloudEvent], bool]:
    return lambda e: e.type == FLAGGED and e.subject == notification_id


async def test_deconfliction_and_eligibility_across_services(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    registry_settings, planning_settings = RegistrySettings(), PlanningSettings()
    requests_settings = RequestsSettings(offer_response_seconds=600)
    planning_app = create_planning(planning_settings)
    county, elsewhere = fresh_county(), fresh_county()
    staff = bearer(planning_settings, "ops_centre", subject="flow-planner")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    async with (
        serve_in_process(create_registry(registry_settings)) as registry,
        serve_in_process(create_requests(requests_settings)) as requests,
        serve_in_process(planning_app) as planning,
    ):
        ngo = await create_vetted_ngo(registry, registry_settings, operating_areas=[county])
        ngo_id = ngo["ngo_id"]
        await create_active_agreement(
            registry, registry_settings, [ngo_id], sectors=["wash"], pcodes=[county]
        )
        await replica_says_eligible(planning_app, ngo_id, True)
        as_ngo = bearer(planning_settings, "ngo", ngo_id=ngo_id)

        own_operation = await _live_operation(
            planning,
            staff,
            title="Water trucking",
            areas=[county],
            starts_at=iso(start - timedelta(hours=1)),
            ends_at=iso(start + timedelta(days=3)),
            participants=[
                _component("civil_affairs", "Civil Affairs", "lead"),
                {"kind": "ngo", "ngo_id": ngo_id, "role": "implementing"},
            ],
        )
        route = await _notify(planning, as_ngo, movement_body(county, starts_at=start))
        away = await _notify(planning, as_ngo, movement_body(elsewhere, starts_at=start))
        assert (
            route["conflicts"] == [] and away["conflicts"] == []
        )  # its own operation is no conflict

        # A restricted incident two kilometres beside the route, through the requests service.
        marker = uuid.uuid4().hex
        near = point_of(county, d_lat=0.02, d_lon=0.015)
        reported = await requests.post(
            "/incidents",
            json={
                "incident_type": "sgbv",
                "severity": "high",
                "casualties": {"injured": 1},
                "occurred_at": iso(datetime.now(UTC) - timedelta(hours=1)),
                "location": {**near, "pcode": county},
                "description": f"survivor-{marker} attacked near the water point",
            },
            headers=bearer(requests_settings, "field_unit", unit_id=f"unit-{marker[:6]}"),
        )
        assert reported.status_code == 201, reported.text
        assert reported.json()["sensitivity"] == "restricted"
        (flag,) = await read_events(
            kafka_bootstrap,
            [NOTIFICATION_TOPIC.name],
            where=flagged_on(route["notification_id"]),
            until=lambda found: len(found) >= 1,
            timeout=60,
        )
        assert flag.data["source"] == "security_incident"
        seen = (
            await planning.get(f"/notifications/{route['notification_id']}", headers=as_ngo)
        ).json()
        (conflict,) = seen["conflicts"]
        assert conflict["notice"].startswith("A security incident was reported near your movement")
        assert conflict["distance_km"] is not None and conflict["distance_km"] < 5
        for secret in ("sgbv", marker, reported.json()["incident_id"], "restricted"):
            assert secret not in str(seen) and secret not in str(flag.data["notice"])

        # A mission operation in the same county and time flags it as well.
        security = await _live_operation(
            planning,
            staff,
            title=f"Cordon operation {marker}",
            areas=[county],
            sectors=["protection"],
            starts_at=iso(start + timedelta(hours=2)),
            ends_at=iso(start + timedelta(hours=12)),
            participants=[_component("military", "Force Protection Coy", "lead")],
        )
        flags = await read_events(
            kafka_bootstrap,
            [NOTIFICATION_TOPIC.name],
            where=flagged_on(route["notification_id"]),
            until=lambda found: any(e.data["source"] == "mission_activity" for e in found),
            timeout=60,
        )
        activity = next(e for e in flags if e.data["source"] == "mission_activity")
        assert activity.data["source_id"] == security["operation_id"]
        as_seen = (
            await planning.get(f"/notifications/{route['notification_id']}", headers=as_ngo)
        ).json()
        assert {c["source"] for c in as_seen["conflicts"]} == {
            "security_incident",
            "mission_activity",
        }
        assert "Cordon" not in str(as_seen) and "Force Protection" not in str(as_seen)
        elsewhere_seen = (
            await planning.get(f"/notifications/{away['notification_id']}", headers=as_ngo)
        ).json()
        assert elsewhere_seen["conflicts"] == []

        # The registry suspends the NGO: it is no longer an implementing participant.
        suspended = await vetting(
            registry, registry_settings, ngo_id, "suspend", reason="audit finding"
        )
        assert suspended.status_code == 200, suspended.text
        (removed,) = await read_events(
            kafka_bootstrap,
            [OPERATION_TOPIC.name],
            where=lambda e: e.type == REMOVED and e.subject == own_operation["operation_id"],
            until=lambda found: len(found) >= 1,
            timeout=60,
        )
        assert removed.data["ngo_id"] == ngo_id
        assert removed.data["reason"].startswith("lost eligibility")
        assert ngo_id not in {p["ngo_id"] for p in removed.data["participants"]}


def _component(component: str, name: str, role: str) -> dict[str, Any]:
    return {"kind": "mission_component", "component": component, "name": name, "role": role}


async def _live_operation(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"sectors": ["wash"], "objectives": ["flow"], **fields}
    created = await client.post("/operations", json=body, headers=headers)
    assert created.status_code == 201, created.text
    planned = await client.post(
        f"/operations/{created.json()['operation_id']}/status",
        json={"status": "planned"},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    assert planned.status_code == 200, planned.text
    result: dict[str, Any] = planned.json()
    return result


async def _notify(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    created = await client.post("/notifications", json=body, headers=headers)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result
