"""The authorization matrix, generated from the routes of all four services.

Every route declares its policy once (`shared.auth.policy`: the roles it admits and its
tenant rule); this test reads that declaration back from the route and calls every endpoint
as every role: a role the policy does not admit is a 403 problem before the route runs, an
admitted role is never refused for its role, and, under a tenant rule, an object that is not
the caller's own is a 404 exactly like one that does not exist. A route that declares no
policy fails `test_every_route_declares_a_policy`, which is itself proved able to fail.

Own vs other tenant is checked with real objects too: `tenant_world` makes one of each kind
of object tenant A owns through the services' APIs, and every route under a tenant rule is
called on it as every role it admits, as tenant B (404), as tenant A (neither 403 nor 404)
and as mission staff. A route under a tenant rule naming a kind of object no factory makes
fails `test_every_tenant_route_has_an_object_and_a_recipe` (proved able to fail as well).
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from deploy.services import SERVICES, ServiceSpec
from services.joint_planning.tests.helpers import fresh_county
from shared.auth import Policy, Role, Tenant, issue_token, policy, route_policy
from shared.testing import problem_of, serve_in_process
from tests.platform import tenant_world

# Routes that do not take a bearer token although they name roles: the live stream proves
# its principal with a single-use ticket (`tests` of the monitoring service cover it).
TICKET_ROUTES = {("monitoring", "/api/live")}


# The services whose consumers the tenant matrix needs (the registry's NGOs reach the
# replicas as events): their consumers run; monitoring's do not, and no background loop
# runs anywhere (an offer must not expire under the matrix).
CONSUMING = {"ngo_registry", "humanitarian_requests", "joint_planning"}

SETTINGS_OVERRIDES: dict[str, dict[str, Any]] = {
    # The tenants' webhooks point at a loopback address no sender ever calls.
    "ngo_registry": {"webhook_allow_loopback": True},
}
"""Settings the matrix's apps need beyond the environment's, per service."""


def _settings_of(spec: ServiceSpec) -> Any:
    return spec.settings_class(**SETTINGS_OVERRIDES.get(spec.name, {}))


def _create_app(spec: ServiceSpec, *, consumers: bool = False) -> FastAPI:
    module_name, _, factory = spec.app_factory.partition(":")
    app: FastAPI = getattr(importlib.import_module(module_name), factory)(_settings_of(spec))
    app.state.runtime.run_consumers = consumers
    app.state.runtime.run_background = False
    return app


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: frozenset[str]
    route: APIRoute
    policy: Policy | None


def api_routes(app: FastAPI) -> list[Endpoint]:
    """Every API route of the app with its full path and the policy it declares, through
    however many routers it is included (FastAPI keeps included routers nested)."""
    found: list[Endpoint] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(
                    Endpoint(route.path, frozenset(route.methods), route, route_policy(route))
                )
            elif hasattr(route, "effective_candidates"):  # an included router
                for candidate in route.effective_candidates():
                    inner = getattr(candidate, "original_route", None)
                    if isinstance(inner, APIRoute):
                        found.append(
                            Endpoint(
                                candidate.path,
                                frozenset(candidate.methods),
                                inner,
                                route_policy(inner, candidate.dependencies),
                            )
                        )
                    else:
                        walk([candidate])

    walk(list(app.routes))
    return found


def undeclared_routes(app: FastAPI) -> list[str]:
    """`METHOD path` of every route that declares no policy."""
    return [f"{','.join(sorted(e.methods))} {e.path}" for e in api_routes(app) if e.policy is None]


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {spec.name: _create_app(spec) for spec in SERVICES}


def test_every_route_declares_a_policy(apps: dict[str, FastAPI]) -> None:
    missing = {name: undeclared_routes(app) for name, app in apps.items()}
    assert missing == {name: [] for name in apps}
    assert sum(len(api_routes(app)) for app in apps.values()) > 80


def test_a_new_route_without_a_policy_fails_the_check() -> None:
    """The check above can fail: a route added with only a bearer token, or none, is named."""
    app = _create_app(SERVICES[0])
    assert undeclared_routes(app) == []

    @app.get("/an-unguarded-route")
    async def unguarded() -> dict[str, str]:
        return {}

    assert undeclared_routes(app) == ["GET /an-unguarded-route"]


def _principal_of(role: Role) -> dict[str, Any]:
    return {
        "subject": f"matrix-{role.value}",
        "roles": [role],
        "unit_id": f"matrix-unit-{uuid.uuid4().hex[:8]}" if role is Role.field_unit else None,
        "ngo_id": uuid.uuid4() if role is Role.ngo else None,
    }


def _url(endpoint: Endpoint) -> str:
    url = endpoint.path
    for param in endpoint.route.dependant.path_params:
        value: object = 1 if param.field_info.annotation is int else uuid.uuid4()
        url = url.replace("{" + param.name + "}", str(value))
    return url


def _cases(apps: dict[str, FastAPI]) -> list[tuple[str, str, Endpoint, Policy]]:
    cases = []
    for name, app in apps.items():
        for endpoint in api_routes(app):
            declared = endpoint.policy
            if declared is None or declared.tenant is Tenant.public:
                continue
            if (name, endpoint.path) in TICKET_ROUTES:
                continue
            for method in sorted(endpoint.methods):
                cases.append((name, method, endpoint, declared))
    return cases


@dataclass
class Running:
    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]


@pytest.fixture(scope="module")
async def running(stack: Any) -> AsyncIterator[Running]:
    async with AsyncExitStack() as stack_of_apps:
        served = Running({}, {})
        for spec in SERVICES:
            app = _create_app(spec, consumers=spec.name in CONSUMING)
            served.apps[spec.name] = app
            served.clients[spec.name] = await stack_of_apps.enter_async_context(
                serve_in_process(app)
            )
        yield served


@pytest.fixture(scope="module")
def clients(running: Running) -> dict[str, httpx.AsyncClient]:
    return running.clients


@pytest.mark.integration
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_every_endpoint_as_every_role(
    apps: dict[str, FastAPI], clients: dict[str, httpx.AsyncClient], role: Role
) -> None:
    """Every endpoint x this role, with ids that name nobody's object: 403 if the policy
    does not admit the role; otherwise never 403 and never a 5xx — and, on a route under a
    tenant rule, an id that is not the caller's is 404 (it may also fail validation first)."""
    failures: list[str] = []
    checked = 0
    for service, method, endpoint, declared in _cases(apps):
        path = endpoint.path
        settings = SERVICES_BY_NAME[service].settings_class()
        token = issue_token(settings, **_principal_of(role))
        response = await clients[service].request(
            method,
            _url(endpoint),
            headers={"Authorization": f"Bearer {token}"},
            json={} if method in {"POST", "PUT", "PATCH"} else None,
        )
        checked += 1
        status = response.status_code
        where = f"{role.value} {method} {service}{path}: {status} {response.text[:200]}"
        if role not in declared.roles:
            if status != 403:
                failures.append("expected 403 — " + where)
            else:
                problem_of(response)
        elif status == 403 or status >= 500:
            failures.append("admitted role refused or failed — " + where)
        elif (
            declared.tenant is not Tenant.any
            and endpoint.route.dependant.path_params
            and status not in {404, 412, 422, 428}
        ):
            failures.append("another tenant's (or no) object must be 404 — " + where)
    assert not failures, "\n".join(failures)
    assert checked > 80


