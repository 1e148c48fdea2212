"""ORM models of the Joint planning, all in its own schema, plus its outbox and inbox."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.joint_planning.config import Settings
from shared.db import schema_metadata
from shared.events.inbox import Inbox
from shared.events.outbox import Outbox
from shared.events.schemas import CATALOG

SCHEMA = Settings.service_name


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


outbox = Outbox(Base.metadata, service=SCHEMA, catalog=CATALOG)
inbox = Inbox(Base.metadata)

# The aggregate tables register themselves on Base.metadata when imported.
from services.joint_planning.db.models import (  # noqa: E402
    notifications,
    operations,
    replicas,
    work,
)

__all__ = ["SCHEMA", "Base", "inbox", "notifications", "operations", "outbox", "replicas", "work"]
