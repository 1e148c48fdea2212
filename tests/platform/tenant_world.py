"""Real objects of two tenants, made through the services' own APIs, for the authorization
matrix (`tests/platform/test_authorization_matrix.py`).

Each of two tenants, A and B, owns one of everything a path parameter can name: an NGO that
the registry vetted and made eligible by an active agreement, that agreement, an aid request
of the tenant's field unit offered to the tenant's NGO (so the offer, too), an incident of
the unit, an operation the NGO implements with a task it owns, a milestone and a meeting,
and a movement notification the NGO submitted. The registry's events reach the other
services the real way: its outbox relay publishes them and the replica consumers of joint
planning and humanitarian requests apply them. The matrix calls every route on A's objects
as B (and the lists as both, each seeing its own objects and never the other's).

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

from services.humanitarian_requests.tests.helpers import triaged
from services.humanitarian_requests.triage.tasks import drain
from shared.auth import Role, issue_token
from shared.config import ServiceSettings
from shared.gazetteer import gazetteer

# No other test grants human rights anywhere, nor works in Twic East (a county of the shared
# test states, where requests and incidents may go) or in the planning counties handed out by
# `fresh_county()`: each request made here is offered to its own tenant's NGO alone, and
# neither NGO ever takes another test's request.
SECTOR = "human_rights"
COUNTY = "SS0310"
TODAY = date.today()
NOW = datetime.now(UTC).replace(microsecond=0)

OFFER_MADE = "concord.humanitarian_requests.offer.made.v1"
# Loopback endpoints are allowed only in tests (`webhook_allow_loopback`, set for the matrix's
# registry); nothing is ever sent under the matrix (no sender runs).
WEBHOOK_URL = "http://127.0.0.1:9/hook"

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
    "webhook_id": "webhook",
    "delivery_id": "webhook_delivery",
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
    "webhook": ("ngo_registry", "/webhooks/{webhook_id}"),
}
"""Where mission staff read an object's current version (its ETag), for `If-Match`."""


@dataclass
class Tenant:
    name: str
    ngo_id: uuid.UUID
    unit_id: str
    request_county: str
    """Where the tenant's unit asks for help (its NGO alone is eligible there)."""
    planning_county: str
    """Where the tenant's NGO implements an operation and moves."""
    ids: dict[str, str] = field(default_factory=dict)
    """kind → id of this tenant's object of that kind."""


@dataclass
class World:
    a: Tenant
    b: Tenant

    @property
    def ids(self) -> dict[str, str]:
        """kind → id of tenant A's object: what every route is called on."""
        return self.a.ids


