"""The authorization matrix, generated from the routes of all four services.

Every route declares its policy once (`shared.auth.policy`: the roles it admits and its
tenant rule); this test reads that declaration back from the route and calls every endpoint
as every role: a role the policy does not admit is a 403 problem before the route runs, an
admitted role is never refused for its role, and, under a tenant rule, an object that is not
the caller's own is a 404 exactly like one that does not exist. A route that declares no
policy fails `test_every_route_declares_a_policy`, which is itself proved able to fail.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from deploy.services import SERVICES, ServiceSpec
from shared.auth import Policy, Role, Tenant, issue_token, route_policy
from shared.testing import problem_of, serve_in_process

# Routes that do not take a bearer token although they name roles: the live stream proves
# its principal with a single-use ticket (`tests` of the monitoring service cover it).
TICKET_ROUTES = {("monitoring", "/api/live")}


def _create_app(spec: ServiceSpec) -> FastAPI:
    module_name, _, factory = spec.app_factory.partition(":")
    app: FastAPI = getattr(importlib.import_module(module_name), factory)(spec.settings_class())
    app.state.runtime.run_consumers = False
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


@pytest.fixture(scope="module")
async def clients(stack: Any) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with AsyncExitStack() as running:
        served: dict[str, httpx.AsyncClient] = {}
        for spec in SERVICES:
            served[spec.name] = await running.enter_async_context(
                serve_in_process(_create_app(spec))
            )
        yield served


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
