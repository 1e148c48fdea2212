"""Generate the AsyncAPI document and the JSON Schemas of every event from the catalog.

    python -m shared.events.asyncapi            write docs/events/ (asyncapi.json, schemas/)
    python -m shared.events.asyncapi --check    exit 1 if docs/events/ is out of date
    python -m shared.events.asyncapi --release  also snapshot every event type's schema into
                                                docs/events/released/ (refused, exit 1, for a
                                                type whose change would break consumers)

Every service also serves the document at `/events/asyncapi.json` and each schema at
`/events/schemas/{type}` (the schema's `$id` is that URL). NGO integrators read the document
to subscribe: channels with `x-audience: ngo` are the ones open to them, and each has a
`receive` operation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.catalog import (
    DEFAULT_RESTRICTED_DAYS,
    DEPRECATION_PERIOD,
    Audience,
    Catalog,
    EventType,
    Topic,
    retention_configs,
)
from shared.events.envelope import CLOUDEVENTS_CONTENT_TYPE
from shared.events.evolution import breaking_changes
from shared.events.schemas import CATALOG

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
RELEASED = DOCS / "released"

SCHEMA_ROUTE = "/events/schemas"
# The base of the `$id`s in the committed documents: the registry of a local `make run`.
# Every service serves the same schemas; a schema fetched from a service carries that
# service's own URL as its `$id`.
DOCUMENT_BASE_URL = "http://127.0.0.1:8001"
LOCAL_BROKER = "127.0.0.1:9092"

NGO_SECURITY = "ngoScramSha512"
SERVICE_SECURITY = "serviceScramSha512"
LOCAL_NGO_BROKER = "127.0.0.1:9094"
ENFORCED_SECURITY = (
    "Enforced on the broker `make run` starts: SASL/SCRAM-SHA-512 on every listener, TLS on "
    "the listener NGOs use (a certificate signed by the mission's CA), the KRaft "
    "StandardAuthorizer, nothing allowed that no ACL allows."
)


def schema_url(event_type: str, base_url: str = DOCUMENT_BASE_URL) -> str:
    """Where any service serves the JSON Schema of an event type."""
    return f"{base_url.rstrip('/')}{SCHEMA_ROUTE}/{event_type}"


def _producer(entry: EventType) -> str:
    return entry.name.split(".")[1]


def event_schema(entry: EventType, base_url: str = DOCUMENT_BASE_URL) -> dict[str, Any]:
    """The JSON Schema of the whole CloudEvent of one type, with its `data` schema inline."""
    data_schema = entry.data_model.model_json_schema(ref_template="#/$defs/{model}")
    defs = data_schema.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_url(entry.name, base_url),
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


def _topic_binding(topic: Topic) -> dict[str, Any]:
    """The Kafka channel binding: the topic and the settings it is created with (its
    retention class, at the default restricted retention), so a subscriber knows how far back
    it can read: a compacted topic keeps every entity's latest state, and every event for at
    least `min.compaction.lag.ms`."""
    configs = retention_configs(topic.retention, restricted_days=DEFAULT_RESTRICTED_DAYS)
    configuration: dict[str, Any] = {
        "cleanup.policy": configs["cleanup.policy"].split(","),
        "retention.ms": int(configs["retention.ms"]),
    }
    if "min.compaction.lag.ms" in configs:
        configuration["min.compaction.lag.ms"] = int(configs["min.compaction.lag.ms"])
    return {"topic": topic.name, "topicConfiguration": configuration, "bindingVersion": "0.5.0"}


def _servers() -> dict[str, Any]:
    return {
        "local": {
            "host": LOCAL_BROKER,
            "protocol": "kafka",
            "description": (
                "The loopback listener of the KRaft broker `make run` starts, for the services "
                "and the mission's own tools (KAFKA_BOOTSTRAP_SERVERS names another): "
                "SASL_PLAINTEXT, SCRAM-SHA-512 authentication and deny-by-default ACLs, "
                "without TLS because it never leaves the host. " + ENFORCED_SECURITY
            ),
            "security": [{"$ref": f"#/components/securitySchemes/{SERVICE_SECURITY}"}],
        },
        "local-ngo": {
            "host": LOCAL_NGO_BROKER,
            "protocol": "kafka-secure",
            "description": (
                "The NGO listener of the broker `make run` starts (CONCORD_KAFKA_NGO_PORT): "
                "SASL_SSL, SCRAM-SHA-512 over TLS. Its certificate is signed by a local CA "
                "generated on first run, `<run dir>/kafka/tls/ca.pem`: the NGO's client "
                "trusts that certificate (`concord kafka-credentials issue` names it). "
                + ENFORCED_SECURITY
            ),
            "security": [{"$ref": f"#/components/securitySchemes/{NGO_SECURITY}"}],
        },
        "production": {
            "host": "{bootstrap}",
            "protocol": "kafka-secure",
            "description": (
                "The mission's NGO-facing listener: SASL_SSL (TLS with the mission's "
                "certificate, SCRAM-SHA-512 authentication, deny-by-default ACLs). "
                + ENFORCED_SECURITY
            ),
            "variables": {
                "bootstrap": {
                    "description": "host:port of the mission's NGO-facing Kafka listener",
                    "default": "kafka.mission.example:9094",
                }
            },
            "security": [{"$ref": f"#/components/securitySchemes/{NGO_SECURITY}"}],
        },
    }


def _security_schemes() -> dict[str, Any]:
    return {
        NGO_SECURITY: {
            "type": "scramSha512",
            "description": (
                "One read-only principal per vetted NGO, issued by the mission when the NGO "
                "is vetted and removed when it is suspended: it may read only topics whose "
                "audience is `ngo`, with consumer groups that start with its own prefix "
                "(`ngo.<ngo_id>.`). Over TLS (SASL_SSL) on the NGO listener."
            ),
        },
        SERVICE_SECURITY: {
            "type": "scramSha512",
            "description": (
                "One principal per Concord service: writes only its own topics, reads only "
                "what it consumes, its own consumer groups and dead-letter topics. On the "
                "loopback listener."
            ),
        },
    }


def _message(entry: EventType, catalog: Catalog) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": entry.name,
        "title": entry.name,
        "summary": entry.description,
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "bindings": {"kafka": {"key": {"type": "string", "description": "subject"}}},
        "payload": event_schema(entry),
        "externalDocs": {"description": "JSON Schema", "url": schema_url(entry.name)},
    }
    newer = catalog.superseded_by(entry)
    if newer is not None:
        message["x-deprecated"] = True
        message["x-superseded-by"] = newer.name
        message["x-produced-until"] = (
            f"{DEPRECATION_PERIOD.days} days after {newer.name} was first released"
        )
    return message


def asyncapi(catalog: Catalog = CATALOG) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in sorted(catalog.topics(), key=lambda t: t.name):
        entries = [e for e in catalog if e.topic.name == topic.name]
        channel_id = topic.name.replace(".", "_")
        channel_messages = {
            e.name.replace(".", "_"): {"$ref": f"#/components/messages/{e.name}"} for e in entries
        }
        channels[channel_id] = {
            "address": topic.name,
            "description": topic.description,
            "x-audience": topic.audience.value,
            "x-ngo-readable": topic.audience is Audience.ngo,
            "x-retention": topic.retention.value,
            "messages": channel_messages,
            "bindings": {"kafka": _topic_binding(topic)},
        }
        for entry in entries:
            messages[entry.name] = _message(entry, catalog)
        message_refs = [
            {"$ref": f"#/channels/{channel_id}/messages/{message_id}"}
            for message_id in channel_messages
        ]
        producers = sorted({_producer(e) for e in entries})
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": message_refs,
            "summary": f"Published by {', '.join(producers)} through its transactional outbox",
            "security": [{"$ref": f"#/components/securitySchemes/{SERVICE_SECURITY}"}],
        }
        if topic.audience is Audience.ngo:
            operations[f"receive_{channel_id}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": message_refs,
                "summary": "A vetted NGO system subscribes (read only)",
                "description": (
                    "Use a consumer group of your own (`ngo.<ngo_id>.<anything>`); "
                    "deduplicate on the CloudEvent `id`; events of one entity share the Kafka "
                    "key (its id) and arrive in order."
                ),
                "x-audience": topic.audience.value,
                "security": [{"$ref": f"#/components/securitySchemes/{NGO_SECURITY}"}],
                "bindings": {
                    "kafka": {"groupId": {"type": "string", "pattern": r"^ngo\.[0-9a-f-]{36}\..+$"}}
                },
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Concord events",
            "version": "1.0.0",
            "description": (
                "Every event Concord publishes: CloudEvents 1.0 in JSON structured mode, "
                "Kafka key = the aggregate id, delivered at least once (deduplicate on `id`). "
                "A released type never changes incompatibly; a breaking change is a new "
                f"type `….v2`, and the old one is still produced for {DEPRECATION_PERIOD.days} "
                "days after it. Ignore fields and enum values you do not know."
            ),
            "x-deprecation-period-days": DEPRECATION_PERIOD.days,
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "securitySchemes": _security_schemes()},
    }


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def rendered(catalog: Catalog = CATALOG) -> dict[Path, str]:
    """Every generated file of docs/events/ (not the released snapshots), as text."""
    files = {DOCS / "asyncapi.json": _text(asyncapi(catalog))}
    for entry in catalog:
        files[DOCS / "schemas" / f"{entry.name}.json"] = _text(event_schema(entry))
    return files


def released_schemas(directory: Path = RELEASED) -> dict[str, dict[str, Any]]:
    """The released snapshot of every event type, by type."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def release_problems(
    catalog: Catalog = CATALOG, directory: Path = RELEASED
) -> tuple[list[str], list[str]]:
    """What stops the catalog from matching its releases: (breaking changes, unreleased)."""
    released = released_schemas(directory)
    broken: list[str] = []
    for name, snapshot in released.items():
        entry = catalog.by_type(name)
        if entry is None:
            broken.append(
                f"{name}: released but no longer in the catalog; it must be produced for "
                f"{DEPRECATION_PERIOD.days} days after its successor's release"
            )
            continue
        for change in breaking_changes(snapshot, event_schema(entry)):
            broken.append(f"{name}: {change}")
    unreleased = sorted(e.name for e in catalog if e.name not in released)
    return broken, unreleased


def release(catalog: Catalog = CATALOG, directory: Path = RELEASED) -> list[str]:
    """Snapshot every compatible type; the breaking changes that were refused."""
    released = released_schemas(directory)
    refused: list[str] = []
    directory.mkdir(parents=True, exist_ok=True)
    for entry in catalog:
        current = event_schema(entry)
        snapshot = released.get(entry.name)
        changes = breaking_changes(snapshot, current) if snapshot is not None else []
        if changes:
            refused.extend(f"{entry.name}: {change}" for change in changes)
            continue
        (directory / f"{entry.name}.json").write_text(_text(current))
    return refused


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
    if "--release" in sys.argv:
        refused = release()
        for line in refused:
            print(f"refused (breaking change; add a new version type instead): {line}")
        print(f"released snapshots under {RELEASED}")
        sys.exit(1 if refused else 0)


if __name__ == "__main__":
    main()