def headers(settings: ServiceSettings, role: Role, tenant: Tenant | None = None) -> dict[str, str]:
    token = issue_token(
        settings,
        subject=f"tenant-world-{tenant.name if tenant else 'staff'}-{role.value}",
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


async def _first(app: FastAPI, sql: str, **params: Any) -> str:
    """The first column of the first row `sql` finds, once it finds one (TimeoutError if a
    consumer never gets there)."""
    async with asyncio.timeout(90):
        while True:
            async with app.state.runtime.sessionmaker() as session:
                row = (await session.execute(text(sql), params)).first()
            if row is not None:
                return str(row[0])
            await asyncio.sleep(0.2)


async def _wait_for(app: FastAPI, sql: str, **params: Any) -> None:
    """Poll the service's own database until `sql` finds a row (a consumer that never gets
    there fails the fixture with TimeoutError, no timed assertion)."""
    async with asyncio.timeout(90):
        while True:
            async with app.state.runtime.sessionmaker() as session:
                if (await session.execute(text(sql), params)).first() is not None:
                    return
            await asyncio.sleep(0.2)


async def _registry_objects(
    client: httpx.AsyncClient, settings: ServiceSettings, staff: dict[str, str], tenant: Tenant
) -> None:
    """The agreement that makes the tenant's NGO eligible where it works, activated."""
    agreement = _ok(
        await client.post(
            "/agreements",
            json={
                "title": f"Human rights monitoring MoU {tenant.name}",
                "parties": [{"ngo_id": str(tenant.ngo_id), "role": "implementing partner"}],
                "sectors": [SECTOR],
                "pcodes": sorted({tenant.request_county, tenant.planning_county}),
                "reporting_obligations": [{"what": "activity report", "frequency_days": 30}],
                "starts_on": str(TODAY - timedelta(days=10)),
                "ends_on": str(TODAY + timedelta(days=200)),
                "signatories": ["Head of Mission", "Country Director"],
            },
            headers=staff,
        ),
        201,
    )
    agreement_id = str(agreement["agreement_id"])
    _ok(await client.post(f"/agreements/{agreement_id}/activate", headers=staff))
    tenant.ids.update(ngo=str(tenant.ngo_id), agreement=agreement_id)
    # A webhook of the NGO's own, for the offers made to it (the registry's consumer queues
    # one delivery per offer; no sender runs under the matrix, so it stays pending).
    webhook = _ok(
        await client.post(
            f"/ngos/{tenant.ngo_id}/webhooks",
            json={"url": WEBHOOK_URL, "filter": {"event_types": [OFFER_MADE]}},
            headers=headers(settings, Role.ngo, tenant),
        ),
        201,
    )
    tenant.ids["webhook"] = str(webhook["webhook_id"])


async def _request_objects(
    app: FastAPI, client: httpx.AsyncClient, settings: ServiceSettings, tenant: Tenant
) -> None:
    unit = headers(settings, Role.field_unit, tenant)
    submitted = _ok(
        await client.post(
            "/aid-requests",
            json={
                "client_id": f"tenant-matrix-{uuid.uuid4().hex[:8]}",
                "sector": SECTOR,
                "urgency": "urgent",
                "title": f"Monitoring visit to the detention site ({tenant.name})",
                "description": "Reports of arbitrary detention at the county HQ",
                "items": [{"item": "monitoring_visit", "quantity": 2, "unit": "visits"}],
                "affected_population": {"total": 40},
                "vulnerability": ["displaced"],
                "location": _point(tenant.request_county),
                "access_constraints": [],
                "security_constraints": [],
                "contact": "Capt. A. Example +211 900 000 000",
                "sensitivity": "internal",
            },
            headers=unit,
        ),
        201,
    )
    assert submitted["status"] == "submitted", submitted
    # Triage makes the offer after intake's commit. No background loop runs under the matrix
    # (an offer must not expire), so the fixture triages what is waiting itself.
    runtime = app.state.runtime
    await drain(runtime.sessionmaker, runtime.settings)
    request = await triaged(client, submitted["request_id"], unit)
    assert request["status"] == "offered", request
    assert request["offered_ngo_id"] == str(tenant.ngo_id), request
    offset = 0.2 if tenant.name == "A" else 0.25
    incident = _ok(
        await client.post(
            "/incidents",
            json={
                "incident_type": "access_denial",
                "severity": "low",
                "casualties": {},
                "occurred_at": (NOW - timedelta(hours=3)).isoformat(),
                "location": _point(COUNTY, d_lat=offset),
                "description": f"Checkpoint refused passage to monitoring team {tenant.name}",
            },
            headers=unit,
        ),
        201,
    )
    tenant.ids.update(
        aid_request=str(request["request_id"]),
        offer=str(request["current_offer_id"]),
        incident=str(incident["incident_id"]),
    )


async def _planning_objects(
    client: httpx.AsyncClient, settings: ServiceSettings, tenant: Tenant
) -> None:
    staff = headers(settings, Role.ops_centre)
    county = tenant.planning_county
    operation = _ok(
        await client.post(
            "/operations",
            json={
                "title": f"Human rights monitoring round ({tenant.name})",
                "objectives": ["visit detention sites"],
                "sectors": [SECTOR],
                "areas": [county],
                "starts_at": (NOW + timedelta(days=1)).isoformat(),
                "ends_at": (NOW + timedelta(days=10)).isoformat(),
                "participants": [
                    {
                        "kind": "mission_component",
                        "component": "civil_affairs",
                        "name": "Civil Affairs",
                        "role": "lead",
                    },
                    {"kind": "ngo", "ngo_id": str(tenant.ngo_id), "role": "implementing"},
                ],
            },
            headers=staff,
        ),
        201,
    )
    operation_id = str(operation["operation_id"])
    owner = next(p for p in operation["participants"] if p.get("ngo_id") == str(tenant.ngo_id))
    task = _ok(
        await client.post(
            f"/operations/{operation_id}/tasks",
            json={
                "title": "Visit the county detention site",
                "owner_participant_id": owner["participant_id"],
                "due_at": (NOW + timedelta(days=5)).isoformat(),
                "priority": "high",
            },
            headers=staff,
        ),
        201,
    )
    _ok(
        await client.post(
            f"/operations/{operation_id}/milestones",
            json={"title": "First round done", "due_at": (NOW + timedelta(days=6)).isoformat()},
            headers=staff,
        ),
        201,
    )
    meeting = _ok(
        await client.post(
            "/meetings",
            json={
                "operation_id": operation_id,
                "title": f"Monitoring coordination ({tenant.name})",
                "held_at": NOW.isoformat(),
                "attendees": [{"name": "Amina", "organisation": "OHCHR"}],
                "agenda": ["access"],
                "decisions": ["visit weekly"],
                "action_items": [],
            },
            headers=staff,
        ),
        201,
    )
    start = NOW + timedelta(days=2)
    notification = _ok(
        await client.post(
            "/notifications",
            json={
                "kind": "movement",
                "waypoints": [_latlon(county), _latlon(county, d_lat=0.05)],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=6)).isoformat(),
                "vehicles": [{"vehicle_type": "land cruiser", "count": 1}],
                "contact": {"name": "Field coordinator", "phone": "+211 900 000 001"},
            },
            headers=headers(settings, Role.ngo, tenant),
        ),
        201,
    )
    tenant.ids.update(
        operation=operation_id,
        task=str(task["task_id"]),
        meeting=str(meeting["meeting_id"]),
        notification=str(notification["notification_id"]),
    )