SERVICES_BY_NAME = {spec.name: spec for spec in SERVICES}


# ---------------------------------------------------------------------------------------
# Own vs other tenant, with real objects.
#
# Every route under a tenant rule is called on tenant A's real object (`tenant_world`) as
# each role its policy admits: a tenant role (an NGO under own_ngo, a field unit under
# own_unit, both under own) of tenant B gets the 404 a missing object gets, the same role of
# tenant A is neither refused (403) nor told the object is missing (404), and mission staff
# reach it too. A list route under a tenant rule never shows B tenant A's object, and shows
# it to A. Changes carry a valid body and tenant A's current `If-Match`, so no 422, 428 or
# 412 can stand in for the tenant check.


@dataclass(frozen=True)
class Recipe:
    """How to call a changing route on tenant A's object: a valid body, and when (changes
    run in `order`, after every read, so that a lifecycle can be followed: accept before
    start, start before deliveries, cancel last)."""

    order: int
    body: dict[str, Any] | None = None


REPORT = {
    "obligation": "activity report",
    "period_end": str(tenant_world.TODAY - timedelta(days=5)),
    "summary": "Two detention sites visited",
}
LATER = {
    "starts_at": (tenant_world.NOW + timedelta(days=3)).isoformat(),
    "ends_at": (tenant_world.NOW + timedelta(days=3, hours=5)).isoformat(),
}

