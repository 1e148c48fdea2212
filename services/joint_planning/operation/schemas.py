"""HTTP shapes of joint operations and their participants."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from services.joint_planning.common.polygons import MAX_POLYGONS, PolygonIn
from services.joint_planning.common.text import StrictInput
from shared.events.schemas.joint_planning import (
    MissionComponent,
    OperationState,
    OperationStatus,
    ParticipantKind,
    ParticipantRole,
)
from shared.inputs import Code, Line
from shared.vocabulary import Sector, Sensitivity

Text = Field(min_length=1, max_length=2000)


class ParticipantIn(StrictInput):
    """A mission component (`component`, `name`) or an NGO (`ngo_id`; its name comes from
    the registry) with its role and what it is responsible for."""

    kind: ParticipantKind
    ngo_id: uuid.UUID | None = None
    component: MissionComponent | None = None
    name: str | None = Field(None, min_length=1, max_length=300)
    role: ParticipantRole
    responsibilities: list[Line] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _kind_fields(self) -> ParticipantIn:
        if self.kind is ParticipantKind.ngo:
            if self.ngo_id is None or self.component is not None:
                raise ValueError("an ngo participant names ngo_id and no component")
        elif self.component is None or self.name is None or self.ngo_id is not None:
            raise ValueError("a mission_component participant names component and name")
        if any(not r.strip() or len(r) > 2000 for r in self.responsibilities):
            raise ValueError("responsibilities must be 1 to 2000 characters each")
        return self


class _Window(StrictInput):
    @model_validator(mode="after")
    def _window_in_order(self) -> _Window:
        starts, ends = getattr(self, "starts_at", None), getattr(self, "ends_at", None)
        if starts is not None and ends is not None and ends <= starts:
            raise ValueError("ends_at must be after starts_at")
        return self


class OperationCreate(_Window):
    """A draft operation. Its place is given by `areas`, P-codes of the mission gazetteer
    (states or counties), and/or `polygons`, GeoJSON-like polygons (each a list of rings of
    [lon, lat] positions, outline first, then holes; closed rings, at most 200 vertices,
    inside the mission area)."""

    operation_id: uuid.UUID | None = Field(None, description="Supply your own id to retry safely")
    title: str = Field(min_length=1, max_length=500)
    objectives: list[Line] = Field(default_factory=list, max_length=50)
    sectors: list[Sector] = Field(min_length=1, max_length=len(Sector))
    areas: list[Code] = Field(default_factory=list, max_length=100)
    polygons: list[PolygonIn] = Field(default_factory=list, max_length=MAX_POLYGONS)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=100)
    linked_request_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    linked_incident_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    sensitivity: Sensitivity | None = Field(
        None,
        description="The operation's class; raised to its derived minimum if lower "
        "(`sensitivity_raised_from` in the response says so). Omitted: the minimum (internal, "
        "or restricted for a protection, GBV or child-protection operation or one linked to a "
        "restricted incident)",
    )

    @model_validator(mode="after")
    def _has_a_place(self) -> OperationCreate:
        if not self.areas and not self.polygons:
            raise ValueError("an operation needs areas (P-codes) or polygons, or both")
        return self


class OperationUpdate(_Window):
    """Changes; only the fields sent change. Send `If-Match` with the ETag you read."""

    title: str | None = Field(None, min_length=1, max_length=500)
    objectives: list[Line] | None = Field(None, max_length=50)
    sectors: list[Sector] | None = Field(None, min_length=1, max_length=len(Sector))
    areas: list[Code] | None = Field(None, max_length=100)
    polygons: list[PolygonIn] | None = Field(None, max_length=MAX_POLYGONS)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class StatusChange(StrictInput):
    status: OperationStatus
    reason: str | None = Field(None, min_length=1, max_length=2000)


class LinksChange(StrictInput):
    """Aid requests and incidents to link to (or unlink from) the operation, by id."""

    add_request_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    remove_request_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    add_incident_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    remove_incident_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class ParticipantRemoval(StrictInput):
    reason: str = Field(min_length=1, max_length=2000)


class Reclassification(StrictInput):
    """Staff: a new class for the operation, and why (audited in its event and history)."""

    sensitivity: Sensitivity
    reason: str = Field(min_length=1, max_length=2000)


class OperationOut(OperationState):
    created_at: datetime
    sensitivity_raised_from: Sensitivity | None = Field(
        None, description="At creation: the lower class that was asked for, if it was raised"
    )


class OperationPage(BaseModel):
    items: list[OperationOut]
    total: int
    limit: int
    offset: int


class HistoryOut(BaseModel):
    entity_type: str
    entity_id: uuid.UUID
    event_type: str
    actor: str
    detail: dict[str, object]
    at: datetime
