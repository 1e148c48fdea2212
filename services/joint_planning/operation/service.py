"""Use cases on joint operations: draft, amend, move through the lifecycle, link.

Every change to a live (planned or active) operation, and every move into or out of live,
re-checks the notifications it may touch and looks for overlapping operations, in the same
transaction as the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.areas import check_pcodes
from services.joint_planning.common.principals import SYSTEM, actor_of, is_ngo
from services.joint_planning.db.models.operations import Operation
from services.joint_planning.deconfliction.geometry import Polygon
from services.joint_planning.deconfliction.service import Rules, recheck_for_operation
from services.joint_planning.operation import repository
from services.joint_planning.operation.classification import derive_floor
from services.joint_planning.operation.errors import (
    IllegalOperationTransition,
    LeadRequired,
    OperationClosed,
    ReclassificationRefused,
)
from services.joint_planning.operation.projection import publish, to_state
from services.joint_planning.operation.schemas import (
    HistoryOut,
    LinksChange,
    OperationCreate,
    OperationOut,
    OperationPage,
    OperationUpdate,
    Reclassification,
    StatusChange,
)
from services.joint_planning.operation.state import CLOSED, LIVE, allowed
from services.joint_planning.overlap.service import detect_overlaps
from services.joint_planning.participant import service as participants
from shared.auth import Principal
from shared.classification import classify, reclassification_error
from shared.errors import NotFound, Unprocessable
from shared.events.schemas.joint_planning import (
    OperationCreated,
    OperationLinksChanged,
    OperationStatus,
    OperationStatusChanged,
    OperationUpdated,
    ParticipantRole,
)
from shared.http import check_if_match
from shared.logging import get_logger
from shared.vocabulary import Sensitivity

log = get_logger(__name__)

WITHHELD = "withheld"


async def load_for(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID, *, lock: bool = False
) -> Operation:
    """The operation if this principal may see it: staff, or an NGO taking part (else 404)."""
    operation = await repository.get(session, operation_id, lock=lock)
    if operation is None or (
        is_ngo(principal)
        and principal.ngo_id is not None
        and not await repository.is_participant(session, operation_id, principal.ngo_id)
    ):
        raise NotFound(f"No operation {operation_id}")
    return operation


async def view(
    session: AsyncSession,
    principal: Principal,
    operation: Operation,
    *,
    raised_from: Sensitivity | None = None,
) -> OperationOut:
    """The operation as this principal may read it. An NGO does not see what the security
    participants are responsible for: that is military detail beyond what it needs.

    A restricted operation is shown in full to staff (they plan it) and to the NGOs taking
    part (they need to know what they work in); it is on no topic an NGO can read."""
    state = to_state(operation, await repository.participants_of(session, operation.id))
    if is_ngo(principal):
        for participant in state.participants:
            if participant.role is ParticipantRole.security:
                participant.responsibilities = [WITHHELD]
    return OperationOut(
        **state.model_dump(), created_at=operation.created_at, sensitivity_raised_from=raised_from
    )


def _polygons(polygons: list[list[list[tuple[float, float]]]]) -> list[Polygon]:
    """As stored and published: positions as [lon, lat] lists."""
    return [[[[lon, lat] for lon, lat in ring] for ring in rings] for rings in polygons]


def _ensure_open(operation: Operation) -> None:
    if operation.status in CLOSED:
        raise OperationClosed(
            f"Operation {operation.id} is {operation.status}", current_status=operation.status
        )


async def after_change(
    session: AsyncSession,
    operation: Operation,
    rules: Rules,
    *,
    was_live: bool,
    previous_areas: list[str],
    previous_polygons: list[Polygon] | None = None,
) -> None:
    """Deconfliction and overlap detection for an operation that changed."""
    live = operation.status in LIVE
    if live or was_live:
        await recheck_for_operation(
            session,
            operation,
            rules,
            previous_areas=previous_areas,
            previous_polygons=previous_polygons or [],
        )
    if live:
        await detect_overlaps(session, operation)


async def create_operation(
    session: AsyncSession, principal: Principal, body: OperationCreate
) -> tuple[Operation, Sensitivity | None]:
    """The new draft, and the class that was asked for if it was raised to the minimum."""
    areas = check_pcodes(body.areas, "areas")
    now = datetime.now(UTC)
    operation = Operation(
        id=body.operation_id or uuid.uuid4(),
        title=body.title,
        objectives=list(body.objectives),
        sectors=list(dict.fromkeys(s.value for s in body.sectors)),
        areas=areas,
        polygons=_polygons(body.polygons),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        status=OperationStatus.draft,
        linked_request_ids=list(dict.fromkeys(body.linked_request_ids)),
        linked_incident_ids=list(dict.fromkeys(body.linked_incident_ids)),
        created_by=actor_of(principal),
        version=0,
        created_at=now,
        updated_at=now,
    )
    classification = classify(body.sensitivity, await derive_floor(session, operation))
    operation.sensitivity = classification.sensitivity
    if await repository.get(session, operation.id) is not None:
        raise Unprocessable(f"operation_id {operation.id} is already taken", field="operation_id")
    session.add(operation)
    await session.flush()
    for participant in body.participants:
        await participants.enrol(session, operation, participant)
    await publish(session, operation, OperationCreated, actor=actor_of(principal))
    log.info(
        "operation.created",
        operation_id=str(operation.id),
        by=principal.subject,
        sensitivity=operation.sensitivity,
    )
    return operation, classification.raised_from


async def _check_tasks_fit(session: AsyncSession, operation: Operation) -> None:
    late = await repository.count_open_tasks_due_after(session, operation.id, operation.ends_at)
    if late:
        raise Unprocessable(
            f"ends_at: {late} unfinished task(s) are due after the new end; move them first",
            field="ends_at",
        )


async def update_operation(
    session: AsyncSession,
    principal: Principal,
    operation_id: uuid.UUID,
    body: OperationUpdate,
    if_match: str | None,
    rules: Rules,
) -> Operation:
    operation = await load_for(session, principal, operation_id, lock=True)
    check_if_match(if_match, operation.version)
    _ensure_open(operation)
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "sectors", "areas", "polygons", "starts_at", "ends_at", "objectives"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be removed", field=required)
    previous_areas = list(operation.areas)
    previous_polygons = list(operation.polygons)
    if body.title is not None:
        operation.title = body.title
    if body.objectives is not None:
        operation.objectives = list(body.objectives)
    if body.sectors is not None:
        operation.sectors = list(dict.fromkeys(s.value for s in body.sectors))
    if body.areas is not None:
        operation.areas = check_pcodes(body.areas, "areas")
    if body.polygons is not None:
        operation.polygons = _polygons(body.polygons)
    if not operation.areas and not operation.polygons:
        raise Unprocessable("an operation needs areas (P-codes) or polygons", field="areas")
    if body.starts_at is not None:
        operation.starts_at = body.starts_at
    if body.ends_at is not None:
        operation.ends_at = body.ends_at
    if operation.ends_at <= operation.starts_at:
        raise Unprocessable("ends_at must be after starts_at", field="ends_at")
    if "ends_at" in changes:
        await _check_tasks_fit(session, operation)
    if {"sectors", "areas", "polygons"} & set(changes):
        await participants.check_implementers_still_eligible(session, operation)
    await publish(
        session,
        operation,
        OperationUpdated,
        actor=actor_of(principal),
        changed=sorted(changes),
        detail={"changed": sorted(changes)},
    )
    live = operation.status in LIVE
    await after_change(
        session,
        operation,
        rules,
        was_live=live,
        previous_areas=previous_areas,
        previous_polygons=previous_polygons,
    )
    return operation


async def change_status(
    session: AsyncSession,
    principal: Principal,
    operation_id: uuid.UUID,
    body: StatusChange,
    if_match: str | None,
    rules: Rules,
) -> Operation:
    operation = await load_for(session, principal, operation_id, lock=True)
    check_if_match(if_match, operation.version)
    current = operation.status
    if not allowed(current, body.status):
        raise IllegalOperationTransition(
            f"An operation cannot go from {current} to {body.status}",
            current_status=current.value,
            requested=body.status.value,
        )
    if body.status is OperationStatus.planned:
        roles = {p.role for p in await repository.participants_of(session, operation.id)}
        if ParticipantRole.lead not in roles:
            raise LeadRequired("Add a lead participant before planning the operation")
    operation.status = body.status
    await publish(
        session,
        operation,
        OperationStatusChanged,
        actor=actor_of(principal),
        previous_status=current,
        reason=body.reason,
        detail={"from": current.value, "reason": body.reason},
    )
    await after_change(
        session, operation, rules, was_live=current in LIVE, previous_areas=list(operation.areas)
    )
    log.info("operation.status_changed", operation_id=str(operation.id), to=operation.status)
    return operation


async def change_links(
    session: AsyncSession,
    principal: Principal,
    operation_id: uuid.UUID,
    body: LinksChange,
    if_match: str | None,
) -> Operation:
    operation = await load_for(session, principal, operation_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, operation.version)
    _ensure_open(operation)
    requests = [r for r in operation.linked_request_ids if r not in set(body.remove_request_ids)]
    incidents = [i for i in operation.linked_incident_ids if i not in set(body.remove_incident_ids)]
    operation.linked_request_ids = list(dict.fromkeys([*requests, *body.add_request_ids]))
    operation.linked_incident_ids = list(dict.fromkeys([*incidents, *body.add_incident_ids]))
    await publish(
        session,
        operation,
        OperationLinksChanged,
        actor=actor_of(principal),
        detail=body.model_dump(mode="json"),
    )
    return operation


async def reclassify(
    session: AsyncSession,
    principal: Principal,
    operation_id: uuid.UUID,
    body: Reclassification,
    if_match: str | None,
) -> Operation:
    """Staff change the class with a reason: never below the minimum as it is now, never to
    the class it already has (422). A closed operation may still be reclassified (what it
    holds is still held). The audit is an `operation.updated` event with `changed:
    ["sensitivity"]`, the previous class and the reason, and its history row."""
    operation = await load_for(session, principal, operation_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, operation.version)
    current = operation.sensitivity
    floor = await derive_floor(session, operation)
    refused = reclassification_error(body.sensitivity, current=current, floor=floor.sensitivity)
    if refused is not None:
        raise ReclassificationRefused(
            refused,
            current_sensitivity=current.value,
            sensitivity_floor=floor.sensitivity.value,
            sensitivity_reasons=list(floor.reasons),
        )
    operation.sensitivity = body.sensitivity
    await publish(
        session,
        operation,
        OperationUpdated,
        actor=actor_of(principal),
        changed=["sensitivity"],
        previous_sensitivity=current,
        reason=body.reason,
        detail={"from": current.value, "to": body.sensitivity.value, "reason": body.reason},
    )
    log.info(
        "operation.reclassified",
        operation_id=str(operation.id),
        to=operation.sensitivity,
        by=principal.subject,
    )
    return operation


LINKED_RESTRICTED_INCIDENT = "a linked incident is restricted"


async def raise_for_restricted_incident(session: AsyncSession, incident_id: uuid.UUID) -> int:
    """An incident of the replica is (now) restricted: every operation linking it that is
    not restricted yet is raised, with an `operation.updated` event (`changed:
    ["sensitivity"]`, actor `system`), in the consumer's transaction. How many were raised."""
    raised = 0
    for operation in await repository.linking_incident(session, incident_id, lock=True):
        if operation.sensitivity == Sensitivity.restricted:
            continue
        previous = operation.sensitivity
        await publish(
            session,
            operation,
            OperationUpdated,
            actor=SYSTEM,
            changed=["sensitivity"],
            previous_sensitivity=previous,
            reason=LINKED_RESTRICTED_INCIDENT,
            detail={"incident_id": str(incident_id)},
        )
        raised += 1
        log.info("operation.raised", operation_id=str(operation.id), incident_id=str(incident_id))
    return raised


async def list_operations(
    session: AsyncSession,
    principal: Principal,
    *,
    status: OperationStatus | None,
    limit: int,
    offset: int,
) -> OperationPage:
    rows, total = await repository.list_operations(
        session,
        ngo_id=principal.ngo_id if is_ngo(principal) else None,
        status=status,
        limit=limit,
        offset=offset,
    )
    items = [await view(session, principal, operation) for operation in rows]
    return OperationPage(items=items, total=total, limit=limit, offset=offset)


async def history(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID
) -> list[HistoryOut]:
    await load_for(session, principal, operation_id)
    return [
        HistoryOut(
            entity_type=h.entity_type,
            entity_id=h.entity_id,
            event_type=h.event_type,
            actor=h.actor,
            detail=h.detail,
            at=h.at,
        )
        for h in await repository.history(session, operation_id)
    ]