RECIPES: dict[tuple[str, str, str], Recipe] = {
    ("ngo_registry", "PATCH", "/ngos/{ngo_id}"): Recipe(10, {"website": "https://a.example.org"}),
    ("ngo_registry", "POST", "/ngos/{ngo_id}/vetting"): Recipe(10, {"action": "resubmit"}),
    ("ngo_registry", "POST", "/agreements/{agreement_id}/reports"): Recipe(10, REPORT),
    ("joint_planning", "POST", "/tasks/{task_id}/status"): Recipe(10, {"status": "in_progress"}),
    ("joint_planning", "POST", "/tasks/{task_id}/notes"): Recipe(10, {"text": "site visited"}),
    ("joint_planning", "PATCH", "/notifications/{notification_id}"): Recipe(10, LATER),
    ("joint_planning", "POST", "/notifications/{notification_id}/cancel"): Recipe(90),
    ("ngo_registry", "POST", "/ngos/{ngo_id}/webhooks"): Recipe(
        10, {"url": tenant_world.WEBHOOK_URL, "filter": {"event_types": [tenant_world.OFFER_MADE]}}
    ),
    ("ngo_registry", "POST", "/webhooks/{webhook_id}/rotate-secret"): Recipe(10),
    ("ngo_registry", "POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/redrive"): Recipe(10),
    ("ngo_registry", "POST", "/webhooks/{webhook_id}/redrive"): Recipe(10),
    ("ngo_registry", "POST", "/webhooks/{webhook_id}/replay"): Recipe(
        20, {"from": (tenant_world.NOW - timedelta(days=1)).isoformat()}
    ),
    ("ngo_registry", "DELETE", "/webhooks/{webhook_id}"): Recipe(95),
    ("humanitarian_requests", "POST", "/offers/{offer_id}/accept"): Recipe(10),
    ("humanitarian_requests", "POST", "/offers/{offer_id}/decline"): Recipe(
        20, {"reason": "no monitors free"}
    ),
    ("humanitarian_requests", "POST", "/aid-requests/{request_id}/start"): Recipe(30),
    ("humanitarian_requests", "POST", "/aid-requests/{request_id}/deliveries"): Recipe(
        40, {"items": [{"item": "monitoring_visit", "delivered_quantity": 1}]}
    ),
    ("humanitarian_requests", "POST", "/aid-requests/{request_id}/cancel"): Recipe(
        90, {"reason": "the site was closed"}
    ),
}
"""Every changing route under a tenant rule that names an object; one without an entry
fails `test_every_tenant_route_has_an_object_and_a_recipe`."""

TENANT_ROLES = {
    Tenant.own_ngo: {Role.ngo},
    Tenant.own_unit: {Role.field_unit},
    Tenant.own: {Role.ngo, Role.field_unit},
}


@dataclass(frozen=True)
class TenantCase:
    service: str
    method: str
    endpoint: Endpoint
    policy: Policy
    kind: str | None
    """The kind of object the route names (its path parameter, or its items for a list)."""
    recipe: Recipe | None
    read_kind: str | None = None
    """The innermost object the route names that staff can read (its version, its state)."""

    @property
    def order(self) -> int:
        return 0 if self.method == "GET" else self.recipe.order if self.recipe else 0

    @property
    def is_list(self) -> bool:
        return not self.endpoint.route.dependant.path_params

    def __str__(self) -> str:
        return f"{self.method} {self.service}{self.endpoint.path}"


