"""The class tasks, milestones and meetings inherit from their operation.

They hold the operation's plan in pieces (titles, descriptions, notes, decisions), so each
carries its operation's sensitivity: stored in its row, copied on every change it is
published with, and brought along in the operation's own transaction whenever the
operation's class changes (`operation/projection.py`). A meeting of no operation is internal.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.joint_planning.db.models.operations import Operation
from shared.classification import DEFAULT_SENSITIVITY
from shared.vocabulary import Sensitivity


async def operation_class(session: AsyncSession, operation_id: uuid.UUID | None) -> Sensitivity:
    """The class of the operation (internal for none)."""
    if operation_id is None:
        return DEFAULT_SENSITIVITY
    found = await session.scalar(select(Operation.sensitivity).where(Operation.id == operation_id))
    return found if found is not None else DEFAULT_SENSITIVITY
