"""Real objects of two tenants, made through the services' own APIs, for the authorization
matrix (`tests/platform/test_authorization_matrix.py`).

Tenant A owns one of everything a path parameter can name: an NGO that the registry vetted
and made eligible by an active agreement, that agreement, an aid request of field unit A
offered to NGO A (so the offer, too), an incident of unit A, an operation NGO A implements
with a task it owns and a meeting, and a movement notification NGO A submitted. Tenant B is
a second real NGO (registered and vetted, with no agreement) and a second field unit. The
registry's events reach the other services the real way: its outbox relay publishes them
and the replica consumers of joint planning and humanitarian requests apply them.

`FACTORIES` says which object each path parameter names; a route under a tenant rule whose
parameter has no entry there fails the matrix, so a new route cannot slip past it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role, issue_token
from shared.config import ServiceSettings
from shared.gazetteer import gazetteer

# No other test grants human rights anywhere, nor works in Twic East (a county of the shared
# test states, where requests and incidents may go): the request made here is offered to
# NGO A alone, and NGO A never takes another test's request.
SECTOR = "human_rights"
COUNTY = "SS0310"
TODAY = date.today()
NOW = datetime.now(UTC).replace(microsecond=0)

PARAM_KINDS: dict[str, str] = {
    "ngo_id": "ngo",
    "agreement_id": "agreement",
    "request_id": "aid_request",
    "offer_id": "offer",
    "incident_id": "incident",
    "operation_id": "operation",
    "task_id": "task",
    "meeting_id": "meeting",
    "notification_id": "notification",
}
"""Path parameter → the kind of object it names (the world holds tenant A's one of each)."""

READ_ROUTES: dict[str, tuple[str, str]] = {
    "ngo": ("ngo_registry", "/ngos/{ngo_id}"),
    "agreement": ("ngo_registry", "/agreements/{agreement_id}"),
    "aid_request": ("humanitarian_requests", "/aid-requests/{request_id}"),
    "offer": ("humanitarian_requests", "/offers/{offer_id}"),
    "incident": ("humanitarian_requests", "/incidents/{incident_id}"),
    "operation": ("joint_planning", "/operations/{operation_id}"),
    "task": ("joint_planning", "/tasks/{task_id}"),
    "meeting": ("joint_planning", "/meetings/{meeting_id}"),
    "notification": ("joint_planning", "/notifications/{notification_id}"),
}
"""Where mission staff read an object's current version (its ETag), for `If-Match`."""


@dataclass
class Tenant:
    ngo_id: uuid.UUID
    unit_id: str


@dataclass
class World:
    a: Tenant
    b: Tenant
    ids: dict[str, str] = field(default_factory=dict)
    """kind → id of tenant A's object."""


def headers(settings: ServiceSettings, role: Role, tenant: Tenant | None = None) -> dict[str, str]:
    token = issue_token(
        settings,
        subject=f"tenant-world-{role.value}",
        roles=[role],
        unit_id=tenant.unit_id if tenant and role is Role.field_unit else None,
        ngo_id=tenant.ngo_id if tenant and role is Role.ngo else None,
    )
    return {"Authorization": f"Bearer {token}"}


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200, 201)), (
        f"{response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:500]}"
    )
    body: dict[str, Any] = response.json()
    return body


def _point(pcode: str, d_lat: float = 0.0) -> dict[str, Any]:
    area = gazetteer().areas[pcode]
    return {"lat": round(area.lat + d_lat, 5), "lon": area.lon, "pcode": pcode}


def _latlon(pcode: str, d_lat: float = 0.0) -> dict[str, float]:
    area = gazetteer().areas[pcode]
    return {"lat": round(area.lat + d_lat, 5), "lon": area.lon}


