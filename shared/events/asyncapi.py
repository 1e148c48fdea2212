"""Generate the AsyncAPI document and the JSON Schemas of every event from the catalog.

    python -m shared.events.asyncapi          write docs/events/ (asyncapi.json, schemas/)
    python -m shared.events.asyncapi --check  exit 1 if docs/events/ is out of date

Every service also serves the document at `/events/asyncapi.json`. NGO integrators read it to
subscribe: channels with `x-audience: ngo` are the ones open to them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.catalog import Audience, Catalog, EventType
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE
from shared.events.schemas import CATALOG

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def _producer(entry: EventType) -> str:
    return entry.name.split(".")[1]


def event_schema(entry: EventType) -> dict[str, Any]:
    """The JSON Schema of the whole CloudEvent of one type, with its `data` schema inline."""
    data_schema = entry.data_model.model_json_schema(ref_template="#/$defs/{model}")
    defs = data_schema.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:concord:schema:{entry.name}",
        "title": entry.name,
        "description": entry.description,
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid"},
            "source": {"const": f"/concord/{_producer(entry)}"},
            "type": {"const": entry.name},
            "subject": {"type": "string", "description": "The aggregate id; also the Kafka key"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {"type": "string"},
            "traceparent": {"type": "string", "description": "W3C Trace Context"},
            "sequence": {
                "type": "string",
                "description": "Rises with every event of the producer; ignore older states",
            },
            "data": data_schema,
        },
        "$defs": defs,
    }


def asyncapi(catalog: Catalog = CATALOG) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in sorted(catalog.topics(), key=lambda t: t.name):
        entries = [e for e in catalog if e.topic.name == topic.name]
        channel_id = topic.name.replace(".", "_")
        channels[channel_id] = {
            "address": topic.name,
            "description": topic.description,
            "x-audience": topic.audience.value,
            "x-ngo-readable": topic.audience is Audience.ngo,
            "messages": {
                e.name.replace(".", "_"): {"$ref": f"#/components/messages/{e.name}"}
                for e in entries
            },
        }
        for entry in entries:
            messages[entry.name] = {
                "name": entry.name,
                "title": entry.name,
                "summary": entry.description,
                "contentType": CLOUDEVENTS_CONTENT_TYPE,
                "bindings": {"kafka": {"key": {"type": "string", "description": "subject"}}},
                "payload": event_schema(entry),
            }
        producers = sorted({_producer(e) for e in entries})
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Published by {', '.join(producers)} through its transactional outbox",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Concord events",
            "version": "1.0.0",
            "description": (
                "Every event Concord publishes: CloudEvents 1.0 in JSON structured mode, "
                "Kafka key = the aggregate id, delivered at least once (deduplicate on `id`)."
            ),
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def rendered(catalog: Catalog = CATALOG) -> dict[Path, str]:
    """Every file of docs/events/, as text."""
    files = {DOCS / "asyncapi.json": json.dumps(asyncapi(catalog), indent=2, sort_keys=True)}
    for entry in catalog:
        files[DOCS / "schemas" / f"{entry.name}.json"] = json.dumps(
            event_schema(entry), indent=2, sort_keys=True
        )
    return {path: text + "\n" for path, text in files.items()}


def main() -> None:
    files = rendered()
    if "--check" in sys.argv:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        for path in stale:
            print(f"out of date: {path}")
        sys.exit(1 if stale else 0)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} files under {DOCS}")


if __name__ == "__main__":
    main()
