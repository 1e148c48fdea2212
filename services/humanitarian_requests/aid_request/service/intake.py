"""Intake: a new request is classified and stored `submitted` with its
`aid_request.submitted` event, in the caller's transaction, and nothing else: triage (priority,
duplicate cluster) and the first offer follow in the triage worker (`triage/`), within
milliseconds of the commit, so a field unit's 201 waits for two rows and not for matching.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request import repository
from services.humanitarian_requests.aid_request.schemas import AidRequestIn
from services.humanitarian_requests.aid_request.service.visibility import full_view
from services.humanitarian_requests.common.events import record_transition
from services.humanitarian_requests.common.location import resolve_location
from services.humanitarian_requests.common.principals import actor_of, reporting_unit_of
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest
from shared.auth import Principal
from shared.classification import Classification, aid_request_floor, classify
from shared.events.schemas.humanitarian_requests import (
    AidRequestSubmitted,
    Fulfilment,
    RequestStatus,
)
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)


@dataclass(frozen=True)
class Intake:
    request: AidRequest
    created: bool  # False: the unit's client_id already existed (a duplicate submission)
    raised_from: Sensitivity | None = None  # the lower class the reporter asked for


def classification_of(data: AidRequestIn) -> Classification:
    """The request's class under the raise-only rule (shared.classification)."""
    floor = aid_request_floor(
        data.sector,
        names_survivor=data.names_survivor,
        involves_child=data.involves_child,
        vulnerability=[v.value for v in data.vulnerability],
        texts=[data.title, data.description, *(i.item for i in data.items)],
    )
    return classify(data.sensitivity, floor)


def response_window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.offer_response_seconds)


async def submit_request(
    session: AsyncSession,
    data: AidRequestIn,
    *,
    reporting_unit: str,
    actor: str,
    settings: Settings,
    now: datetime,
) -> Intake:
    """Store a new request for triage; an existing client_id returns the first one."""
    location = resolve_location(data.location)
    classification = classification_of(data)
    request_id = uuid.uuid4()
    values = dict(
        id=request_id,
        cluster_id=request_id,
        client_id=data.client_id,
        reporting_unit=reporting_unit,
        status=RequestStatus.submitted,
        sector=data.sector,
        urgency=data.urgency,
        sensitivity=classification.sensitivity,
        sensitivity_floor=classification.floor,
        sensitivity_reasons=list(classification.reasons),
        title=data.title,
        description=data.description,
        items=[{**i.model_dump(), "delivered_quantity": 0.0} for i in data.items],
        affected_population=data.affected_population.model_dump(),
        affected_total=data.affected_population.total,
        vulnerability=[v.value for v in data.vulnerability],
        lat=location.lat,
        lon=location.lon,
        pcode=location.pcode,
        admin1=location.admin1,
        access_constraints=data.access_constraints,
        security_constraints=data.security_constraints,
        contact=data.contact,
        priority_score=0.0,
        priority_overridden=False,
        offer_round=0,
        fulfilment=Fulfilment.none,
        ngo_visible=False,
        observed_at=data.observed_at or now,
        submitted_at=now,
        updated_at=now,
        version=1,
    )
    row = await repository.insert_unless_client_id_taken(session, values)
    if row is None:
        # The unit sent this client_id before (a retry), or a concurrent submission of it
        # committed first: the insert waited for that one and inserted nothing.
        existing = (
            await repository.find_by_client_id(session, reporting_unit, data.client_id)
            if data.client_id is not None
            else None
        )
        if existing is None:  # pragma: no cover - only a client_id conflicts, rows stay
            raise RuntimeError("the request holding this client_id could not be read")
        return Intake(existing, created=False)
    await record_transition(session, row, AidRequestSubmitted, actor=actor)
    log.info(
        "aid_request.submitted",
        request_id=str(row.id),
        unit=reporting_unit,
        sensitivity=row.sensitivity,
    )
    return Intake(row, created=True, raised_from=classification.raised_from)


@dataclass(frozen=True)
class Submitted:
    created: bool  # False: a duplicate submission of the unit's client_id
    view: dict[str, Any]  # the request as its submitter reads it


async def submit(
    session: AsyncSession,
    principal: Principal,
    data: AidRequestIn,
    *,
    settings: Settings,
    now: datetime,
) -> Submitted:
    """`submit_request` on behalf of the principal: its unit (or desk) reports, and it reads
    back the full view, saying when the class it asked for was raised."""
    intake = await submit_request(
        session,
        data,
        reporting_unit=reporting_unit_of(principal),
        actor=actor_of(principal),
        settings=settings,
        now=now,
    )
    view = full_view(intake.request, principal)
    if intake.raised_from is not None:
        view["sensitivity_raised_from"] = intake.raised_from.value
    return Submitted(created=intake.created, view=view)
