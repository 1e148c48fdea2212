"""Every request body of the four services, read from their OpenAPI documents, is bounded
and closed at every level: each string has a `maxLength` (or an enum, a pattern or a format
such as a date or uuid that bounds it), each array a `maxItems`, and each object refuses
unknown fields (`additionalProperties: false`, from `shared.inputs.StrictInput`). A new
input model with an unbounded field or without `StrictInput` fails here."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from deploy.services import SERVICES

BOUNDED_FORMATS = {"date", "date-time", "uuid", "time", "duration", "email", "uri"}
# The store-and-forward batch takes each queued item as it comes: every item is validated
# one by one against the report models (themselves checked here) and refused on its own.
OPEN_BY_DESIGN = {"BatchIn.items[]"}


def _unbounded(doc: dict[str, Any]) -> list[str]:
    found: set[str] = set()

    def walk(node: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return
            node, where, seen = doc["components"]["schemas"][name], name, seen | {name}
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                walk(sub, where, seen)
        if where in OPEN_BY_DESIGN:
            return
        kind = node.get("type")
        if kind == "string" and not (
            {"maxLength", "enum", "const", "pattern"} & node.keys()
            or node.get("format") in BOUNDED_FORMATS
        ):
            found.add(f"{where}: a string without maxLength")
        if kind == "array":
            if "maxItems" not in node:
                found.add(f"{where}: an array without maxItems")
            if "items" in node:
                walk(node["items"], f"{where}[]", seen)
        if kind == "object" or "properties" in node:
            if node.get("additionalProperties") is not False:
                found.add(f"{where}: an object that accepts unknown fields")
            for name, sub in node.get("properties", {}).items():
                walk(sub, f"{where}.{name}", seen)

    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content["schema"], f"{method.upper()} {path}", frozenset())
    return sorted(found)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_request_body_is_bounded_and_closed(spec: Any) -> None:
    module_name, _, factory = spec.app_factory.partition(":")
    app = getattr(importlib.import_module(module_name), factory)(spec.settings_class())
    assert _unbounded(app.openapi()) == []


def test_the_check_finds_an_open_or_unbounded_model() -> None:
    doc = {
        "paths": {
            "/x": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Open"}}
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Open": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}},
                    },
                }
            }
        },
    }
    assert _unbounded(doc) == [
        "Open.name: a string without maxLength",
        "Open.tags: an array without maxItems",
        "Open: an object that accepts unknown fields",
    ]
