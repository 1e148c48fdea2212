"""Tasks, milestones and coordination meetings of joint operations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.joint_planning.db.models import Base
from shared.db import EnumText
from shared.events.schemas.joint_planning import MilestoneStatus, TaskPriority, TaskStatus
from shared.vocabulary import Sensitivity

OPEN_TASK_STATUSES = (TaskStatus.open, TaskStatus.in_progress, TaskStatus.blocked)
OPEN_TASK = "status IN ('open', 'in_progress', 'blocked')"  # the same, for partial indexes


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    operation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("operations.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    owner_participant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    priority: Mapped[TaskPriority] = mapped_column(EnumText(TaskPriority))
    status: Mapped[TaskStatus] = mapped_column(EnumText(TaskStatus))
    depends_on: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_meeting_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_action_item_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The operation's class, copied (migration 0006; `common/classification.py`).
    sensitivity: Mapped[Sensitivity] = mapped_column(
        EnumText(Sensitivity), server_default=text("'internal'")
    )

    __table_args__ = (
        Index("ix_tasks_operation_id", "operation_id"),
        # The overdue sweep's query: unfinished, not yet reported, by due date.
        Index(
            "ix_tasks_overdue_due",
            "due_at",
            postgresql_where=text(f"overdue_notified_at IS NULL AND {OPEN_TASK}"),
        ),
    )


class Milestone(Base):
    __tablename__ = "milestones"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    operation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("operations.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[MilestoneStatus] = mapped_column(EnumText(MilestoneStatus))
    reached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The operation's class, copied (migration 0006; `common/classification.py`).
    sensitivity: Mapped[Sensitivity] = mapped_column(
        EnumText(Sensitivity), server_default=text("'internal'")
    )

    __table_args__ = (
        Index("ix_milestones_operation_id", "operation_id"),
        Index("ix_milestones_pending_due", "due_at", postgresql_where=text("status = 'pending'")),
    )


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    operation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("operations.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    agenda: Mapped[list[str]] = mapped_column(JSONB)
    decisions: Mapped[list[str]] = mapped_column(JSONB)
    action_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The operation's class, copied (migration 0006; `common/classification.py`).
    sensitivity: Mapped[Sensitivity] = mapped_column(
        EnumText(Sensitivity), server_default=text("'internal'")
    )

    __table_args__ = (Index("ix_meetings_operation_id", "operation_id", "held_at"),)