async def _registered_ngo(
    client: httpx.AsyncClient, staff: dict[str, str], name: str, areas: list[str]
) -> str:
    tag = uuid.uuid4().hex[:8]
    ngo = _ok(
        await client.post(
            "/ngos",
            json={
                "name": f"{name} {tag}",
                "ngo_type": "national",
                "hq_country": "SS",
                "contacts": [{"name": "Director", "email": f"director-{tag}@example.org"}],
                "sectors": [SECTOR],
                "capacities": [{"resource": "monitors", "quantity": 4, "unit": "persons"}],
                "operating_areas": areas,
            },
            headers=staff,
        )
    )
    ngo_id = str(ngo["ngo_id"])
    checks = {
        name: {"passed": True}
        for name in (
            "registration_valid",
            "neutrality_declaration",
            "safeguarding_policy",
            "references",
        )
    }
    for step in (
        {"action": "start_review"},
        {
            "action": "vet",
            "checks": checks,
            "vetted_until": str(TODAY + timedelta(days=365)),
            "reason": "all checks passed",
        },
    ):
        _ok(await client.post(f"/ngos/{ngo_id}/vetting", json=step, headers=staff))
    return ngo_id


async def _wait_for(app: FastAPI, sql: str, **params: Any) -> None:
    """Poll the service's own database until `sql` finds a row (a consumer that never gets
    there fails the fixture with TimeoutError, no timed assertion)."""
    async with asyncio.timeout(90):
        while True:
            async with app.state.runtime.sessionmaker() as session:
                if (await session.execute(text(sql), params)).first() is not None:
                    return
            await asyncio.sleep(0.2)


