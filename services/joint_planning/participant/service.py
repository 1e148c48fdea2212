"""Participants of operations: who joins with which role, and who may implement.

Only an NGO the registry says is eligible for one of the operation's sectors in all of its
areas may be an implementing participant (422 otherwise). When the registry's events later
take that eligibility away, the NGO is removed from the operations it implements, with an
event naming the reason (`remove_ineligible`, run by the replica's consumer).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.principals import SYSTEM, actor_of
from services.joint_planning.db.models.operations import Operation, Participant
from services.joint_planning.deconfliction.geometry import polygon_counties
from services.joint_planning.deconfliction.service import Rules, recheck_for_operation
from services.joint_planning.eligibility import repository as eligibility
from services.joint_planning.eligibility.rules import covering_sectors, why_not
from services.joint_planning.operation import repository
from services.joint_planning.operation.errors import (
    IneligibleParticipant,
    InvalidParticipant,
    OperationClosed,
)
from services.joint_planning.operation.projection import publish
from services.joint_planning.operation.schemas import ParticipantIn
from services.joint_planning.operation.state import CLOSED, LIVE
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.events.schemas.joint_planning import (
    OperationParticipantAdded,
    OperationParticipantRemoved,
    OperationStatus,
    ParticipantKind,
    ParticipantRole,
)
from shared.logging import get_logger

log = get_logger(__name__)


def utc_today() -> date:
    return datetime.now(UTC).date()


class ParticipantOwnsTasks(Conflict):
    problem_type = "participant-owns-tasks"
    title = "The participant still owns unfinished tasks"


def areas_of(operation: Operation) -> list[str]:
    """What an implementer must cover: the operation's P-code areas and the counties its
    polygons reach."""
    return list(dict.fromkeys([*operation.areas, *polygon_counties(operation.polygons)]))


async def enrol(session: AsyncSession, operation: Operation, body: ParticipantIn) -> Participant:
    """Validate and add one participant (no event: the caller publishes the operation)."""
    current = await repository.participants_of(session, operation.id)
    if body.kind is ParticipantKind.ngo:
        assert body.ngo_id is not None
        if any(p.ngo_id == body.ngo_id for p in current):
            raise Conflict(f"NGO {body.ngo_id} already takes part in this operation")
        replica = await eligibility.get(session, body.ngo_id)
        if replica is None:
            raise InvalidParticipant(
                f"ngo_id: no NGO {body.ngo_id} is known from the registry", field="ngo_id"
            )
        if body.role is ParticipantRole.implementing and not covering_sectors(
            replica, operation.sectors, areas_of(operation), utc_today()
        ):
            raise IneligibleParticipant(
                f"{replica.name} may not implement this operation: "
                f"{why_not(replica, operation.sectors, areas_of(operation))}",
                ngo_id=str(body.ngo_id),
                sectors=list(operation.sectors),
                areas=areas_of(operation),
            )
        name = body.name or replica.name
    else:
        assert body.component is not None and body.name is not None
        if any(p.component == body.component and p.name == body.name for p in current):
            raise Conflict(f"{body.name} already takes part in this operation")
        name = body.name
    participant = Participant(
        id=uuid.uuid4(),
        operation_id=operation.id,
        kind=body.kind,
        ngo_id=body.ngo_id,
        component=body.component,
        name=name,
        role=body.role,
        responsibilities=list(body.responsibilities),
        added_at=datetime.now(UTC),
        removed_at=None,
        removal_reason=None,
    )
    session.add(participant)
    await session.flush()
    return participant


async def add_participant(
    session: AsyncSession,
    principal: Principal,
    operation: Operation,
    body: ParticipantIn,
    rules: Rules,
) -> Participant:
    """Add a participant to a locked, open operation and publish it."""
    if operation.status in CLOSED:
        raise OperationClosed(f"Operation {operation.id} is {operation.status}")
    participant = await enrol(session, operation, body)
    await publish(
        session,
        operation,
        OperationParticipantAdded,
        actor=actor_of(principal),
        participant_id=participant.id,
        detail={"participant_id": str(participant.id), "role": participant.role},
    )
    if participant.ngo_id is not None and operation.status in LIVE:
        # The NGO now knows of this operation: its own movements stop conflicting with it.
        await recheck_for_operation(session, operation, rules, previous_areas=[])
    return participant


async def _remove(
    session: AsyncSession,
    operation: Operation,
    participant: Participant,
    *,
    actor: str,
    reason: str,
    rules: Rules,
) -> None:
    participant.removed_at = datetime.now(UTC)
    participant.removal_reason = reason
    await publish(
        session,
        operation,
        OperationParticipantRemoved,
        actor=actor,
        participant_id=participant.id,
        ngo_id=participant.ngo_id,
        reason=reason,
        detail={"participant_id": str(participant.id), "reason": reason},
    )
    if participant.ngo_id is not None and operation.status in LIVE:
        await recheck_for_operation(session, operation, rules, previous_areas=[])


async def remove_participant(
    session: AsyncSession,
    principal: Principal,
    operation: Operation,
    participant_id: uuid.UUID,
    reason: str,
    rules: Rules,
) -> None:
    if operation.status in CLOSED:
        raise OperationClosed(f"Operation {operation.id} is {operation.status}")
    participant = await repository.participant(session, operation.id, participant_id)
    if participant is None:
        raise NotFound(f"No participant {participant_id} in operation {operation.id}")
    owned = await repository.count_open_tasks_owned_by(session, participant.id)
    if owned:
        raise ParticipantOwnsTasks(
            f"{participant.name} owns {owned} unfinished task(s): give them another owner first",
            open_tasks=owned,
        )
    await _remove(
        session, operation, participant, actor=actor_of(principal), reason=reason, rules=rules
    )


async def check_implementers_still_eligible(session: AsyncSession, operation: Operation) -> None:
    """422 if new sectors or areas would leave an implementing NGO without eligibility."""
    for participant in await repository.participants_of(session, operation.id):
        if participant.role != ParticipantRole.implementing or participant.ngo_id is None:
            continue
        replica = await eligibility.get(session, participant.ngo_id)
        if not covering_sectors(replica, operation.sectors, areas_of(operation), utc_today()):
            raise IneligibleParticipant(
                f"{participant.name} could no longer implement this operation: "
                f"{why_not(replica, operation.sectors, areas_of(operation))}",
                participant_id=str(participant.id),
            )


async def remove_ineligible(
    session: AsyncSession, ngo_id: uuid.UUID, rules: Rules, *, today: date | None = None
) -> int:
    """Remove the NGO from every open operation it implements but may no longer implement.
    Operations are locked in id order (the rows come sorted) so two runs cannot deadlock."""
    today = today or utc_today()
    replica = await eligibility.get(session, ngo_id)
    removed = 0
    open_statuses = [s for s in OperationStatus if s not in CLOSED]
    for held in await repository.operations_of_ngo(
        session, ngo_id, role=ParticipantRole.implementing, statuses=open_statuses
    ):
        operation = await repository.get(session, held.operation_id, lock=True)
        if operation is None or operation.status in CLOSED:
            continue
        if covering_sectors(replica, operation.sectors, areas_of(operation), today):
            continue
        reason = f"lost eligibility: {why_not(replica, operation.sectors, areas_of(operation))}"
        await _remove(session, operation, held, actor=SYSTEM, reason=reason, rules=rules)
        removed += 1
        log.info(
            "participant.removed_ineligible",
            operation_id=str(operation.id),
            ngo_id=str(ngo_id),
        )
    return removed
