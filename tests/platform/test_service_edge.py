"""Every service has the same edge: health, readiness, metrics, OpenAPI, problem+json."""

from __future__ import annotations

import pytest

from deploy.services import SERVICES, ServiceSpec
from deploy.stack import LocalStack
from shared.testing import problem_of, serve_in_process

pytestmark = pytest.mark.integration


def _create_app(spec: ServiceSpec):
    module = __import__(f"services.{spec.name}.app", fromlist=["create_app"])
    return module.create_app()


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
async def test_operational_endpoints(stack: LocalStack, spec: ServiceSpec) -> None:
    async with serve_in_process(_create_app(spec)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}

        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": True, "kafka": True, "outbox_relay": True}

        metrics = (await client.get("/metrics")).text
        assert "concord_http_requests_total" in metrics
        assert "concord_outbox_backlog" in metrics

        openapi = (await client.get("/openapi.json")).json()
        assert openapi["info"]["title"].startswith("Concord")
        assert (await client.get("/docs")).status_code == 200

        missing = await client.get("/no-such-thing")
        assert missing.status_code == 404
        assert problem_of(missing)["instance"] == "/no-such-thing"
        assert missing.headers["x-request-id"]
        assert missing.headers["traceparent"].startswith("00-")


async def test_trace_context_is_continued(stack: LocalStack) -> None:
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with serve_in_process(_create_app(SERVICES[0])) as client:
        response = await client.get("/healthz", headers={"traceparent": incoming})
    returned = response.headers["traceparent"]
    assert returned.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert returned.split("-")[2] != "00f067aa0ba902b7"  # a new span in the same trace
