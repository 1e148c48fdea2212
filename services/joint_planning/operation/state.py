"""The operation's lifecycle, once, as data:

draft ──▶ planned ──▶ active ──▶ completed
  └─────────┴───────────┴──────▶ cancelled
"""

from __future__ import annotations

from shared.events.schemas.joint_planning import OperationStatus

TRANSITIONS: dict[OperationStatus, frozenset[OperationStatus]] = {
    OperationStatus.draft: frozenset({OperationStatus.planned, OperationStatus.cancelled}),
    OperationStatus.planned: frozenset({OperationStatus.active, OperationStatus.cancelled}),
    OperationStatus.active: frozenset({OperationStatus.completed, OperationStatus.cancelled}),
    OperationStatus.completed: frozenset(),
    OperationStatus.cancelled: frozenset(),
}

LIVE = frozenset({OperationStatus.planned, OperationStatus.active})
"""Statuses whose operations are deconflicted against and checked for overlaps."""

CLOSED = frozenset({OperationStatus.completed, OperationStatus.cancelled})


def allowed(current: OperationStatus, target: OperationStatus) -> bool:
    return target in TRANSITIONS[current]
