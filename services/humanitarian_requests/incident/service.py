"""Incident report use cases: intake (idempotent by client id), duplicate linking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.access.service import record_restricted_reads
from services.humanitarian_requests.aid_request.repository import history_of
from services.humanitarian_requests.aid_request.schemas import HistoryView
from services.humanitarian_requests.aid_request.triage import find_incident_duplicate
from services.humanitarian_requests.common.errors import (
    ReclassificationRefused,
    SelfLink,
    UnknownLinkTarget,
)
from services.humanitarian_requests.common.location import resolve_location
from services.humanitarian_requests.common.need_to_know import served_in_full, withhold
from services.humanitarian_requests.common.principals import actor_of, reporting_unit_of
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import outbox
from services.humanitarian_requests.db.models.tables import HistoryEntry, Incident
from services.humanitarian_requests.incident import repository
from services.humanitarian_requests.incident.errors import IncidentNotFound
from services.humanitarian_requests.incident.schemas import IncidentIn, IncidentView
from shared.auth import Principal
from shared.classification import (
    Classification,
    classify,
    incident_floor,
    reclassification_error,
)
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
    for target_id in {t for t in (row.cluster_id, row.duplicate_of) if t is not None} - {row.id}:
        target = await repository.get(session, target_id)
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
        existing = await repository.find_by_client_id(session, reporting_unit, data.client_id)
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
        existing = await repository.find_by_client_id(session, reporting_unit, data.client_id)
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
            raise SelfLink("An incident cannot be a duplicate of itself")
        target = await repository.get(session, duplicate_of)
        if target is None:
            raise UnknownLinkTarget(f"No incident {duplicate_of} to link to")
        row.duplicate_of = row.cluster_id = target.cluster_id
    else:
        row.duplicate_of = None
        row.cluster_id = row.id
    row.version += 1
    row.updated_at = now
    change = "duplicate_linked" if duplicate_of is not None else "duplicate_unlinked"
    event = IncidentUpdated(**incident_state(row).model_dump(), change=change, actor=actor)
    await _record(session, row, event, actor, {"change": change, "reason": reason})


async def _reclassify(
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
        raise ReclassificationRefused(refusal)
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


async def restrict_exposed(
    session: AsyncSession, incident_id: uuid.UUID, *, reason: str, actor: str, now: datetime
) -> bool:
    """An incident named by a contained data incident becomes restricted (the system's
    reclassification, `data_incident/service.py`). False when there is no such incident or it
    already is restricted."""
    row = await repository.get(session, incident_id, for_update=True)
    if row is None or row.sensitivity == Sensitivity.restricted.value:
        return False
    await _reclassify(
        session, row, sensitivity=Sensitivity.restricted, reason=reason, actor=actor, now=now
    )
    return True


def view(row: Incident, principal: Principal, *, purpose_given: bool = True) -> dict[str, Any]:
    """The incident, coarsened for staff not entitled to a restricted one's details."""
    state = incident_state(row).model_dump(mode="json")
    return withhold(principal, state, purpose_given=purpose_given)


async def view_for(
    session: AsyncSession, principal: Principal, row: Incident, *, purpose_given: bool = True
) -> dict[str, Any]:
    """What this principal may see of the incident: links to another unit's restricted
    incident hidden from field units, and a restricted one's details coarsened for staff not
    entitled to them."""
    unit = None if principal.is_staff else principal.unit_id
    state = await state_for(session, row, unit=unit)
    return withhold(principal, state.model_dump(mode="json"), purpose_given=purpose_given)


async def record_full_reads(
    session: AsyncSession,
    principal: Principal,
    views: list[dict[str, Any]],
    *,
    route: str,
    purpose: str | None,
    now: datetime,
) -> None:
    """Log each restricted incident of `views` this principal was served in full."""
    await record_restricted_reads(
        session,
        principal,
        entity_type="incident",
        entity_ids=[uuid.UUID(v["incident_id"]) for v in views if served_in_full(principal, v)],
        route=route,
        purpose=purpose,
        now=now,
    )


async def visible_incident(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, *, lock: bool = False
) -> Incident:
    """The incident if this principal may see it (its unit, or staff); 404 otherwise."""
    row = await repository.get(session, incident_id, for_update=lock)
    if row is None or (not principal.is_staff and row.reporting_unit != principal.unit_id):
        raise IncidentNotFound(f"No incident {incident_id}")
    return row


@dataclass(frozen=True)
class Reported:
    created: bool  # False: a duplicate report of the unit's client_id
    view: dict[str, Any]  # the incident as its reporter reads it


async def report(
    session: AsyncSession,
    principal: Principal,
    data: IncidentIn,
    *,
    settings: Settings,
    now: datetime,
) -> Reported:
    """`report_incident` on behalf of the principal, read back as the principal sees it."""
    intake = await report_incident(
        session,
        data,
        reporting_unit=reporting_unit_of(principal),
        actor=actor_of(principal),
        settings=settings,
        now=now,
    )
    shown = await view_for(session, principal, intake.incident)
    if intake.raised_from is not None:
        shown["sensitivity_raised_from"] = intake.raised_from.value
    return Reported(created=intake.created, view=shown)


async def list_for_principal(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    purpose: str | None,
    now: datetime,
) -> list[IncidentView]:
    """A field unit's own incidents, or all for staff; newest first. Restricted ones in
    full only for entitled roles that give a `purpose` (each such read is logged)."""
    unit = None if principal.is_staff else principal.unit_id
    rows = await repository.list_incidents(session, reporting_unit=unit, limit=limit, offset=offset)
    views = [await view_for(session, principal, r, purpose_given=purpose is not None) for r in rows]
    await record_full_reads(
        session, principal, views, route="GET /incidents", purpose=purpose, now=now
    )
    return [IncidentView.model_validate(v) for v in views]


async def read_incident(
    session: AsyncSession,
    principal: Principal,
    incident_id: uuid.UUID,
    *,
    purpose: str | None,
    now: datetime,
) -> IncidentView:
    """One incident as the principal may read it; a restricted one read in full is logged."""
    shown = await view_for(
        session, principal, await visible_incident(session, principal, incident_id)
    )
    await record_full_reads(
        session,
        principal,
        [shown],
        route="GET /incidents/{incident_id}",
        purpose=purpose,
        now=now,
    )
    return IncidentView.model_validate(shown)


async def incident_history(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID
) -> list[HistoryView]:
    """Every change of the incident report, oldest first."""
    await visible_incident(session, principal, incident_id)
    return [
        HistoryView.model_validate(h, from_attributes=True)
        for h in await history_of(session, incident_id)
    ]


async def link(
    session: AsyncSession,
    principal: Principal,
    incident_id: uuid.UUID,
    *,
    duplicate_of: uuid.UUID | None,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Staff link the incident to another's cluster, or unlink it, with a reason."""
    row = await visible_incident(session, principal, incident_id, lock=True)
    await set_link(session, row, duplicate_of, reason=reason, actor=actor_of(principal), now=now)
    return view(row, principal)


async def reclassify(
    session: AsyncSession,
    principal: Principal,
    incident_id: uuid.UUID,
    *,
    sensitivity: Sensitivity,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Staff change the incident's sensitivity with a reason (`_reclassify`)."""
    row = await visible_incident(session, principal, incident_id, lock=True)
    await _reclassify(
        session, row, sensitivity=sensitivity, reason=reason, actor=actor_of(principal), now=now
    )
    return view(row, principal)