async def build_world(
    apps: dict[str, FastAPI],
    clients: dict[str, httpx.AsyncClient],
    settings: dict[str, ServiceSettings],
    planning_counties: tuple[str, str, str],
) -> World:
    """Both tenants' objects, through the services' APIs. `planning_counties`: three
    counties no other test works in (B asks for help in the third)."""
    registry = clients["ngo_registry"]
    staff = headers(settings["ngo_registry"], Role.ops_centre)
    tenants = []
    for name, request_county, planning_county in (
        ("A", COUNTY, planning_counties[0]),
        ("B", planning_counties[2], planning_counties[1]),
    ):
        ngo_id = await _registered_ngo(
            registry, staff, f"Tenant {name} Monitors", sorted({request_county, planning_county})
        )
        tenants.append(
            Tenant(
                name=name,
                ngo_id=uuid.UUID(ngo_id),
                unit_id=f"unit-{name.lower()}-{uuid.uuid4().hex[:8]}",
                request_county=request_county,
                planning_county=planning_county,
            )
        )
    world = World(*tenants)
    for tenant in tenants:
        await _registry_objects(registry, settings["ngo_registry"], staff, tenant)
    # The registry's relay publishes; both replicas take both NGOs as eligible.
    for tenant in tenants:
        for service, table in (
            ("humanitarian_requests", "ngo_replica"),
            ("joint_planning", "ngo_eligibility"),
        ):
            await _wait_for(
                apps[service],
                f"SELECT 1 FROM {table} WHERE ngo_id = :id AND eligible",
                id=tenant.ngo_id,
            )
    for tenant in tenants:
        await _request_objects(
            apps["humanitarian_requests"],
            clients["humanitarian_requests"],
            settings["humanitarian_requests"],
            tenant,
        )
        await _planning_objects(clients["joint_planning"], settings["joint_planning"], tenant)
    for tenant in tenants:
        tenant.ids["webhook_delivery"] = await _first(
            apps["ngo_registry"],
            "SELECT id FROM webhook_deliveries WHERE subscription_id = :id",
            id=uuid.UUID(tenant.ids["webhook"]),
        )
    return world
