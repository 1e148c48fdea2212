"""A tiny service used to test the event backbone itself, in-process and as real processes.

It has what every Concord service has — an outbox, an inbox, a consumer — over a throwaway
schema and topic, and one effect to count: each applied `WidgetChanged` appends a row to
`effects`. Nothing stops the effect from being applied twice except the inbox, which is the
point: a duplicate effect row is a test failure.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, DateTime, Identity, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase

from shared.db import schema_metadata
from shared.events.catalog import Audience, Catalog, Retention, Topic
from shared.events.envelope import CloudEvent
from shared.events.inbox import EventRouter, Inbox
from shared.events.outbox import Outbox, notify_trigger_sql
from shared.events.schemas.backbone import register_backbone


class WidgetChanged(BaseModel):
    widget_id: str
    seq: int
    sensitivity: str = "public"


class Harness:
    """Schema, topic, outbox, inbox and router of one test's little service."""

    def __init__(self, schema: str, topic: str) -> None:
        self.schema = schema
        self.topic = Topic(topic, "test topic", audience=Audience.ngo, retention=Retention.log)
        self.catalog = Catalog()
        self.catalog.register(
            "concord.platform_test.widget.changed.v1", self.topic, WidgetChanged, "test event"
        )
        # Like every real producer, the harness reports parked rows on its backbone topic.
        self.parked_type = register_backbone(self.catalog, schema)

        class Base(DeclarativeBase):
            metadata = schema_metadata(schema)

        self.metadata: MetaData = Base.metadata
        self.outbox = Outbox(self.metadata, service=schema, catalog=self.catalog)
        self.inbox = Inbox(self.metadata)
        self.widgets = Table(
            "widgets",
            self.metadata,
            Column("widget_id", Text, primary_key=True),
            Column("seq", Integer, nullable=False),
        )
        self.effects = Table(
            "effects",
            self.metadata,
            Column("id", BigInteger, Identity(), primary_key=True),
            Column("event_id", Text, nullable=False),
            Column("widget_id", Text, nullable=False),
            Column("seq", Integer, nullable=False),
            Column("applied_at", DateTime(timezone=True), server_default=func.now()),
        )
        self.router = EventRouter(self.catalog)
        self.router.on(WidgetChanged)(self._apply)

    async def _apply(self, session: AsyncSession, event: CloudEvent, data: WidgetChanged) -> None:
        await session.execute(
            self.effects.insert().values(
                event_id=str(event.id), widget_id=data.widget_id, seq=data.seq
            )
        )

    async def create_schema(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            await conn.run_sync(self.metadata.create_all)
            for statement in notify_trigger_sql(self.schema):
                await conn.exec_driver_sql(statement)

    async def change_widget(self, session: AsyncSession, widget_id: str, seq: int) -> CloudEvent:
        """A state change and its event, in the caller's transaction."""
        await session.execute(
            insert(self.widgets)
            .values(widget_id=widget_id, seq=seq)
            .on_conflict_do_update(index_elements=["widget_id"], set_={"seq": seq})
        )
        return await self.outbox.add(
            session, WidgetChanged(widget_id=widget_id, seq=seq), subject=widget_id
        )


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
