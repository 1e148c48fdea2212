"""Who may call what: every route of the service, for every role.

Mission staff (ops centre, admin) manage everything; an NGO reaches only the routes meant for
it (and there sees its own things, other tenants' objects being 404s, tested per domain);
field units have no business here; no token is a 401.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from services.joint_planning.config import Settings
from shared.testing import bearer, problem_of

pytestmark = pytest.mark.integration

PLATFORM = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/events/asyncapi.json",
    "/events/schemas",
    "/events/schemas/{event_type}",
}

STAFF_ONLY = {
    ("POST", "/operations"),
    ("PATCH", "/operations/{operation_id}"),
    ("POST", "/operations/{operation_id}/status"),
    ("POST", "/operations/{operation_id}/links"),
    ("POST", "/operations/{operation_id}/classification"),
    ("GET", "/operations/{operation_id}/history"),
    ("POST", "/operations/{operation_id}/participants"),
    ("POST", "/operations/{operation_id}/participants/{participant_id}/remove"),
    ("POST", "/operations/{operation_id}/tasks"),
    ("PATCH", "/tasks/{task_id}"),
    ("POST", "/operations/{operation_id}/milestones"),
    ("POST", "/milestones/{milestone_id}/reach"),
    ("POST", "/meetings"),
    ("PATCH", "/meetings/{meeting_id}"),
    ("POST", "/meetings/{meeting_id}/action-items/{action_item_id}/task"),
    ("POST", "/notifications/{notification_id}/acknowledge"),
    ("POST", "/notifications/{notification_id}/escort"),
}


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the service documents (its OpenAPI is what integrators read)."""
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path not in PLATFORM
        for method in operations
    )


def concrete(path: str) -> str:
    for name in (
        "operation_id",
        "participant_id",
        "task_id",
        "milestone_id",
        "meeting_id",
        "action_item_id",
        "notification_id",
    ):
        path = path.replace("{" + name + "}", str(uuid.uuid4()))
    return path


async def call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    body: dict[str, object] | None = None if method == "GET" else {}
    return await client.request(method, concrete(path), json=body, headers=headers)


def test_the_staff_only_table_names_real_routes(app: FastAPI) -> None:
    assert set(routes(app)) >= STAFF_ONLY
    assert len(routes(app)) >= 30


async def test_no_token_is_a_401_and_a_field_unit_a_403_everywhere(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    field_unit = bearer(settings, "field_unit")
    for method, path in routes(app):
        anonymous = await call(client, method, path, {})
        assert anonymous.status_code == 401, (method, path)
        assert problem_of(anonymous)["type"].endswith("unauthorized")
        refused = await call(client, method, path, field_unit)
        assert refused.status_code == 403, (method, path, refused.text)


async def test_an_ngo_reaches_only_the_routes_meant_for_it(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI
) -> None:
    ngo = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    for method, path in routes(app):
        response = await call(client, method, path, ngo)
        if (method, path) in STAFF_ONLY:
            assert response.status_code == 403, (method, path, response.text)
        else:
            # Allowed in: the answer is about the (unknown) object or the (empty) body.
            assert response.status_code in (200, 404, 422), (method, path, response.text)


@pytest.mark.parametrize("role", ["ops_centre", "admin"])
async def test_staff_are_never_refused_by_role(
    client: httpx.AsyncClient, settings: Settings, app: FastAPI, role: str
) -> None:
    headers = bearer(settings, role)
    for method, path in routes(app):
        response = await call(client, method, path, headers)
        assert response.status_code not in (401, 403), (method, path, response.text)
