"""Use cases on tasks: create, change, move through their status, note progress.

    open ⇄ in_progress ⇄ blocked;  open | in_progress | blocked → done | cancelled

Every task has an owner (a current participant of its operation) and a due date no later
than the operation's end. A task is done only when everything it depends on is done.
Mission staff manage tasks; the NGO owning a task may move it and note its progress.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.common.parts import publish_task as publish
from services.joint_planning.common.parts import task_state as to_state
from services.joint_planning.common.principals import actor_of, is_ngo
from services.joint_planning.db.models.operations import Operation
from services.joint_planning.db.models.work import Task
from services.joint_planning.operation import repository as operations
from services.joint_planning.operation import service as operation_service
from services.joint_planning.operation.errors import OperationClosed
from services.joint_planning.operation.state import CLOSED
from services.joint_planning.task import repository
from services.joint_planning.task.errors import (
    DependenciesNotDone,
    DependencyCycle,
    IllegalTaskTransition,
    InvalidTask,
)
from services.joint_planning.task.graph import find_cycle
from services.joint_planning.task.schemas import (
    ProgressNoteIn,
    TaskCreate,
    TaskOut,
    TaskStatusChange,
    TaskUpdate,
)
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.events.schemas.joint_planning import (
    TaskCreated,
    TaskProgressNoted,
    TaskStatus,
    TaskStatusChanged,
    TaskUpdated,
)
from shared.http import check_if_match

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.open: frozenset(
        {TaskStatus.in_progress, TaskStatus.blocked, TaskStatus.done, TaskStatus.cancelled}
    ),
    TaskStatus.in_progress: frozenset(
        {TaskStatus.open, TaskStatus.blocked, TaskStatus.done, TaskStatus.cancelled}
    ),
    TaskStatus.blocked: frozenset(
        {TaskStatus.open, TaskStatus.in_progress, TaskStatus.done, TaskStatus.cancelled}
    ),
    TaskStatus.done: frozenset(),
    TaskStatus.cancelled: frozenset(),
}


def to_view(task: Task) -> TaskOut:
    return TaskOut(**to_state(task).model_dump(), created_at=task.created_at)


async def _check_owner(session: AsyncSession, operation: Operation, owner: uuid.UUID) -> None:
    if await operations.participant(session, operation.id, owner) is None:
        raise InvalidTask(
            f"owner_participant_id: {owner} is not a current participant of the operation",
            field="owner_participant_id",
        )


def _check_due(operation: Operation, due_at: datetime) -> None:
    if due_at > operation.ends_at:
        raise InvalidTask(
            f"due_at: {due_at.isoformat()} is after the operation ends "
            f"({operation.ends_at.isoformat()})",
            field="due_at",
            operation_ends_at=operation.ends_at.isoformat(),
        )


async def _check_dependencies(
    session: AsyncSession, operation: Operation, task_id: uuid.UUID, depends_on: list[uuid.UUID]
) -> None:
    graph = await repository.dependency_graph(session, operation.id)
    unknown = [str(d) for d in depends_on if d not in graph and d != task_id]
    if unknown:
        raise InvalidTask(
            f"depends_on: no task {', '.join(unknown)} in this operation",
            field="depends_on",
            unknown=unknown,
        )
    cycle = find_cycle(graph, task_id, depends_on)
    if cycle is not None:
        raise DependencyCycle(
            "depends_on: this would make a cycle " + " → ".join(str(t) for t in cycle),
            field="depends_on",
            cycle=[str(t) for t in cycle],
        )


async def _open_operation(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID
) -> Operation:
    """The operation, locked: tasks of one operation change one at a time, so two edits of
    the dependency graph cannot each pass the cycle check and together close a cycle."""
    operation = await operation_service.load_for(session, principal, operation_id, lock=True)
    if operation.status in CLOSED:
        raise OperationClosed(f"Operation {operation.id} is {operation.status}")
    return operation


async def create_task(
    session: AsyncSession,
    principal: Principal,
    operation_id: uuid.UUID,
    body: TaskCreate,
    *,
    source: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> Task:
    operation = await _open_operation(session, principal, operation_id)
    task_id = body.task_id or uuid.uuid4()
    if await repository.get(session, task_id) is not None:
        raise InvalidTask(f"task_id {task_id} is already taken", field="task_id")
    await _check_owner(session, operation, body.owner_participant_id)
    _check_due(operation, body.due_at)
    depends_on = list(dict.fromkeys(body.depends_on))
    await _check_dependencies(session, operation, task_id, depends_on)
    now = datetime.now(UTC)
    task = Task(
        id=task_id,
        operation_id=operation.id,
        title=body.title,
        description=body.description,
        owner_participant_id=body.owner_participant_id,
        due_at=body.due_at,
        priority=body.priority,
        status=TaskStatus.open,
        depends_on=depends_on,
        notes=[],
        overdue_notified_at=None,
        source_meeting_id=source[0] if source else None,
        source_action_item_id=source[1] if source else None,
        created_by=actor_of(principal),
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await publish(session, task, TaskCreated, actor=actor_of(principal))
    return task


async def load_for(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, *, lock: bool = False
) -> Task:
    """The task if this principal may see it: staff, or an NGO taking part in its operation."""
    task = await repository.get(session, task_id, lock=lock)
    if task is None:
        raise NotFound(f"No task {task_id}")
    try:
        await operation_service.load_for(session, principal, task.operation_id)
    except NotFound:
        raise NotFound(f"No task {task_id}") from None
    return task


async def _ensure_may_work_on(session: AsyncSession, principal: Principal, task: Task) -> None:
    """Staff may change any task; an NGO only one its own participation owns."""
    if not is_ngo(principal):
        return
    owner = await operations.participant(session, task.operation_id, task.owner_participant_id)
    if owner is None or owner.ngo_id != principal.ngo_id:
        raise Forbidden("Only the task's owner or mission staff may change it")


async def update_task(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    body: TaskUpdate,
    if_match: str | None,
) -> Task:
    peek = await load_for(session, principal, task_id)
    operation = await _open_operation(session, principal, peek.operation_id)
    task = await load_for(session, principal, task_id, lock=True)
    check_if_match(if_match, task.version)
    if task.status in (TaskStatus.done, TaskStatus.cancelled):
        raise IllegalTaskTransition(f"Task {task.id} is {task.status} and cannot change")
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "owner_participant_id", "due_at", "priority", "depends_on"):
        if required in changes and changes[required] is None:
            raise InvalidTask(f"{required} cannot be removed", field=required)
    if body.owner_participant_id is not None:
        await _check_owner(session, operation, body.owner_participant_id)
        task.owner_participant_id = body.owner_participant_id
    if body.due_at is not None:
        _check_due(operation, body.due_at)
        task.due_at = body.due_at
        if body.due_at > datetime.now(UTC):
            task.overdue_notified_at = None  # due again later: it may become overdue again
    if body.depends_on is not None:
        depends_on = list(dict.fromkeys(body.depends_on))
        await _check_dependencies(session, operation, task.id, depends_on)
        task.depends_on = depends_on
    if body.title is not None:
        task.title = body.title
    if "description" in changes:
        task.description = body.description
    if body.priority is not None:
        task.priority = body.priority
    await publish(session, task, TaskUpdated, actor=actor_of(principal), changed=sorted(changes))
    return task


async def change_status(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    body: TaskStatusChange,
    if_match: str | None,
) -> Task:
    task = await load_for(session, principal, task_id, lock=True)
    await _ensure_may_work_on(session, principal, task)
    if if_match is not None:
        check_if_match(if_match, task.version)
    current = task.status
    if body.status not in TRANSITIONS[current]:
        raise IllegalTaskTransition(
            f"A task cannot go from {current} to {body.status}",
            current_status=current.value,
            requested=body.status.value,
        )
    if body.status is TaskStatus.done and task.depends_on:
        graph_tasks = {t.id: t for t in await repository.of_operation(session, task.operation_id)}
        pending = [str(d) for d in task.depends_on if graph_tasks[d].status != TaskStatus.done]
        if pending:
            raise DependenciesNotDone(f"Finish {', '.join(pending)} first", pending=pending)
    task.status = body.status
    if body.note is not None:
        task.notes = [*task.notes, _note(principal, body.note)]
    await publish(
        session, task, TaskStatusChanged, actor=actor_of(principal), previous_status=current
    )
    return task


def _note(principal: Principal, text: str) -> dict[str, str]:
    return {"at": datetime.now(UTC).isoformat(), "by": actor_of(principal), "text": text}


async def add_note(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, body: ProgressNoteIn
) -> Task:
    task = await load_for(session, principal, task_id, lock=True)
    await _ensure_may_work_on(session, principal, task)
    task.notes = [*task.notes, _note(principal, body.text)]
    await publish(session, task, TaskProgressNoted, actor=actor_of(principal))
    return task


async def list_tasks(
    session: AsyncSession, principal: Principal, operation_id: uuid.UUID
) -> list[TaskOut]:
    await operation_service.load_for(session, principal, operation_id)
    return [to_view(t) for t in await repository.of_operation(session, operation_id)]
