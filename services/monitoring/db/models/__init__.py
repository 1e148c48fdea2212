"""ORM models of the Monitoring, all in its own schema, plus its outbox and inbox."""

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
