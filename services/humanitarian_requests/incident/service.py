"""Incident report use cases: intake (idempotent by client id), duplicate linking."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request.triage import find_incident_duplicate
from services.humanitarian_requests.common.location import resolve_location
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.db.models.tables import HistoryEntry, Incident
from services.humanitarian_requests.incident.schemas import IncidentIn
from shared.classification import (
    Classification,
    classify,
    incident_floor,
    reclassification_error,
)
from shared.errors import Unprocessable
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    IncidentReported,
    IncidentState,
    IncidentUpdated,
)
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)


@dataclass(frozen=True)
class IncidentIntake:
    incident: Incident
    created: bool
    raised_from: Sensitivity | None = None  # the lower class the reporter asked for


def incident_state(row: Incident) -> IncidentState:
    return IncidentState.model_validate(
        {
            "incident_id": row.id,
            "client_id": row.client_id,
            "incident_type": row.incident_type,
            "severity": row.severity,
            "sensitivity": row.sensitivity,
            "sensitivity_floor": row.sensitivity_floor,
            "sensitivity_reasons": row.sensitivity_reasons or [],
            "casualties": row.casualties,
            "occurred_at": row.occurred_at,
            "observed_at": row.observed_at,
            "location": {"lat": row.lat, "lon": row.lon, "pcode": row.pcode, "admin1": row.admin1},
            "reporting_unit": row.reporting_unit,
            "description": row.description,
            "cluster_id": row.cluster_id,
            "duplicate_of": row.duplicate_of,
            "reported_at": row.reported_at,
            "updated_at": row.updated_at,
            "version": row.version,
        }
    )


async def state_for(session: AsyncSession, row: Incident, *, unit: str | None) -> IncidentState:
    """The incident as `unit` may see it (None: mission staff, who see everything). A field
    unit's report that was clustered with another unit's restricted incident shows no link:
    its `cluster_id` is its own id and `duplicate_of` empty, so neither the restricted
    report's id nor the fact that one exists nearby is revealed."""
    state = incident_state(row)
    if unit is None:
        return state
    for target_id in {row.cluster_id, row.duplicate_of} - {None, row.id}:
        target = await session.get(Incident, target_id)
        if target is None or (
            target.reporting_unit != unit and target.sensitivity == Sensitivity.restricted
        ):
            return state.model_copy(update={"cluster_id": row.id, "duplicate_of": None})
    return state


def classification_of(data: IncidentIn) -> Classification:
    """The incident's class under the raise-only rule: protection incidents and reports
    naming a survivor or a child are never below restricted (shared.classification)."""
    floor = incident_floor(
        data.incident_type,
        names_survivor=data.names_survivor,
        involves_child=data.involves_child,
        texts=[data.description],
    )
    return classify(data.sensitivity, floor)


async def _record(
    session: AsyncSession, row: Incident, event: IncidentState, actor: str, detail: dict[str, Any]
) -> None:
    await outbox.add(session, event, subject=row.id)
    session.add(
        HistoryEntry(
            entity_id=row.id,
            entity_type="incident",
            event_type=CATALOG.for_model(type(event)).name,
            version=row.version,
            status=None,
            actor=actor,
            detail=detail,
            at=row.updated_at,
        )
    )


async def find_by_client_id(session: AsyncSession, unit: str, client_id: str) -> Incident | None:
    return (
        await session.execute(
            select(Incident).where(Incident.reporting_unit == unit, Incident.client_id == client_id)
        )
    ).scalar_one_or_none()


async def report_incident(
    session: AsyncSession,
    data: IncidentIn,
    *,
    reporting_unit: str,
    actor: str,
    settings: Settings,
    now: datetime,
) -> IncidentIntake:
    location = resolve_location(data.location)
    if data.client_id is not None:
        existing = await find_by_client_id(session, reporting_unit, data.client_id)
        if existing is not None:
            return IncidentIntake(existing, created=False)
    classification = classification_of(data)
    row = Incident(
        id=uuid.uuid4(),
        client_id=data.client_id,
        reporting_unit=reporting_unit,
        incident_type=data.incident_type,
        severity=data.severity,
        sensitivity=classification.sensitivity,
        sensitivity_floor=classification.floor,
        sensitivity_reasons=list(classification.reasons),
        casualties=data.casualties.model_dump(),
        occurred_at=data.occurred_at,
        observed_at=data.observed_at or now,
        lat=location.lat,
        lon=location.lon,
        pcode=location.pcode,
        admin1=location.admin1,
        description=data.description,
        reported_at=now,
        updated_at=now,
        version=1,
    )
    row.cluster_id = row.id
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        if data.client_id is None:
            raise
        existing = await find_by_client_id(session, reporting_unit, data.client_id)
        if existing is None:
            raise
        return IncidentIntake(existing, created=False)
    await _record(session, row, IncidentReported(**incident_state(row).model_dump()), actor, {})
    duplicate = await find_incident_duplicate(
        session,
        row,
        radius_km=settings.duplicate_radius_km,
        window=timedelta(hours=settings.duplicate_window_hours),
    )
    if duplicate is not None:
        await set_link(
            session, row, duplicate.cluster_id, reason="same type nearby", actor="system", now=now
        )
    log.info("incident.reported", incident_id=str(row.id), unit=reporting_unit)
    return IncidentIntake(row, created=True, raised_from=classification.raised_from)


async def set_link(
    session: AsyncSession,
    row: Incident,
    duplicate_of: uuid.UUID | None,
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    if duplicate_of is not None:
        if duplicate_of == row.id:
            raise Unprocessable("An incident cannot be a duplicate of itself")
        target = await session.get(Incident, duplicate_of)
        if target is None:
            raise Unprocessable(f"No incident {duplicate_of} to link to")
        row.duplicate_of = row.cluster_id = target.cluster_id
    else:
        row.duplicate_of = None
        row.cluster_id = row.id
    row.version += 1
    row.updated_at = now
    change = "duplicate_linked" if duplicate_of is not None else "duplicate_unlinked"
    event = IncidentUpdated(**incident_state(row).model_dump(), change=change, actor=actor)
    await _record(session, row, event, actor, {"change": change, "reason": reason})


async def reclassify(
    session: AsyncSession,
    row: Incident,
    *,
    sensitivity: Sensitivity,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    """Staff reclassification with a reason: an `incident.updated` event with
    `change="reclassified"` (its consumers keep their replicas' class in step) and a history
    row with the reason and the previous class."""
    previous = Sensitivity(row.sensitivity)
    floor = (
        Sensitivity(row.sensitivity_floor)
        if row.sensitivity_floor is not None
        else incident_floor(row.incident_type, texts=[row.description]).sensitivity
    )
    refusal = reclassification_error(sensitivity, current=previous, floor=floor)
    if refusal is not None:
        raise Unprocessable(refusal)
    row.sensitivity = sensitivity
    row.version += 1
    row.updated_at = now
    event = IncidentUpdated(**incident_state(row).model_dump(), change="reclassified", actor=actor)
    await _record(
        session,
        row,
        event,
        actor,
        {"change": "reclassified", "reason": reason, "previous": previous},
    )
    log.info("incident.reclassified", incident_id=str(row.id), sensitivity=sensitivity.value)


async def list_incidents(
    session: AsyncSession, *, reporting_unit: str | None, limit: int, offset: int
) -> Sequence[Incident]:
    query = select(Incident).order_by(Incident.reported_at.desc(), Incident.id)
    if reporting_unit is not None:
        query = query.where(Incident.reporting_unit == reporting_unit)
    return (await session.scalars(query.limit(limit).offset(offset))).all()
