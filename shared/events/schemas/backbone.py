"""Events of the event backbone itself: what each service's outbox relay had to set aside.

(Every service owns its own backbone topic, `concord.<service>.backbone.v1`, and only its
relay writes to it.)

A row the relay can never send — its data cannot be serialised, it is over the broker's
size limit, or its topic does not exist — is parked (marked failed with the error) so that
the rows behind it go on. Parking is never silent: in the same statement that parks the row,
the relay writes an `outbox_row_parked` event into its own outbox, naming the row, its event
and the error, never its data. The topic is for mission staff (the operations centre's
tools, monitoring's audit trail), never NGOs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from shared.events.catalog import Audience, Catalog, EventType, Retention, Topic

PRODUCERS = ("ngo_registry", "joint_planning", "humanitarian_requests", "monitoring")
"""The services whose relays report on their backbone topic."""


class OutboxRowParked(BaseModel):
    """A row of a service's outbox that the relay parked instead of sending."""

    service: str
    row_id: int
    event_id: uuid.UUID
    event_type: str
    topic: str
    failure: str = Field(max_length=2000)
    parked_at: datetime


def backbone_topic(service: str) -> Topic:
    return Topic(
        f"concord.{service}.backbone.v1",
        f"What {service}'s outbox relay set aside: rows Kafka can never take, parked",
        audience=Audience.mission_staff,
        retention=Retention.log,
    )


def parked_event_type(service: str) -> str:
    return f"concord.{service}.backbone.outbox_row_parked.v1"


class RestrictedDataRefused(BaseModel):
    """The outbox refused to put restricted data on a topic NGOs may read; the change that
    would have published it rolled back. Names the refused event, never its data: the
    registry opens a data incident from it (a suspected incident, caught before any NGO
    received anything)."""

    service: str
    refusal_id: uuid.UUID
    event_type: str
    topic: str
    subject: str = Field(max_length=200, description="The entity the refused event was about")
    refused_at: datetime


def refused_event_type(service: str) -> str:
    return f"concord.{service}.backbone.restricted_data_refused.v1"


def register_backbone(catalog: Catalog, service: str) -> EventType:
    """Declare `service`'s backbone topic, its parked-row and refused-data events in
    `catalog` (the real catalog does it for every producer; a test harness does it for its
    own service)."""
    model = type(
        f"{''.join(part.title() for part in service.split('_'))}OutboxRowParked",
        (OutboxRowParked,),
        {"__doc__": f"A row of {service}'s outbox that its relay parked instead of sending."},
    )
    refused = type(
        f"{''.join(part.title() for part in service.split('_'))}RestrictedDataRefused",
        (RestrictedDataRefused,),
        {"__doc__": f"{service}'s outbox refused restricted data bound for an NGO topic."},
    )
    topic = backbone_topic(service)
    parked = catalog.register(
        parked_event_type(service),
        topic,
        model,
        f"{service}'s relay parked an outbox row it can never send; the rows behind it go on",
    )
    catalog.register(
        refused_event_type(service),
        topic,
        refused,
        f"{service}'s outbox refused to put restricted data on an NGO-readable topic (the "
        "change rolled back); the registry opens a data incident",
    )
    return parked