def _tenant_cases(apps: dict[str, FastAPI]) -> tuple[list[TenantCase], list[str]]:
    """The routes under a tenant rule, and what is missing to check one of them: a route
    whose path parameter names a kind of object the world has no factory for, a list whose
    items' kind is unknown, a changing route without a recipe."""
    cases: list[TenantCase] = []
    missing: list[str] = []
    for name, app in apps.items():
        endpoints = api_routes(app)
        paths = {e.path for e in endpoints}
        for endpoint in endpoints:
            declared = endpoint.policy
            if declared is None or declared.tenant not in TENANT_ROLES:
                continue
            params = [p.name for p in endpoint.route.dependant.path_params]
            for method in sorted(endpoint.methods):
                where = f"{method} {name}{endpoint.path}"
                if not params and method != "GET":
                    # Creating for one's own tenant: no other tenant's object to name.
                    continue
                if params:
                    unknown = [p for p in params if p not in tenant_world.PARAM_KINDS]
                    if unknown:
                        missing.append(f"{where}: no object factory for {', '.join(unknown)}")
                        continue
                    kinds = [tenant_world.PARAM_KINDS[p] for p in params]
                    kind: str | None = kinds[-1]
                    readable = [k for k in kinds if k in tenant_world.READ_ROUTES]
                    read_kind = readable[-1] if readable else None
                else:
                    items = [
                        p
                        for p in tenant_world.PARAM_KINDS
                        if endpoint.path.rstrip("/") + "/{" + p + "}" in paths
                    ]
                    if not items:
                        missing.append(f"{where}: a list whose items' kind is unknown")
                        continue
                    kind = tenant_world.PARAM_KINDS[items[0]]
                    read_kind = None
                recipe = RECIPES.get((name, method, endpoint.path))
                if method != "GET" and recipe is None:
                    missing.append(f"{where}: no recipe (body, order) in RECIPES")
                    continue
                cases.append(TenantCase(name, method, endpoint, declared, kind, recipe, read_kind))
    return sorted(cases, key=lambda c: (c.order, str(c))), missing


def test_every_tenant_route_has_an_object_and_a_recipe(apps: dict[str, FastAPI]) -> None:
    cases, missing = _tenant_cases(apps)
    assert missing == []
    assert len(cases) >= 30
    assert {c.kind for c in cases} == set(tenant_world.PARAM_KINDS.values())


def test_a_tenant_route_without_a_factory_fails_the_check() -> None:
    """The check above can fail: a route under a tenant rule naming an object no factory
    makes (here an NGO's satellite phone) is named, and so is a change without a recipe."""
    app = _create_app(SERVICES[0])
    assert _tenant_cases({"ngo_registry": app})[1] == []
    tenant_rule = policy(Role.ngo, Role.admin, tenant=Tenant.own_ngo)

    @app.get("/satellite-phones/{phone_id}", dependencies=[tenant_rule])
    async def one_phone(phone_id: uuid.UUID) -> dict[str, str]:
        return {}

    @app.post("/ngos/{ngo_id}/satellite-phones", dependencies=[tenant_rule])
    async def add_phone(ngo_id: uuid.UUID) -> dict[str, str]:
        return {}

    assert _tenant_cases({"ngo_registry": app})[1] == [
        "GET ngo_registry/satellite-phones/{phone_id}: no object factory for phone_id",
        "POST ngo_registry/ngos/{ngo_id}/satellite-phones: no recipe (body, order) in RECIPES",
    ]


@pytest.fixture(scope="module")
async def world(running: Running) -> tenant_world.World:
    settings = {spec.name: _settings_of(spec) for spec in SERVICES}
    counties = (fresh_county(), fresh_county(), fresh_county())
    return await tenant_world.build_world(running.apps, running.clients, settings, counties)


async def _read_as_staff(
    clients: dict[str, httpx.AsyncClient], world: tenant_world.World, kind: str
) -> httpx.Response:
    """Tenant A's object of `kind`, as mission staff read it."""
    service, template = tenant_world.READ_ROUTES[kind]
    param = template[template.index("{") + 1 : template.index("}")]
    settings = _settings_of(SERVICES_BY_NAME[service])
    response = await clients[service].get(
        template.replace("{" + param + "}", world.ids[kind]),
        headers=tenant_world.headers(settings, Role.admin),
    )
    assert response.status_code == 200, f"{kind}: {response.status_code} {response.text[:300]}"
    return response


async def _if_match(
    clients: dict[str, httpx.AsyncClient], world: tenant_world.World, kind: str
) -> dict[str, str]:
    """Tenant A's object's current version, for `If-Match`."""
    etag = (await _read_as_staff(clients, world, kind)).headers.get("ETag")
    return {"If-Match": etag} if etag else {}


async def _state(
    clients: dict[str, httpx.AsyncClient], world: tenant_world.World, kind: str
) -> tuple[object, ...]:
    """What a change to tenant A's object would move: its ETag, version, status, time."""
    response = await _read_as_staff(clients, world, kind)
    body = response.json()
    fields = tuple(body.get(name) for name in ("version", "status", "updated_at"))
    return (response.headers.get("ETag"), *fields)


