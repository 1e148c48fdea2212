"""The shared edge on a small app: authentication, roles, problem+json, body limits, If-Match."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Annotated, ClassVar

import httpx
import jwt
import pytest
from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from shared.auth import CurrentPrincipal, Role, issue_token, require_roles
from shared.config import ServiceSettings
from shared.db import create_engine
from shared.http import check_if_match, etag
from shared.runtime import ServiceRuntime
from shared.testing import bearer, problem_of, serve_in_process
from shared.web import create_service_app
from tests.platform.harness import Harness, unique_name

pytestmark = pytest.mark.integration


class EdgeSettings(ServiceSettings):
    service_name: ClassVar[str] = "edge_test"
    default_port: ClassVar[int] = 8999


class Report(BaseModel):
    title: str = Field(min_length=3)
    people: int = Field(ge=0)


def edge_router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, object]:
        return {"subject": principal.subject, "roles": sorted(principal.roles)}

    @router.get("/ops-only", dependencies=[require_roles(Role.ops_centre, Role.admin)])
    async def ops_only() -> dict[str, str]:
        return {"ok": "yes"}

    @router.post("/reports", status_code=201)
    async def create_report(report: Report) -> Report:
        return report

    @router.put("/things/1")
    async def update_thing(if_match: Annotated[str | None, Header()] = None) -> dict[str, str]:
        check_if_match(if_match, current_version=3)
        return {"etag": etag(4)}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    return router


@pytest.fixture
async def client(database_url: str, stack) -> httpx.AsyncClient:
    settings = EdgeSettings(
        service_database_url_override=database_url,
        max_body_bytes=1000,
        # A test service has no principal of its own: it connects as the session's admin.
        kafka_username=os.environ.get("KAFKA_SASL_USERNAME"),
        kafka_password=os.environ.get("KAFKA_SASL_PASSWORD"),
    )
    schema = unique_name("edge_test")
    harness = Harness(schema, f"concord.{schema}.edge")
    engine = create_engine(database_url, schema=harness.schema, application_name="edge-test")
    await harness.create_schema(engine)
    await engine.dispose()
    runtime = ServiceRuntime(
        settings=settings, catalog=harness.catalog, outbox=harness.outbox, inbox=harness.inbox
    )
    app = create_service_app(
        title="Concord edge test", description="test", runtime=runtime, routers=[edge_router()]
    )
    async with serve_in_process(app) as test_client:
        test_client.settings = settings  # type: ignore[attr-defined]
        yield test_client


async def test_missing_token_is_401_with_bearer_challenge(client) -> None:
    response = await client.get("/whoami")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in problem_of(response)["detail"]


async def test_token_signed_with_another_key_is_401(client) -> None:
    now = int(time.time())
    claims = {"sub": "x", "roles": ["admin"], "iss": "concord", "aud": "concord"}
    forged = jwt.encode(
        claims | {"iat": now, "exp": now + 3600},
        "not-the-key-not-the-key-not-the-key-000",
        algorithm="HS256",
    )
    response = await client.get("/whoami", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "not valid" in problem_of(response)["detail"]


async def test_expired_token_is_401(client) -> None:
    # Expired by more than the leeway the settings forgive for clock skew.
    late = timedelta(seconds=-(client.settings.jwt_leeway_seconds + 60))
    token = issue_token(client.settings, subject="late", roles=[Role.admin], ttl=late)
    response = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in problem_of(response)["detail"]


async def test_token_expired_within_the_leeway_still_passes(client) -> None:
    assert client.settings.jwt_leeway_seconds >= 5
    token = issue_token(
        client.settings, subject="skewed", roles=[Role.admin], ttl=timedelta(seconds=-2)
    )
    response = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_token_in_the_url_is_refused_even_when_valid(client) -> None:
    token = issue_token(client.settings, subject="url", roles=[Role.admin])
    for name in ("access_token", "token", "Access_Token"):
        response = await client.get(f"/whoami?{name}={token}")
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "not accepted in URLs" in problem_of(response)["detail"]
    # Not even next to a good header, and not on routes that need no token at all.
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"/whoami?access_token={token}", headers=headers)).status_code == 401
    assert (await client.get("/healthz?token=x")).status_code == 401


async def test_authenticated_routes_document_401_and_open_ones_do_not(client) -> None:
    document = (await client.get("/openapi.json")).json()
    whoami = document["paths"]["/whoami"]["get"]["responses"]
    assert whoami["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "401" in document["paths"]["/ops-only"]["get"]["responses"]
    assert "401" not in document["paths"]["/reports"]["post"]["responses"]
    assert "401" not in document["paths"]["/healthz"]["get"]["responses"]
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]


async def test_ngo_token_without_ngo_id_is_401(client) -> None:
    token = issue_token(client.settings, subject="ngo-x", roles=[Role.ngo])
    response = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "ngo_id" in problem_of(response)["detail"]


async def test_valid_token_names_the_principal(client) -> None:
    response = await client.get(
        "/whoami", headers=bearer(client.settings, Role.field_unit, unit_id="team-site-7")
    )
    assert response.status_code == 200
    assert response.json() == {"subject": "field_unit-tester", "roles": ["field_unit"]}


@pytest.mark.parametrize("role", [Role.field_unit, Role.ngo])
async def test_wrong_role_is_403(client, role: Role) -> None:
    headers = bearer(client.settings, role, ngo_id="0b9f6a7e-0000-4000-8000-000000000001")
    response = await client.get("/ops-only", headers=headers)
    assert response.status_code == 403
    assert "ops_centre" in problem_of(response)["detail"]


async def test_right_role_passes(client) -> None:
    response = await client.get("/ops-only", headers=bearer(client.settings, Role.ops_centre))
    assert response.status_code == 200


async def test_invalid_payload_is_422_problem_listing_each_error(client) -> None:
    response = await client.post("/reports", json={"title": "x", "people": -1})
    body = problem_of(response)
    assert response.status_code == 422
    locations = {tuple(e["location"]) for e in body["errors"]}
    assert locations == {("body", "title"), ("body", "people")}


async def test_malformed_json_is_422_problem(client) -> None:
    response = await client.post(
        "/reports", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"]


async def test_declared_oversized_body_is_413(client) -> None:
    response = await client.post("/reports", json={"title": "x" * 2000, "people": 1})
    assert response.status_code == 413
    assert problem_of(response)["max_bytes"] == 1000


async def test_streamed_oversized_body_is_413(client) -> None:
    async def chunks():
        for _ in range(20):
            yield b'{"title": "' + b"y" * 100

    response = await client.post(
        "/reports", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    problem_of(response)


async def test_unexpected_error_is_500_problem_without_internals(client) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    body = problem_of(response)
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["title"] == "Internal error"


async def test_if_match_missing_is_428_and_stale_is_412(client) -> None:
    missing = await client.put("/things/1")
    assert missing.status_code == 428
    assert problem_of(missing)["current_etag"] == '"3"'
    stale = await client.put("/things/1", headers={"If-Match": '"2"'})
    assert stale.status_code == 412
    assert problem_of(stale)["current_etag"] == '"3"'
    fresh = await client.put("/things/1", headers={"If-Match": '"3"'})
    assert fresh.status_code == 200
