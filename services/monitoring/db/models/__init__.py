"""Tables of the Monitoring service, all in its own schema, plus its outbox and inbox.

The read models are plain tables (SQLAlchemy Core): they are written by event handlers with
upserts and counter arithmetic, never loaded as objects, so the ORM would add nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.monitoring.config import Settings
from shared.db import schema_metadata
from shared.events.inbox import Inbox
from shared.events.outbox import Outbox
from shared.events.schemas import CATALOG

SCHEMA = Settings.service_name


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


outbox = Outbox(Base.metadata, service=SCHEMA, catalog=CATALOG)
inbox = Inbox(Base.metadata)

# The tables register themselves on Base.metadata when their modules are imported.
from services.monitoring.db.models import (  # noqa: E402
    access_log,
    audit,
    live,
    planning,
    read_models,
    sla,
)

__all__ = [
    "SCHEMA",
    "Base",
    "access_log",
    "audit",
    "inbox",
    "live",
    "outbox",
    "planning",
    "read_models",
    "sla",
]
