"""Containment of a data incident, the requests service's part: what was exposed stops being
shared.

The registry holds the workflow (`services/ngo_registry/data_incident/`); its containment
step suspends the NGOs that received the records, and its `data_incident.contained.v1` names
the records. Here each aid request and incident among them that this service holds becomes
restricted, as a staff reclassification would make it: a request leaves every NGO listing
with a retraction on the NGO-readable topic (`open_request.retracted`, which NGO consumers
act on), its offers follow (`offer.reclassified`, the addressed NGO reads the coarse summary
only), and the `reclassified` events are the audit, their reason naming the data incident.

Raise only: a record already restricted is left as it is, so a repeated containment (the
workflow allows it) or a redelivered event changes nothing. A record this service does not
hold, or another kind (an offer, an NGO, an export, an operation), is not this service's to
restrict; an id that is not a UUID names nothing here. Both are logged and skipped: the
event is well-formed, its records are free-form.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request.service.reclassification import (
    restrict_exposed as restrict_request,
)
from services.humanitarian_requests.incident.service import (
    restrict_exposed as restrict_incident,
)
from services.humanitarian_requests.matching.service import SYSTEM
from shared.events.schemas.ngo_registry import DataIncidentState
from shared.logging import get_logger

log = get_logger(__name__)

RESTRICTERS = {"aid_request": restrict_request, "incident": restrict_incident}
"""The kinds of exposed record this service holds, and how each is restricted."""


@dataclass(frozen=True)
class Contained:
    restricted: int  # records of this service made restricted by this containment
    skipped: int  # records not held here, of another kind, or already restricted


def reason_of(incident: DataIncidentState) -> str:
    return f"data incident {incident.incident_id} contained by {incident.actor}"


async def contain(
    session: AsyncSession, incident: DataIncidentState, *, now: datetime
) -> Contained:
    """Restrict every record of the incident this service holds, in the caller's
    transaction (the inbox's: the whole containment applies once, or not at all)."""
    restricted = skipped = 0
    reason = reason_of(incident)
    for record in incident.records:
        restrict = RESTRICTERS.get(record.kind)
        try:
            record_id = uuid.UUID(record.id)
        except ValueError:
            restrict = None
        if restrict is None or not await restrict(
            session, record_id, reason=reason, actor=SYSTEM, now=now
        ):
            skipped += 1
            continue
        restricted += 1
    log.info(
        "data_incident.contained",
        incident_id=str(incident.incident_id),
        restricted=restricted,
        skipped=skipped,
    )
    return Contained(restricted=restricted, skipped=skipped)
