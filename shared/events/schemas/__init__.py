"""The Concord event catalog: every topic and event type, with the schema of its data.

Each producing service's contract lives in its own module here (`ngo_registry`,
`humanitarian_requests`, `joint_planning`, `monitoring`); importing this package registers
them all in `CATALOG`. Consumers import the data models they handle from the same modules, so
producer and consumer can never disagree about a field.
"""

from __future__ import annotations

from shared.events.catalog import Catalog

CATALOG = Catalog()

# Importing the contract modules registers their topics and event types in CATALOG.
from shared.events.schemas import (  # noqa: E402
    backbone,
    humanitarian_requests,
    joint_planning,
    monitoring,
    ngo_registry,
)

# Each producer's relay reports the rows it parked on the producer's own backbone topic.
for _producer in backbone.PRODUCERS:
    backbone.register_backbone(CATALOG, _producer)

__all__ = [
    "CATALOG",
    "backbone",
    "humanitarian_requests",
    "joint_planning",
    "monitoring",
    "ngo_registry",
]
