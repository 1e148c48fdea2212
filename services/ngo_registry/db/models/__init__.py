"""ORM models of the NGO registry, all in its own schema, plus its outbox and inbox."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.ngo_registry.config import Settings
from shared.db import schema_metadata
from shared.events.inbox import Inbox
from shared.events.outbox import Outbox
from shared.events.schemas import CATALOG

SCHEMA = Settings.service_name


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


outbox = Outbox(Base.metadata, service=SCHEMA, catalog=CATALOG)
inbox = Inbox(Base.metadata)

# The aggregate tables register themselves on Base.metadata when imported: the migrations'
# env.py and the drift test see every table through this package alone.
from services.ngo_registry.db.models import data_incidents, registry, webhooks  # noqa: E402

__all__ = ["SCHEMA", "Base", "data_incidents", "inbox", "outbox", "registry", "webhooks"]