def _concrete(endpoint: Endpoint, world: tenant_world.World) -> str:
    url = endpoint.path
    for param in endpoint.route.dependant.path_params:
        url = url.replace("{" + param.name + "}", world.ids[tenant_world.PARAM_KINDS[param.name]])
    return url


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _nobodys(endpoint: Endpoint) -> str:
    """The endpoint with fresh ids that name no object at all."""
    url = endpoint.path
    for param in endpoint.route.dependant.path_params:
        url = url.replace("{" + param.name + "}", str(uuid.uuid4()))
    return url


def _said(problem: dict[str, Any]) -> dict[str, Any]:
    """What a problem tells the caller, ids aside (`instance` is the path it was asked)."""
    return {
        key: UUID.sub("<id>", value) if isinstance(value, str) else value
        for key, value in problem.items()
        if key != "instance"
    }


@pytest.mark.integration
async def test_another_tenants_real_object_is_404_to_every_tenant_role(
    apps: dict[str, FastAPI],
    clients: dict[str, httpx.AsyncClient],
    world: tenant_world.World,
) -> None:
    """Every route under a tenant rule x every role it admits, on tenant A's real objects:
    tenant B's principal of the same role gets the 404 an id naming nothing gets, word for
    word (ids aside), with no ETag, and a refused change leaves A's object at its version;
    tenant A's is neither 403 nor 404,
    mission staff are never 403, 404 or 5xx; on a list, A and B each see their own object
    and never the other's."""
    cases, missing = _tenant_cases(apps)
    assert missing == []
    failures: list[str] = []
    calls = 0
    for case in cases:
        settings = _settings_of(SERVICES_BY_NAME[case.service])
        url = _concrete(case.endpoint, world)
        tenant_roles = TENANT_ROLES[case.policy.tenant] & case.policy.roles
        others = sorted(case.policy.roles - tenant_roles)
        # Tenant B first, then A, then staff: a change A or staff make cannot hide a leak.
        plan: list[tuple[Role, tenant_world.Tenant | None, str]]
        plan = [(role, world.b, "B") for role in sorted(tenant_roles)]
        plan += [(role, world.a, "A") for role in sorted(tenant_roles)]
        plan += [(role, None, "staff") for role in others]
        for role, tenant, who in plan:
            extra: dict[str, str] = {}
            before: tuple[object, ...] = ()
            if case.method != "GET" and case.read_kind:
                extra = await _if_match(clients, world, case.read_kind)
                before = await _state(clients, world, case.read_kind)
            response = await clients[case.service].request(
                case.method,
                url,
                headers={**tenant_world.headers(settings, role, tenant), **extra},
                json=case.recipe.body if case.recipe else None,
            )
            calls += 1
            status = response.status_code
            where = f"{who} {role.value} {case}: {status} {response.text[:300]}"
            assert case.kind is not None
            if status >= 500:
                failures.append("server error — " + where)
            elif case.is_list:
                if status != 200:
                    failures.append("a list must answer 200 — " + where)
                elif tenant is not None:
                    # Each tenant's list holds its own object and never the other's.
                    other = world.b if tenant is world.a else world.a
                    if other.ids[case.kind] in response.text:
                        failures.append(f"{who} sees {other.name}'s {case.kind} — " + where)
                    if tenant.ids[case.kind] not in response.text:
                        failures.append(f"{who} does not see its own {case.kind} — " + where)
            elif who == "B":
                if status != 404:
                    failures.append("another tenant's object must be 404 — " + where)
                    continue
                if "etag" in response.headers or "location" in response.headers:
                    failures.append("another tenant's 404 names a version or place — " + where)
                moved = bool(before and case.read_kind) and before != await _state(
                    clients, world, str(case.read_kind)
                )
                if moved:
                    failures.append("a refused change moved A's object — " + where)
                # ... and a 404 that says no more than the one for an id naming nothing.
                absent = await clients[case.service].request(
                    case.method,
                    _nobodys(case.endpoint),
                    headers={**tenant_world.headers(settings, role, tenant), **extra},
                    json=case.recipe.body if case.recipe else None,
                )
                if _said(problem_of(response)) != _said(problem_of(absent)):
                    failures.append(
                        f"another tenant's 404 differs from a missing object's ({absent.text}) — "
                        + where
                    )
            elif status in {403, 404}:
                failures.append(f"{who} refused its own (or any) object — " + where)
    assert not failures, "\n".join(failures)
    assert calls > 80
