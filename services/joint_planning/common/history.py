"""The append-only history of an operation: one row per event about it or anything in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.operations import HistoryEntry


def record(
    session: AsyncSession,
    *,
    operation_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    event_type: str,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        HistoryEntry(
            operation_id=operation_id,
            entity_type=entity_type,
            entity_id=entity_id,
            event_type=event_type,
            actor=actor,
            detail=detail or {},
            at=datetime.now(UTC),
        )
    )
