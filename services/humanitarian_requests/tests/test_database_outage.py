"""Postgres away: intake answers 503 with Retry-After at once, and recovers by itself."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import make_url

from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import aid_request_body, unique_unit
from shared.auth import Role
from shared.testing import bearer, problem_of, serve_in_process
from tests.platform.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


async def test_intake_answers_503_while_postgres_is_away_then_recovers(
    settings: Settings,
) -> None:
    direct = make_url(settings.service_database_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    await proxy.start()
    proxied = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app_settings = settings.model_copy(
        update={"service_database_url_override": proxied, "db_pool_size": 2}
    )
    unit = unique_unit()
    headers = bearer(app_settings, Role.field_unit, unit_id=unit)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = aid_request_body(client_id=f"{unit}-1")
    try:
        async with serve_in_process(create_app(app_settings)) as client:
            await proxy.cut()
            away = await client.post("/aid-requests", json=body, headers=headers | key)
            assert away.status_code == 503, away.text
            assert away.headers["retry-after"].isdigit()
            assert problem_of(away)["type"].endswith("/unavailable")
            assert (await client.get("/readyz")).status_code == 503

            await proxy.restore()
            back = await client.post("/aid-requests", json=body, headers=headers | key)
            assert back.status_code == 201, back.text
            again = await client.post("/aid-requests", json=body, headers=headers | key)
            assert again.status_code == 201
            assert again.json() == back.json()
    finally:
        await proxy.close()
