"""The schema-evolution guard: a released event type never changes incompatibly.

Unit tests over synthetic schema pairs (pydantic models rendered the way the catalog renders
them, and raw JSON Schemas for what pydantic does not produce), then the real check: every
event type in the catalog is released and compatible with its snapshot in
`docs/events/released/`.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from shared.events.asyncapi import RELEASED, asyncapi, event_schema, release, release_problems
from shared.events.catalog import DEPRECATION_PERIOD, Catalog, EventType, Retention, Topic
from shared.events.evolution import breaking_changes

TOPIC = Topic("concord.test.thing.v1", "things", retention=Retention.state)


def schema_of(model: type[BaseModel], name: str = "concord.test.thing.made.v1") -> dict[str, Any]:
    return event_schema(EventType(name, TOPIC, model, "a thing was made"))


def kinds(old: type[BaseModel], new: type[BaseModel]) -> set[tuple[str, str]]:
    return {(c.path, c.kind) for c in breaking_changes(schema_of(old), schema_of(new))}


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class ColourMore(StrEnum):
    red = "red"
    blue = "blue"
    green = "green"


class ColourLess(StrEnum):
    red = "red"


class Inner(BaseModel):
    code: str
    note: str | None = None


class InnerWithout(BaseModel):
    code: str


class V1(BaseModel):
    thing_id: uuid.UUID
    count: int
    label: str | None = None
    colour: Colour
    tags: list[str]
    inner: Inner


def test_an_added_optional_field_is_compatible() -> None:
    class AddedOptional(V1):
        weight: float | None = None

    assert kinds(V1, AddedOptional) == set()


def test_annotations_and_an_added_enum_value_are_compatible() -> None:
    class Reworded(BaseModel):
        """Another docstring."""

        thing_id: uuid.UUID = Field(description="now described")
        count: int = Field(title="How many")
        label: str | None = None
        colour: ColourMore
        tags: list[str]
        inner: Inner

    assert kinds(V1, Reworded) == set()


def test_identical_schemas_are_compatible() -> None:
    assert breaking_changes(schema_of(V1), schema_of(V1)) == []


def test_a_removed_field_breaks() -> None:
    class Removed(BaseModel):
        thing_id: uuid.UUID
        count: int
        colour: Colour
        tags: list[str]
        inner: Inner

    assert kinds(V1, Removed) == {("data.label", "removed field")}


def test_a_field_removed_inside_a_nested_model_breaks() -> None:
    class NestedRemoved(BaseModel):
        thing_id: uuid.UUID
        count: int
        label: str | None = None
        colour: Colour
        tags: list[str]
        inner: InnerWithout

    assert kinds(V1, NestedRemoved) == {("data.inner.note", "removed field")}


def test_a_new_required_field_breaks() -> None:
    class NewRequired(V1):
        weight: float

    assert kinds(V1, NewRequired) == {("data.weight", "new required field")}


def test_a_narrowed_type_breaks() -> None:
    class Narrowed(BaseModel):
        thing_id: uuid.UUID
        count: int
        label: str = ""  # was str | None: events with null no longer validate
        colour: Colour
        tags: list[str]
        inner: Inner

    assert kinds(V1, Narrowed) == {("data.label", "narrowed type")}


def test_a_removed_enum_value_breaks() -> None:
    class FewerColours(BaseModel):
        thing_id: uuid.UUID
        count: int
        label: str | None = None
        colour: ColourLess
        tags: list[str]
        inner: Inner

    assert kinds(V1, FewerColours) == {("data.colour", "removed enum value")}


def test_a_changed_type_breaks_also_inside_a_list() -> None:
    class Changed(BaseModel):
        thing_id: uuid.UUID
        count: str
        label: str | None = None
        colour: Colour
        tags: list[int]
        inner: Inner

    assert kinds(V1, Changed) == {("data.count", "changed type"), ("data.tags[]", "changed type")}


def test_a_widened_type_or_a_field_no_longer_required_breaks_old_consumers() -> None:
    class Loosened(BaseModel):
        thing_id: uuid.UUID
        count: int | None = None
        label: str | None = None
        colour: Colour
        tags: list[str]
        inner: Inner

    assert kinds(V1, Loosened) == {
        ("data.count", "widened type"),
        ("data.count", "no longer required"),
    }


def test_a_tightened_bound_breaks_and_a_changed_format_breaks() -> None:
    old = {"type": "object", "properties": {"n": {"type": "string", "maxLength": 100}}}
    tighter = {"type": "object", "properties": {"n": {"type": "string", "maxLength": 50}}}
    formatted = {"type": "object", "properties": {"n": {"type": "string", "format": "uuid"}}}
    assert [c.kind for c in breaking_changes(old, tighter)] == ["narrowed type"]
    assert {c.kind for c in breaking_changes(old, formatted)} == {
        "changed format",
        "widened type",  # and the maxLength went away
    }


def test_a_recursive_model_is_compared_to_the_end() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node]

    class NodeRenamed(BaseModel):
        title: str
        children: list[NodeRenamed]

    found = {
        (c.path, c.kind)
        for c in breaking_changes(schema_of(Node), schema_of(NodeRenamed))
        if c.path == "data.name"
    }
    assert found == {("data.name", "removed field")}


def catalog_with(*models: tuple[str, type[BaseModel]]) -> Catalog:
    catalog = Catalog()
    for name, model in models:
        catalog.register(name, TOPIC, model, f"{name} happened")
    return catalog


def test_a_breaking_change_passes_only_as_a_new_version_with_v1_kept(tmp_path: Path) -> None:
    class V1Removed(BaseModel):
        thing_id: uuid.UUID
        count: int
        colour: Colour
        tags: list[str]
        inner: Inner

    v1, v2 = "concord.test.thing.made.v1", "concord.test.thing.made.v2"
    assert release(catalog_with((v1, V1)), tmp_path) == []
    snapshot = (tmp_path / f"{v1}.json").read_text()
    assert release_problems(catalog_with((v1, V1)), tmp_path) == ([], [])

    # Changing v1 in place is caught, and `--release` refuses to snapshot it.
    broken, _ = release_problems(catalog_with((v1, V1Removed)), tmp_path)
    assert broken == [f"{v1}: data.label: removed field: consumers may read it"]
    assert release(catalog_with((v1, V1Removed)), tmp_path) != []
    assert (tmp_path / f"{v1}.json").read_text() == snapshot

    # v2 beside an unchanged v1: compatible; v2 is merely not released yet.
    both = catalog_with((v1, V1), (v2, V1Removed))
    assert release_problems(both, tmp_path) == ([], [v2])
    assert release(both, tmp_path) == []
    assert release_problems(both, tmp_path) == ([], [])

    # Dropping v1 while it is released is caught too.
    broken, _ = release_problems(catalog_with((v2, V1Removed)), tmp_path)
    assert broken and "no longer in the catalog" in broken[0]


def test_the_catalog_states_the_deprecation_of_a_superseded_version() -> None:
    class Made(BaseModel):
        thing_id: uuid.UUID

    class MadeAgain(BaseModel):
        thing_id: uuid.UUID

    catalog = catalog_with(
        ("concord.test.thing.made.v1", Made), ("concord.test.thing.made.v2", MadeAgain)
    )
    v1 = catalog.by_type("concord.test.thing.made.v1")
    assert v1 is not None and catalog.superseded_by(v1) is catalog.by_type(
        "concord.test.thing.made.v2"
    )
    messages = asyncapi(catalog)["components"]["messages"]
    assert messages["concord.test.thing.made.v1"]["x-superseded-by"] == "concord.test.thing.made.v2"
    assert (
        str(DEPRECATION_PERIOD.days) in messages["concord.test.thing.made.v1"]["x-produced-until"]
    )
    assert "x-deprecated" not in messages["concord.test.thing.made.v2"]


def test_every_event_type_is_released_and_compatible_with_its_release() -> None:
    broken, unreleased = release_problems()
    assert not broken, (
        "backward-incompatible change to a released event type; keep it and add a new "
        f"version type (….v2) instead: {broken}"
    )
    assert not unreleased, (
        f"not released yet: run `python -m shared.events.asyncapi --release`: {unreleased}"
    )


@pytest.mark.parametrize("path", sorted(RELEASED.glob("*.json")), ids=str)
def test_released_snapshots_are_schemas_of_their_own_type(path: Path) -> None:
    snapshot = json.loads(path.read_text())
    assert snapshot["properties"]["type"] == {"const": path.stem}
