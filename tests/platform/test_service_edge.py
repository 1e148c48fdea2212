"""Every service has the same edge: health, readiness, metrics, OpenAPI, problem+json."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest

from deploy.services import SERVICES, ServiceSpec
from deploy.stack import LocalStack
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG
from shared.events.schemas.ngo_registry import Capacity, NgoRegistered, NgoType, VettingStatus
from shared.testing import problem_of, serve_in_process
from shared.vocabulary import Sector

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


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
async def test_every_service_serves_the_event_schemas_by_url(
    stack: LocalStack, spec: ServiceSpec
) -> None:
    event_type = "concord.ngo_registry.ngo.registered.v1"
    async with serve_in_process(_create_app(spec)) as client:
        listing = (await client.get("/events/schemas")).json()
        assert {row["type"] for row in listing} == {e.name for e in CATALOG}
        url = next(row["schema"] for row in listing if row["type"] == event_type)
        assert url == f"http://testserver/events/schemas/{event_type}"

        served = await client.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "application/schema+json"
        schema = served.json()
        assert schema["$id"] == url  # the id is where the schema can be fetched
        assert (await client.get(url + ".json")).json() == schema
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(json.loads(registered_event().to_json()))

        unknown = await client.get("/events/schemas/concord.nobody.thing.made.v1")
        assert unknown.status_code == 404
        assert problem_of(unknown)["event_type"] == "concord.nobody.thing.made.v1"

        documented = (await client.get("/openapi.json")).json()["paths"]
        responses = documented["/events/schemas/{event_type}"]["get"]["responses"]
        assert "application/problem+json" in responses["404"]["content"]
        assert "application/schema+json" in responses["200"]["content"]


def registered_event() -> CloudEvent:
    """A CloudEvent as the registry's outbox would publish it."""
    data = NgoRegistered(
        ngo_id=uuid.uuid4(),
        name="Water for All",
        ngo_type=NgoType.national,
        hq_country="SS",
        sectors=[Sector.wash],
        capacities=[Capacity(resource="water_trucking", quantity=120, unit="m3/day")],
        operating_areas=["SS0101"],
        vetting_status=VettingStatus.submitted,
        eligibility=[],
        eligible=False,
        version=1,
        updated_at=datetime.now(UTC),
    )
    return CloudEvent(
        source="/concord/ngo_registry",
        type="concord.ngo_registry.ngo.registered.v1",
        subject=str(data.ngo_id),
        data=data.model_dump(mode="json"),
        sequence="1",
    )
