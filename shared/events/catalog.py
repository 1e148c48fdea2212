"""The event catalog: the single source of truth for topics, event types and data schemas.

Every event a Concord service emits is declared here once: its type string, the topic it goes
to, the pydantic model of its `data`, and who may read that topic. Producers look up the type
and topic from the data model, consumers parse `data` back into the same model, and the
AsyncAPI document and JSON Schemas in `docs/events/` are generated from this catalog
(`python -m shared.events.asyncapi`).

Topic audiences keep restricted data where it belongs: an `ngo` topic is one NGOs may
subscribe to, and the outbox refuses to put anything marked `restricted` on it.

Versions: a released type never changes incompatibly (`shared.events.evolution` and the
snapshots in `docs/events/released/` guard it). A breaking change is a new type `….v2`; the
old `….v1` goes on being produced beside it for `DEPRECATION_PERIOD` after the first `v2`
release, then it may be retired (removed from the catalog together with its snapshot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=type[BaseModel])


class Audience(StrEnum):
    """Who may read a topic.

    `internal`: Concord's services only (full state, may be restricted; people reach it
    through the services' APIs). `mission_staff`: also the mission's own systems (JOC, JMAC,
    the operations centre's tools), never NGOs. `ngo`: also vetted NGO systems; never
    restricted data.
    """

    internal = "internal"
    mission_staff = "mission_staff"
    ngo = "ngo"


class Retention(StrEnum):
    """How long a topic keeps what it holds: declared per topic on purpose, so that no topic
    lives by the broker's default (7 days) by accident (`shared.events.kafka.topic_configs`
    turns a class into topic settings; `docs/data-responsibility.md` gives the reasons).

    `state`: every message is an entity's full state after a change, keyed by the entity:
    compacted, so the latest state of every entity stays for replicas, `concord rebuild`
    and the provisioner to replay, and every single event stays for at least a week
    (`min.compaction.lag.ms`) for consumers that record each one (the audit chain).
    `restricted`: may carry restricted records: compacted the same way, and nothing is kept
    longer than the restricted class's retention (`KAFKA_RESTRICTED_RETENTION_DAYS`, 365 by
    default, the same period the services purge their own copies after).
    `log`: a record of what happened (access audit, purges, parked outbox rows): a year.
    `dead_letter`: poison messages kept for inspection and replay: 30 days.
    """

    state = "state"
    restricted = "restricted"
    log = "log"
    dead_letter = "dead_letter"


DAY_MS = 24 * 3600 * 1000
EVERY_EVENT_KEPT_MS = 7 * DAY_MS
"""How long every single event of a compacted topic stays before compaction may drop it:
a consumer that records each one (monitoring's audit chain) sees them all within a week."""


DEFAULT_RESTRICTED_DAYS = 365
"""`KAFKA_RESTRICTED_RETENTION_DAYS` unless set (see `shared.events.kafka`)."""


def retention_configs(retention: Retention, *, restricted_days: int) -> dict[str, str]:
    """The topic settings of a retention class (`shared.events.catalog.Retention`)."""
    if retention is Retention.state:
        return {
            "cleanup.policy": "compact",
            "min.compaction.lag.ms": str(EVERY_EVENT_KEPT_MS),
            "retention.ms": "-1",
        }
    if retention is Retention.restricted:
        return {
            "cleanup.policy": "compact,delete",
            "min.compaction.lag.ms": str(EVERY_EVENT_KEPT_MS),
            "retention.ms": str(restricted_days * DAY_MS),
        }
    if retention is Retention.log:
        return {"cleanup.policy": "delete", "retention.ms": str(365 * DAY_MS)}
    return {"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)}


DEPRECATION_PERIOD = timedelta(days=180)
"""How long a superseded event type (`….v1` once `….v2` exists) is still produced."""


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    audience: Audience = Audience.internal
    partitions: int | None = None  # None: the cluster setting (KAFKA_PARTITIONS)
    retention: Retention = field(kw_only=True)

    @property
    def dead_letter(self) -> bool:
        return self.name.startswith(DLQ_PREFIX)

    @property
    def producer(self) -> str | None:
        """The one service that writes this topic (`concord.<service>.…`); None for a
        dead-letter topic, which each consumer group writes for itself."""
        if self.dead_letter:
            return None
        parts = self.name.split(".")
        return parts[1] if len(parts) > 2 and parts[0] == "concord" else None


@dataclass(frozen=True)
class EventType:
    name: str
    topic: Topic
    data_model: type[BaseModel]
    description: str

    @property
    def version(self) -> int:
        return int(self.name.rsplit(".v", 1)[1])

    @property
    def unversioned(self) -> str:
        """The type without its version: what `….v1` and `….v2` have in common."""
        return self.name.rsplit(".v", 1)[0]


DLQ_PREFIX = "concord.dlq."


def dead_letter_topic(consumer_group: str) -> Topic:
    """Where a consumer group puts messages it cannot process, with the error attached."""
    return Topic(
        name=DLQ_PREFIX + consumer_group,
        description=f"Poison messages that consumer group {consumer_group} could not process",
        retention=Retention.dead_letter,
    )


@dataclass
class Catalog:
    """A registry of event types; `CATALOG` in `shared.events.schemas` is the real one."""

    _by_type: dict[str, EventType] = field(default_factory=dict)
    _by_model: dict[type[BaseModel], EventType] = field(default_factory=dict)
    _topics: dict[str, Topic] = field(default_factory=dict)

    def add_topic(self, topic: Topic) -> Topic:
        existing = self._topics.get(topic.name)
        if existing is not None and existing != topic:
            raise ValueError(f"topic {topic.name} declared twice with different settings")
        self._topics[topic.name] = topic
        return topic

    def register(
        self, event_type: str, topic: Topic, data_model: type[BaseModel], description: str
    ) -> EventType:
        if not event_type.startswith("concord.") or ".v" not in event_type:
            raise ValueError(f"event type {event_type!r} must look like concord.<svc>.<x>.v1")
        if event_type in self._by_type:
            raise ValueError(f"event type {event_type} registered twice")
        if data_model in self._by_model:
            raise ValueError(f"{data_model.__name__} already describes another event type")
        self.add_topic(topic)
        entry = EventType(event_type, topic, data_model, description)
        self._by_type[event_type] = entry
        self._by_model[data_model] = entry
        return entry

    def event(self, event_type: str, topic: Topic, description: str) -> _Registrar:
        """Decorator form: `@CATALOG.event("concord.x.y.created.v1", TOPIC, "…")`."""
        return _Registrar(self, event_type, topic, description)

    def by_type(self, event_type: str) -> EventType | None:
        return self._by_type.get(event_type)

    def for_model(self, data_model: type[BaseModel]) -> EventType:
        try:
            return self._by_model[data_model]
        except KeyError:
            raise KeyError(f"{data_model.__name__} is not in the event catalog") from None

    def superseded_by(self, entry: EventType) -> EventType | None:
        """The newest version of the same type when it is newer than `entry`, else None."""
        newer = [
            other
            for other in self._by_type.values()
            if other.unversioned == entry.unversioned and other.version > entry.version
        ]
        return max(newer, key=lambda other: other.version, default=None)

    def topics(self) -> Iterable[Topic]:
        return self._topics.values()

    def topic(self, name: str) -> Topic:
        return self._topics[name]

    def producer_of(self, topic: str) -> str | None:
        """The service that produces `topic` (declared here or not); None for a DLQ."""
        return (self._topics.get(topic) or Topic(topic, "", retention=Retention.log)).producer

    def __iter__(self) -> Iterator[EventType]:
        return iter(self._by_type.values())


@dataclass(frozen=True)
class _Registrar:
    catalog: Catalog
    event_type: str
    topic: Topic
    description: str

    def __call__(self, data_model: ModelT) -> ModelT:
        self.catalog.register(self.event_type, self.topic, data_model, self.description)
        return data_model
