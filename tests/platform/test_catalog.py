"""The event catalog is consistent, documents itself, and keeps restricted data off NGO topics."""

from __future__ import annotations

import json
import re

import pytest

from shared.events.asyncapi import asyncapi, rendered
from shared.events.catalog import Audience, Catalog, Topic
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
    topic = Topic("concord.test.things.v1", "things")
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
