"""HTTP shapes of humanitarian notifications (static sites and movements)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from services.joint_planning.common.text import StrictInput
from shared.events.schemas.joint_planning import (
    ConflictSource,
    NotificationKind,
    NotificationState,
)
from shared.gazetteer import gazetteer

MAX_WAYPOINTS = 50
MAX_WINDOW = timedelta(days=31)


class PointIn(StrictInput):
    """A WGS84 point; it must lie in the mission area."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)

    @model_validator(mode="after")
    def _in_mission_area(self) -> PointIn:
        bounds = gazetteer().bounds
        if not (
            bounds["min_lat"] <= self.lat <= bounds["max_lat"]
            and bounds["min_lon"] <= self.lon <= bounds["max_lon"]
        ):
            raise ValueError(
                f"({self.lat}, {self.lon}) is outside the mission area "
                f"(lat {bounds['min_lat']}..{bounds['max_lat']}, "
                f"lon {bounds['min_lon']}..{bounds['max_lon']})"
            )
        return self


class VehicleIn(StrictInput):
    vehicle_type: str = Field(min_length=1, max_length=100)
    count: int = Field(ge=1, le=500)
    markings: str | None = Field(None, max_length=300)


class ContactIn(StrictInput):
    """Who the mission calls about this notification (confidential: never in events)."""

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=50)
    radio: str | None = Field(None, max_length=100)


class _Shape(StrictInput):
    @model_validator(mode="after")
    def _consistent(self) -> _Shape:
        starts, ends = getattr(self, "starts_at", None), getattr(self, "ends_at", None)
        if starts is not None and ends is not None:
            if ends <= starts:
                raise ValueError("ends_at must be after starts_at")
            if ends - starts > MAX_WINDOW:
                raise ValueError(f"a notification covers at most {MAX_WINDOW.days} days")
        return self


class NotificationCreate(_Shape):
    """A static site (`location`, `function`, occupancy window) or a movement (`waypoints`
    in travel order, time window, `vehicles`). It informs the mission; it asks no
    permission. `escort_requested` asks for an escort, with a reason."""

    notification_id: uuid.UUID | None = Field(
        None, description="Supply your own id to retry safely"
    )
    ngo_id: uuid.UUID | None = Field(None, description="Only mission staff notifying for an NGO")
    kind: NotificationKind
    function: str | None = Field(None, min_length=1, max_length=300)
    location: PointIn | None = None
    occupancy: int | None = Field(None, ge=0, le=1_000_000)
    waypoints: list[PointIn] = Field(default_factory=list, max_length=MAX_WAYPOINTS)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    vehicles: list[VehicleIn] = Field(default_factory=list, max_length=100)
    contact: ContactIn
    escort_requested: bool = False
    escort_reason: str | None = Field(None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _kind_fields(self) -> NotificationCreate:
        if self.kind is NotificationKind.static_site:
            if self.location is None or self.function is None:
                raise ValueError("a static_site names its location and function")
            if self.waypoints:
                raise ValueError("a static_site has no waypoints")
        else:
            if len(self.waypoints) < 2:
                raise ValueError("a movement has at least 2 waypoints")
            if self.location is not None:
                raise ValueError("a movement gives waypoints, not a location")
        if self.escort_requested and self.escort_reason is None:
            raise ValueError("an escort request needs an escort_reason")
        return self


class NotificationUpdate(_Shape):
    """Changes the NGO makes to its notification; only the fields sent change. Send
    `If-Match` with the ETag you read."""

    function: str | None = Field(None, min_length=1, max_length=300)
    location: PointIn | None = None
    occupancy: int | None = Field(None, ge=0, le=1_000_000)
    waypoints: list[PointIn] | None = Field(None, min_length=2, max_length=MAX_WAYPOINTS)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    vehicles: list[VehicleIn] | None = Field(None, max_length=100)
    contact: ContactIn | None = None


class EscortDecision(StrictInput):
    approved: bool
    reason: str = Field(min_length=1, max_length=2000)


class ConflictOut(BaseModel):
    """A conflict as the NGO may see it: the notice, when, roughly where, how far."""

    conflict_id: uuid.UUID
    source: ConflictSource
    notice: str
    near_pcode: str
    between_start: datetime
    between_end: datetime
    distance_km: float | None
    reported_at: datetime | None
    flagged_at: datetime
    cleared_at: datetime | None


class ConflictDetail(ConflictOut):
    """What mission staff see besides: which operation or incident it is."""

    source_id: uuid.UUID


class NotificationOut(NotificationState):
    contact: ContactIn
    conflicts: list[ConflictDetail] | list[ConflictOut]
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    total: int
    limit: int
    offset: int
