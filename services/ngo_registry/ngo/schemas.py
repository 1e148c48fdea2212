"""HTTP shapes of NGO profiles: what officers send, what the directory and owners read."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.schemas.ngo_registry import (
    Capacity,
    NgoState,
    NgoType,
    OperatingPoint,
    PublishedSensitivity,
)
from shared.inputs import Code, StrictInput
from shared.numbers import Quantity, RadiusKm
from shared.vocabulary import Sector

COUNTRY_PATTERN = r"^[A-Z]{2}$"


class CapacityIn(Capacity, StrictInput):
    """A capacity as officers send it: a finite quantity within what one NGO can hold."""

    resource: str = Field(min_length=1, max_length=200)
    quantity: Quantity
    unit: str = Field(min_length=1, max_length=50)


class OperatingPointIn(OperatingPoint, StrictInput):
    """A point and a finite radius around it (no circle on Earth is wider than 20,000 km)."""

    radius_km: RadiusKm


class Contact(StrictInput):
    """A contact person: confidential, never in events or the public directory."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=50)


class RegistrationIn(StrictInput):
    """A national registration in one country of operation."""

    model_config = ConfigDict(extra="forbid")

    country: str = Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2")
    registration_number: str = Field(min_length=1, max_length=100)
    legal_status: str = Field(min_length=1, max_length=200)
    issued_on: date | None = None
    expires_on: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> RegistrationIn:
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            raise ValueError("expires_on must not be before issued_on")
        return self


class RegistrationOut(RegistrationIn):
    pass


class _ProfileFields(StrictInput):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    acronym: str | None = Field(None, max_length=50)
    ngo_type: NgoType
    hq_country: str = Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2")
    website: str | None = Field(None, max_length=500)
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    registrations: list[RegistrationIn] = Field(default_factory=list, max_length=50)
    sectors: list[Sector] = Field(min_length=1, max_length=len(Sector))
    capacities: list[CapacityIn] = Field(default_factory=list, max_length=100)
    operating_areas: list[Code] = Field(
        default_factory=list, max_length=200, description="P-codes from the mission gazetteer"
    )
    operating_points: list[OperatingPointIn] = Field(default_factory=list, max_length=100)
    languages: list[Code] = Field(default_factory=list, max_length=50)
    operational_approach: str | None = Field(None, max_length=10_000)
    sensitivity: PublishedSensitivity | None = Field(
        None,
        description="The profile's class: public (the default and the minimum) or internal; "
        "never restricted, since the profile is published on the NGO-readable topic",
    )


class NgoCreate(_ProfileFields):
    """A new NGO. It starts its vetting at `submitted`."""

    ngo_id: uuid.UUID | None = Field(None, description="Supply your own id to retry safely")


class NgoUpdate(StrictInput):
    """A partial update: only the fields sent change. Send `If-Match` with the ETag read."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=300)
    acronym: str | None = Field(None, max_length=50)
    ngo_type: NgoType | None = None
    hq_country: str | None = Field(None, pattern=COUNTRY_PATTERN)
    website: str | None = Field(None, max_length=500)
    contacts: list[Contact] | None = Field(None, max_length=50)
    registrations: list[RegistrationIn] | None = Field(None, max_length=50)
    sectors: list[Sector] | None = Field(None, min_length=1, max_length=len(Sector))
    capacities: list[CapacityIn] | None = Field(None, max_length=100)
    operating_areas: list[Code] | None = Field(None, max_length=200)
    operating_points: list[OperatingPointIn] | None = Field(None, max_length=100)
    languages: list[Code] | None = Field(None, max_length=50)
    operational_approach: str | None = Field(None, max_length=10_000)
    sensitivity: PublishedSensitivity | None = Field(
        None, description="public or internal (never below the profile's minimum, public)"
    )


class NgoPublic(NgoState):
    """The public directory entry: exactly what the NGO topic carries, plus the approach.
    Its operating points are the coarsened ones (`operating_points_grid_degrees`)."""

    operational_approach: str | None = None


class NgoPrivate(NgoPublic):
    """The full profile, for mission staff and the NGO itself: contacts, registrations and
    the exact operating points (`operating_points_grid_degrees` null)."""

    sensitivity_floor: PublishedSensitivity = Field(
        PublishedSensitivity.public, description="The profile's derived minimum class"
    )
    sensitivity_reasons: list[str] = Field(default_factory=list)
    sensitivity_raised_from: PublishedSensitivity | None = Field(
        None, description="The lower class that was asked for, if it was raised"
    )

    contacts: list[Contact]
    registrations: list[RegistrationOut]
    created_at: datetime


class NgoPage(BaseModel):
    items: list[NgoPublic]
    total: int
    limit: int
    offset: int
