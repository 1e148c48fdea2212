"""HTTP shapes of the dashboard's data API, so its OpenAPI document shows every response.

Times read from the replica tables are ISO 8601 strings exactly as the read model holds
them (`str`); dates are `date`. Fields that only some rows carry (`details_withheld`) are
left out of the others: the routes answer with `response_model_exclude_unset`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field


class Kpis(BaseModel):
    """Headline figures of the whole mission."""

    requests_total: int
    requests_open: int
    requests_in_delivery: int
    requests_fulfilled: int
    requests_escalated: int
    people_in_open_requests: int
    people_reached: int
    alerts_open: int
    alerts_breached: int
    alerts_warning: int
    incidents_last_7_days: int
    eligible_ngos: int
    conflicts_open: int = Field(description="From joint planning: open deconfliction conflicts")
    tasks_overdue: int
    milestones_missed: int
    operations_live: int = Field(description="Planned or active operations")
    by_status: dict[str, int]


class StageTiming(BaseModel):
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


class Funnel(BaseModel):
    statuses: dict[str, int] = Field(description="Requests per status")
    group_by: str = Field(description="`sector`, `pcode`, `urgency`, or `all`")
    timings: dict[str, dict[str, StageTiming]] = Field(
        description="Per group (or `all`), per stage: seconds from submission"
    )


class GapCell(BaseModel):
    sector: str
    pcode: str
    area_name: str
    open_requests: int
    people_in_need: int
    eligible_ngos: int
    ngos: list[str] = Field(description="Names of the eligible NGOs present")
    capacity: dict[str, float] = Field(description="Their declared capacity per resource")
    unmet_per_ngo: float


class CoverageGaps(BaseModel):
    level: int
    total_cells: int
    gaps: list[GapCell]


class Hotspot(BaseModel):
    pcode: str
    area_name: str
    adm1: str | None
    current: int = Field(description="Incidents in the last `days`")
    previous: int = Field(description="Incidents in the `days` before")
    trend: Literal["up", "down", "flat"]
    high_risk: bool


class Contribution(BaseModel):
    ngo_id: uuid.UUID
    name: str
    acronym: str | None
    offers: int
    accepted: int
    declined: int
    acceptance_rate: float | None
    fulfilled: int
    fulfilled_on_time: int
    on_time_rate: float | None
    people_reached: int


class ReportPeriod(BaseModel):
    due_on: date
    state: Literal["reported", "due", "overdue"]


class ObligationCompliance(BaseModel):
    what: str
    frequency_days: int
    reports_due_so_far: int
    reports_received: int
    reports_overdue: int
    overdue_since: date | None
    periods: list[ReportPeriod]
    last_due_on: date | None
    next_due_on: date | None


class AgreementCompliance(BaseModel):
    agreement_id: uuid.UUID
    title: str
    ngo_ids: list[str]
    ends_on: date
    days_left: int
    obligations: list[ObligationCompliance]
    reports_due_so_far: int
    reports_received: int
    reports_overdue: int
    next_due_on: date | None


class Alert(BaseModel):
    alert_id: uuid.UUID
    version: int
    request_id: uuid.UUID
    stage: str
    urgency: str
    sector: str | None
    pcode: str | None
    level: str = Field(description="`warning` or `breach`")
    escalation_level: int
    escalate_to: list[str]
    due_at: str
    raised_at: str
    cleared_at: str | None
    resolution: str | None
    sensitivity: str = Field(
        "internal", description="The request's class; `restricted` alerts are coarsened"
    )
    details_withheld: bool | None = Field(
        None,
        description="A restricted request's alert placed in its state (admin1) only: served "
        "in full only to an entitled reader who gives a `purpose`",
    )


class MonitoredRequest(BaseModel):
    """A request as monitoring's replica holds it (coarsened if restricted and the reader
    may not see it)."""

    request_id: uuid.UUID
    version: int
    status: str
    sector: str
    pcode: str
    adm1: str | None
    urgency: str
    sensitivity: str
    title: str | None
    lat: float | None
    lon: float | None
    people_affected: int
    people_reached: int
    ngo_id: uuid.UUID | None
    created_at: str
    triaged_at: str | None
    offered_at: str | None
    accepted_at: str | None
    fulfilled_at: str | None
    closed_at: str | None
    updated_at: str
    details_withheld: bool = Field(False, description="Present (true) only when coarsened")


class RequestHistoryEntry(BaseModel):
    position: int
    request_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    occurred_at: str
    status: str | None
    summary: dict[str, Any]


class RequestDetail(BaseModel):
    request: MonitoredRequest
    history: list[RequestHistoryEntry]
    alerts: list[Alert]


class MapArea(BaseModel):
    pcode: str
    name: str
    level: int
    parent: str | None
    lat: float
    lon: float
    ngos: int
    open_requests: int
    people: int


class MapIncident(BaseModel):
    incident_id: uuid.UUID
    version: int
    pcode: str
    category: str | None
    severity: str | None
    sensitivity: str
    lat: float | None
    lon: float | None
    occurred_on: date
    duplicate: bool
    title: str | None
    details_withheld: bool = Field(False, description="Present (true) only when coarsened")


class MapLayers(BaseModel):
    bounds: dict[str, float]
    areas: list[MapArea]
    requests: list[MonitoredRequest]
    incidents: list[MapIncident]


class LiveTicket(BaseModel):
    ticket: str = Field(description="Opens `GET /api/live?ticket=…` once")
    expires_in: int = Field(description="Seconds the ticket stays valid")
