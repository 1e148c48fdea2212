"""An operation's class: its derived minimum, re-derived on every change, and raise-only.

The minimum (`shared.classification.operation_floor`) depends on the sectors, the title and
objectives, and whether a linked incident is restricted in this service's incident replica.
It is re-derived whenever the operation is published, so linking a restricted incident or
adding the GBV sector raises the operation at once, in the same transaction; the replica's
consumer raises the operations linking an incident that arrives, or turns, restricted.
Nothing ever lowers the class by itself: only staff, with a reason, and never below the
minimum.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.operations import Operation
from services.joint_planning.db.models.replicas import IncidentReplica
from shared.classification import Floor, is_below, operation_floor
from shared.vocabulary import Sensitivity


async def derive_floor(session: AsyncSession, operation: Operation) -> Floor:
    """The operation's minimum as it is now."""
    restricted_ids: list[str] = []
    if operation.linked_incident_ids:
        query = select(IncidentReplica.incident_id).where(
            IncidentReplica.incident_id.in_(operation.linked_incident_ids),
            IncidentReplica.sensitivity == Sensitivity.restricted,
        )
        found = {str(i) for i in (await session.scalars(query)).all()}
        restricted_ids = [str(i) for i in operation.linked_incident_ids if str(i) in found]
    return operation_floor(
        operation.sectors,
        restricted_incident_ids=restricted_ids,
        texts=[operation.title, *operation.objectives],
    )


def apply_floor(operation: Operation, floor: Floor) -> Sensitivity | None:
    """Store the minimum and its reasons; raise the class to it if below. The class it had
    when it was raised, else None."""
    operation.sensitivity_floor = floor.sensitivity
    operation.sensitivity_reasons = list(floor.reasons)
    current = operation.sensitivity
    if is_below(current, floor.sensitivity):
        operation.sensitivity = floor.sensitivity
        return current
    return None
