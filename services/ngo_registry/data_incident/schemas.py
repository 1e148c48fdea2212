"""HTTP shapes of data incidents."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, Field

from shared.events.schemas.ngo_registry import (
    DataIncidentSeverity,
    DataIncidentState,
)
from shared.inputs import Line, Name, StrictInput


class RecordIn(StrictInput):
    kind: Name = Field(description="aid_request, incident, offer, ngo, operation, export, …")
    id: Name


class DataIncidentReport(StrictInput):
    """A suspected data incident: what happened, when, which records, to whom."""

    summary: str = Field(min_length=1, max_length=4000)
    occurred_at: AwareDatetime | None = None
    discovered_at: AwareDatetime | None = Field(None, description="Default: now")
    records: list[RecordIn] = Field(default_factory=list, max_length=1000)
    recipients: list[uuid.UUID] = Field(
        default_factory=list, max_length=200, description="NGOs that received the data"
    )


class Classification(StrictInput):
    severity: DataIncidentSeverity
    reason: Line = Field(min_length=1)


class Containment(StrictInput):
    """Contain the incident: every NGO named here has its access suspended in this step (its
    vetting becomes `suspended`: offers, webhooks and — through the provisioning component —
    its Kafka credential stop)."""

    revoke_ngo_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)
    reason: Line = Field(min_length=1)


class NotificationIn(StrictInput):
    recipient: Name = Field(min_length=1, description="Who was told (a person's role, an office)")
    channel: Name = Field(min_length=1, description="How (email, phone, letter, meeting)")


class Notification(StrictInput):
    notified: list[NotificationIn] = Field(min_length=1, max_length=100)


class Closure(StrictInput):
    lessons: str = Field(min_length=1, max_length=8000)


class DataIncidentOut(DataIncidentState):
    pass


class DataIncidentList(BaseModel):
    items: list[DataIncidentOut]
    limit: int
    offset: int