async def build_world(
    apps: dict[str, FastAPI],
    clients: dict[str, httpx.AsyncClient],
    settings: dict[str, ServiceSettings],
    planning_county: str,
) -> World:
    """Tenant A's objects and tenant B's principals, through the services' APIs."""
    registry, planning, requests = (
        clients["ngo_registry"],
        clients["joint_planning"],
        clients["humanitarian_requests"],
    )
    staff = headers(settings["ngo_registry"], Role.ops_centre)

    ngo_a = await _registered_ngo(registry, staff, "Tenant A Monitors", [COUNTY])
    ngo_b = await _registered_ngo(registry, staff, "Tenant B Monitors", [COUNTY])
    agreement = _ok(
        await registry.post(
            "/agreements",
            json={
                "title": "Human rights monitoring MoU",
                "parties": [{"ngo_id": ngo_a, "role": "implementing partner"}],
                "sectors": [SECTOR],
                "pcodes": [COUNTY, planning_county],
                "reporting_obligations": [{"what": "activity report", "frequency_days": 30}],
                "starts_on": str(TODAY - timedelta(days=40)),
                "ends_on": str(TODAY + timedelta(days=200)),
                "signatories": ["Head of Mission", "Country Director"],
            },
            headers=staff,
        ),
        201,
    )
    agreement_id = str(agreement["agreement_id"])
    _ok(await registry.post(f"/agreements/{agreement_id}/activate", headers=staff))
    a = Tenant(ngo_id=uuid.UUID(ngo_a), unit_id=f"unit-a-{uuid.uuid4().hex[:8]}")
    b = Tenant(ngo_id=uuid.UUID(ngo_b), unit_id=f"unit-b-{uuid.uuid4().hex[:8]}")
    world = World(a=a, b=b)
    world.ids.update(ngo=ngo_a, agreement=agreement_id)

    # The registry's relay publishes; both replicas take NGO A as eligible, B as known.
    eligible = "SELECT 1 FROM {table} WHERE ngo_id = :id AND eligible"
    known = "SELECT 1 FROM {table} WHERE ngo_id = :id"
    await _wait_for(
        apps["humanitarian_requests"], eligible.format(table="ngo_replica"), id=a.ngo_id
    )
    await _wait_for(apps["joint_planning"], eligible.format(table="ngo_eligibility"), id=a.ngo_id)
    await _wait_for(apps["joint_planning"], known.format(table="ngo_eligibility"), id=b.ngo_id)

    hr = settings["humanitarian_requests"]
    request = _ok(
        await requests.post(
            "/aid-requests",
            json={
                "client_id": f"tenant-matrix-{uuid.uuid4().hex[:8]}",
                "sector": SECTOR,
                "urgency": "urgent",
                "title": "Monitoring visit to the detention site",
                "description": "Reports of arbitrary detention at the county HQ",
                "items": [{"item": "monitoring_visit", "quantity": 2, "unit": "visits"}],
                "affected_population": {"total": 40},
                "vulnerability": ["displaced"],
                "location": _point(COUNTY),
                "access_constraints": [],
                "security_constraints": [],
                "contact": "Capt. A. Example +211 900 000 000",
                "sensitivity": "internal",
            },
            headers=headers(hr, Role.field_unit, a),
        ),
        201,
    )
    assert request["offered_ngo_id"] == ngo_a, request
    incident = _ok(
        await requests.post(
            "/incidents",
            json={
                "incident_type": "access_denial",
                "severity": "low",
                "casualties": {},
                "occurred_at": (NOW - timedelta(hours=3)).isoformat(),
                "location": _point(COUNTY, d_lat=0.2),
                "description": "Checkpoint refused passage to the monitoring team",
            },
            headers=headers(hr, Role.field_unit, a),
        ),
        201,
    )
    world.ids.update(
        aid_request=str(request["request_id"]),
        offer=str(request["current_offer_id"]),
        incident=str(incident["incident_id"]),
    )

    jp = settings["joint_planning"]
    jp_staff = headers(jp, Role.ops_centre)
    operation = _ok(
        await planning.post(
            "/operations",
            json={
                "title": "Human rights monitoring round",
                "objectives": ["visit detention sites"],
                "sectors": [SECTOR],
                "areas": [planning_county],
                "starts_at": (NOW + timedelta(days=1)).isoformat(),
                "ends_at": (NOW + timedelta(days=10)).isoformat(),
                "participants": [
                    {
                        "kind": "mission_component",
                        "component": "civil_affairs",
                        "name": "Civil Affairs",
                        "role": "lead",
                    },
                    {"kind": "ngo", "ngo_id": ngo_a, "role": "implementing"},
                ],
            },
            headers=jp_staff,
        ),
        201,
    )
    operation_id = str(operation["operation_id"])
    owner = next(p for p in operation["participants"] if p.get("ngo_id") == ngo_a)
    task = _ok(
        await planning.post(
            f"/operations/{operation_id}/tasks",
            json={
                "title": "Visit the county detention site",
                "owner_participant_id": owner["participant_id"],
                "due_at": (NOW + timedelta(days=5)).isoformat(),
                "priority": "high",
            },
            headers=jp_staff,
        ),
        201,
    )
    _ok(
        await planning.post(
            f"/operations/{operation_id}/milestones",
            json={"title": "First round done", "due_at": (NOW + timedelta(days=6)).isoformat()},
            headers=jp_staff,
        ),
        201,
    )
    meeting = _ok(
        await planning.post(
            "/meetings",
            json={
                "operation_id": operation_id,
                "title": "Monitoring coordination",
                "held_at": NOW.isoformat(),
                "attendees": [{"name": "Amina", "organisation": "OHCHR"}],
                "agenda": ["access"],
                "decisions": ["visit weekly"],
                "action_items": [],
            },
            headers=jp_staff,
        ),
        201,
    )
    start = NOW + timedelta(days=2)
    notification = _ok(
        await planning.post(
            "/notifications",
            json={
                "kind": "movement",
                "waypoints": [_latlon(planning_county), _latlon(planning_county, d_lat=0.05)],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=6)).isoformat(),
                "vehicles": [{"vehicle_type": "land cruiser", "count": 1}],
                "contact": {"name": "Field coordinator", "phone": "+211 900 000 001"},
            },
            headers=headers(jp, Role.ngo, a),
        ),
        201,
    )
    world.ids.update(
        operation=operation_id,
        task=str(task["task_id"]),
        meeting=str(meeting["meeting_id"]),
        notification=str(notification["notification_id"]),
    )
    return world
