"""The CloudEvents 1.0 envelope, JSON structured mode.

On the wire a message value is one JSON object with `specversion`, `id`, `source`, `type`,
`subject`, `time`, `datacontenttype`, `data`, plus the `traceparent` extension (W3C Trace
Context) and `sequence`, the producing service's outbox position, which rises with every event
of an aggregate so a replica can ignore an older state that arrives late. The Kafka key is the
subject (the aggregate id) and the header `content-type` is
`application/cloudevents+json`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event as Concord publishes it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    traceparent: str | None = None
    sequence: str | None = None
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_json(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)

    @property
    def kafka_key(self) -> bytes:
        return self.subject.encode()


def service_source(service: str) -> str:
    """The CloudEvents `source` of everything a service emits."""
    return f"/concord/{service}"
