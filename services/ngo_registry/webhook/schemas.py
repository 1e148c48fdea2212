"""HTTP shapes of webhooks: what an NGO registers, what it reads about its deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.schemas.ngo_registry import DeliveryStatus, WebhookState
from shared.inputs import Code, Name, StrictInput
from shared.vocabulary import Sector


class WebhookFilterIn(StrictInput):
    """What the endpoint receives; leave a list out (or empty) to receive any."""

    event_types: list[Name] = Field(
        default_factory=list,
        max_length=50,
        description="Event types (e.g. `concord.humanitarian_requests.offer.made.v1`)",
    )
    sectors: list[Sector] = Field(default_factory=list, max_length=len(Sector))
    pcodes: list[Code] = Field(
        default_factory=list,
        max_length=200,
        description="Areas (P-codes); an event in an area inside one of them matches",
    )


class WebhookCreate(StrictInput):
    """A new endpoint. The server makes the signing secret and returns it once."""

    url: str = Field(min_length=1, max_length=2000, description="https:// only")
    filter: WebhookFilterIn = Field(default_factory=WebhookFilterIn)


class WebhookOut(WebhookState):
    created_at: datetime


class WebhookWithSecret(WebhookOut):
    """The answer that creates or rotates the secret: the only time it is shown."""

    secret: str = Field(description="`whsec_` + base64 of 32 random bytes; store it now")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    delivery_id: uuid.UUID = Field(description="The `webhook-id` header of every try")
    event_id: uuid.UUID
    event_type: str
    entity_key: str
    event_time: datetime
    status: DeliveryStatus
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    replay_id: uuid.UUID | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    limit: int
    offset: int


class ReplayRequest(StrictInput):
    """Send again every stored event since `from` that matches the filter."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    replay_from: AwareDatetime = Field(alias="from", description="with a time zone")


class Requeued(BaseModel):
    """How many deliveries were queued (again)."""

    count: int
    delivery_ids: list[uuid.UUID]
    replay_id: uuid.UUID | None = None
