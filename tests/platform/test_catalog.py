"""The event catalog is consistent, documents itself, and keeps restricted data off NGO topics."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.events.asyncapi import NGO_SECURITY, asyncapi, rendered
from shared.events.catalog import Audience, Catalog, Retention, Topic
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG

EVENT_TYPE = re.compile(r"^concord\.[a-z_]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")


def test_every_event_type_is_well_named_and_on_a_declared_topic() -> None:
    entries = list(CATALOG)
    assert entries, "the catalog is empty"
    topic_names = {t.name for t in CATALOG.topics()}
    for entry in entries:
        assert EVENT_TYPE.match(entry.name), entry.name
        assert entry.topic.name in topic_names
        assert entry.topic.name.startswith(f"concord.{entry.name.split('.')[1]}.")
        assert entry.description
        assert CATALOG.for_model(entry.data_model) is entry


def test_no_ngo_readable_event_can_carry_restricted_sensitivity() -> None:
    for entry in CATALOG:
        if entry.topic.audience is not Audience.ngo:
            continue
        schema = json.dumps(entry.data_model.model_json_schema())
        assert '"restricted"' not in schema, f"{entry.name} could carry restricted data"


def test_registering_a_type_twice_is_refused() -> None:
    from pydantic import BaseModel

    class Thing(BaseModel):
        value: int

    class Other(BaseModel):
        value: int

    catalog = Catalog()
    topic = Topic("concord.test.things.v1", "things", retention=Retention.state)
    catalog.register("concord.test.thing.made.v1", topic, Thing, "made")
    with pytest.raises(ValueError, match="registered twice"):
        catalog.register("concord.test.thing.made.v1", topic, Other, "again")
    with pytest.raises(ValueError, match="already describes"):
        catalog.register("concord.test.thing.remade.v1", topic, Thing, "again")
    with pytest.raises(ValueError, match="must look like"):
        catalog.register("thing-made", topic, Other, "bad name")


def test_envelope_round_trips_through_json() -> None:
    event = CloudEvent(
        source="/concord/test",
        type="concord.test.thing.made.v1",
        subject="t-1",
        data={"value": 3},
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    again = CloudEvent.from_json(event.to_json())
    assert again == event
    assert json.loads(event.to_json())["specversion"] == "1.0"


def test_asyncapi_document_covers_every_event_type() -> None:
    document = asyncapi()
    assert document["asyncapi"].startswith("3.")
    assert set(document["components"]["messages"]) == {e.name for e in CATALOG}
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {t.name for t in CATALOG.topics()}


def test_committed_event_docs_are_generated_from_the_current_catalog() -> None:
    stale = [str(p) for p, text in rendered().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"run `python -m shared.events.asyncapi`: out of date: {stale[:5]}"


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    target: Any = document
    for part in ref[2:].split("/"):
        assert part in target, f"dangling $ref {ref}"
        target = target[part]
    return target


def test_asyncapi_document_is_structurally_asyncapi_3() -> None:
    document = asyncapi()
    for key in ("asyncapi", "info", "servers", "channels", "operations", "components"):
        assert key in document, key
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    schemes = document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"scramSha512"}
    for name, server in document["servers"].items():
        assert server["host"] and server["protocol"] in ("kafka", "kafka-secure"), name
        for requirement in server.get("security", []):
            _resolve(document, requirement["$ref"])
    # NGOs are sent to TLS listeners only, with their own principal; the loopback listener
    # is the services'.
    ngo_scheme = f"#/components/securitySchemes/{NGO_SECURITY}"
    for name in ("production", "local-ngo"):
        server = document["servers"][name]
        assert server["protocol"] == "kafka-secure" and "SASL_SSL" in server["description"]
        assert server["security"] == [{"$ref": ngo_scheme}], name
    assert document["servers"]["local-ngo"]["host"].endswith(":9094")  # make run's default
    local = document["servers"]["local"]
    assert "SASL_PLAINTEXT" in local["description"]
    assert {"$ref": ngo_scheme} not in local["security"]
    assert "Pending" not in json.dumps(document["servers"])
    for channel in document["channels"].values():
        assert channel["address"] and channel["messages"]
        for message in channel["messages"].values():
            _resolve(document, message["$ref"])
    for name, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel = _resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert _resolve(document, message["$ref"]) in channel["messages"].values()
        for requirement in operation["security"]:
            _resolve(document, requirement["$ref"])


def test_every_channel_has_its_catalog_audience_and_ngo_channels_a_receive_operation() -> None:
    document = asyncapi()
    by_address = {c["address"]: (cid, c) for cid, c in document["channels"].items()}
    receivers = {
        o["channel"]["$ref"].rsplit("/", 1)[1]
        for o in document["operations"].values()
        if o["action"] == "receive"
    }
    for topic in CATALOG.topics():
        channel_id, channel = by_address[topic.name]
        assert channel["x-audience"] == topic.audience.value
        assert (channel_id in receivers) is (topic.audience is Audience.ngo), topic.name
    audiences = {c["x-audience"] for c in document["channels"].values()}
    assert audiences == {a.value for a in Audience}


def test_restricted_data_stays_on_internal_topics() -> None:
    for entry in CATALOG:
        if entry.topic.audience is Audience.internal:
            continue
        schema = json.dumps(entry.data_model.model_json_schema())
        assert '"restricted"' not in schema, f"{entry.name} could carry restricted data"
