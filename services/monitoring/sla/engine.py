"""The SLA engine: a clock per request and stage, a sweep that raises and escalates alerts,
and clearing when the stage is reached.

Clocks live in `sla_clocks` (the database, not memory): the request handlers start and stop
them in the transaction that applies the request's new state, and the sweep — a runtime
background task — picks the clocks whose next check is due with `FOR UPDATE SKIP LOCKED`, so
several replicas share the work and a crash mid-pass loses nothing (the transaction rolls
back and the next pass finds the same clocks due). Every alert change goes out through the
outbox in the same transaction as the clock change.

Stages and when their clocks start: triage from submission, offer from triage, acceptance
from the first offer, fulfilment from acceptance. Levels: 0 warning (a configured fraction of
the target elapsed), 1 breach (target passed), 2+ escalation, one step further each
`sla_escalation_fraction` of the target after the breach, up the configured chain.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.monitoring.config import Settings
from services.monitoring.db.models import outbox
from services.monitoring.db.models.sla import sla_clocks
from shared.events.schemas.humanitarian_requests import AidRequestEvent, RequestStatus
from shared.events.schemas.monitoring import (
    AlertLevel,
    SlaAlertState,
    SlaBreached,
    SlaCleared,
    SlaStage,
    SlaWarningRaised,
)
from shared.logging import get_logger
from shared.runtime import ServiceRuntime

log = get_logger(__name__)

ACTIVE_STATES = ("running", "warning", "breached")
TERMINAL = (RequestStatus.cancelled, RequestStatus.closed)


def _stage_bounds(data: AidRequestEvent) -> list[tuple[SlaStage, datetime | None, datetime | None]]:
    return [
        (SlaStage.triage, data.submitted_at, data.triaged_at),
        (SlaStage.offer, data.triaged_at, data.offered_at),
        (SlaStage.acceptance, data.offered_at, data.accepted_at),
        (SlaStage.fulfilment, data.accepted_at, data.fulfilled_at),
    ]


def _alert(
    clock: Any,
    *,
    alert_id: uuid.UUID,
    level: AlertLevel,
    escalation_level: int,
    chain: list[str],
    raised_at: datetime,
    version: int,
    cleared_at: datetime | None = None,
    resolution: str | None = None,
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "request_id": clock.request_id,
        "stage": clock.stage,
        "urgency": clock.urgency,
        "sector": clock.sector,
        "pcode": clock.pcode,
        "level": level,
        "escalation_level": escalation_level,
        "escalate_to": chain[: max(escalation_level, 0) + 1],
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "raised_at": raised_at,
        "cleared_at": cleared_at,
        "resolution": resolution,
        "version": version,
        "sensitivity": clock.sensitivity,
    }


async def sync_clocks(session: AsyncSession, settings: Settings, data: AidRequestEvent) -> None:
    """Start the clocks of stages now waiting, stop (and clear) those now reached."""
    closed = data.status in TERMINAL
    # A reclassified request's later alerts carry its new class.
    await session.execute(
        update(sla_clocks)
        .where(
            sla_clocks.c.request_id == data.request_id,
            sla_clocks.c.sensitivity != data.sensitivity.value,
        )
        .values(sensitivity=data.sensitivity.value)
    )
    for stage, started, reached in _stage_bounds(data):
        if started is None:
            continue
        if reached is None and not closed:
            target = settings.sla_target(data.urgency.value, stage.value)
            await session.execute(
                insert(sla_clocks)
                .values(
                    request_id=data.request_id,
                    stage=stage.value,
                    urgency=data.urgency.value,
                    sector=data.sector.value,
                    pcode=data.location.pcode,
                    sensitivity=data.sensitivity.value,
                    started_at=started,
                    due_at=started + timedelta(seconds=target),
                    next_check_at=started
                    + timedelta(seconds=target * settings.sla_warning_fraction),
                    state="running",
                )
                .on_conflict_do_nothing()
            )
            continue
        resolution = f"{stage.value} reached" if reached is not None else f"request {data.status}"
        await _stop_clock(session, settings, data.request_id, stage, reached, resolution)


async def _stop_clock(
    session: AsyncSession,
    settings: Settings,
    request_id: uuid.UUID,
    stage: SlaStage,
    reached: datetime | None,
    resolution: str,
) -> None:
    clock = (
        await session.execute(
            select(sla_clocks)
            .where(
                sla_clocks.c.request_id == request_id,
                sla_clocks.c.stage == stage.value,
                sla_clocks.c.state.in_(ACTIVE_STATES),
            )
            .with_for_update()
        )
    ).one_or_none()
    if clock is None:
        return
    values: dict[str, Any] = {
        "state": "met" if reached is not None else "cancelled",
        "next_check_at": None,
    }
    if clock.alert_id is not None:
        now = await session.scalar(select(func.now()))
        assert now is not None
        version = clock.alert_version + 1
        alert = _alert(
            clock,
            alert_id=clock.alert_id,
            level=AlertLevel.cleared,
            escalation_level=clock.escalation_level,
            chain=settings.sla_escalation_chain,
            raised_at=clock.raised_at,
            version=version,
            cleared_at=reached or now,
            resolution=resolution,
        )
        await outbox.add(session, SlaCleared(**alert), subject=clock.alert_id)
        values["alert_version"] = version
        log.info("sla.cleared", request_id=str(request_id), stage=stage.value)
    await session.execute(
        update(sla_clocks)
        .where(sla_clocks.c.request_id == request_id, sla_clocks.c.stage == stage.value)
        .values(**values)
    )


def level_at(clock: Any, now: datetime, settings: Settings) -> tuple[int, datetime | None]:
    """The alert level a clock has reached at `now`, and when the next level falls due."""
    target = (clock.due_at - clock.started_at).total_seconds()
    top = max(len(settings.sla_escalation_chain) - 1, 1)
    if now < clock.due_at:
        return 0, clock.due_at
    step = max(target * settings.sla_escalation_fraction, 1.0)
    level = min(1 + math.floor((now - clock.due_at).total_seconds() / step), top)
    next_at = clock.due_at + timedelta(seconds=step * level) if level < top else None
    return level, next_at


async def sweep_once(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, batch: int = 200
) -> int:
    """One pass over the clocks that are due; returns how many it looked at."""
    async with sessionmaker() as session, session.begin():
        now = await session.scalar(select(func.now()))
        assert now is not None
        due = (
            await session.execute(
                select(sla_clocks)
                .where(sla_clocks.c.state.in_(ACTIVE_STATES), sla_clocks.c.next_check_at <= now)
                .order_by(sla_clocks.c.next_check_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for clock in due:
            await _advance(session, settings, clock, now)
        return len(due)


async def _advance(session: AsyncSession, settings: Settings, clock: Any, now: datetime) -> None:
    level, next_at = level_at(clock, now, settings)
    values: dict[str, Any] = {"next_check_at": next_at}
    if level > clock.escalation_level:
        alert_id = clock.alert_id or uuid.uuid4()
        raised_at = clock.raised_at or now
        version = clock.alert_version + 1
        alert = _alert(
            clock,
            alert_id=alert_id,
            level=AlertLevel.warning if level == 0 else AlertLevel.breach,
            escalation_level=level,
            chain=settings.sla_escalation_chain,
            raised_at=raised_at,
            version=version,
        )
        model: type[SlaAlertState] = SlaWarningRaised if level == 0 else SlaBreached
        await outbox.add(session, model(**alert), subject=alert_id)
        values |= {
            "state": "warning" if level == 0 else "breached",
            "escalation_level": level,
            "alert_id": alert_id,
            "alert_version": version,
            "raised_at": raised_at,
        }
        log.info(
            "sla.alert_raised",
            request_id=str(clock.request_id),
            stage=clock.stage,
            level=level,
        )
    await session.execute(
        update(sla_clocks)
        .where(sla_clocks.c.request_id == clock.request_id, sla_clocks.c.stage == clock.stage)
        .values(**values)
    )


class SlaSweep:
    """The background task the runtime supervises."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, runtime: ServiceRuntime) -> None:
        while True:
            looked_at = await sweep_once(runtime.sessionmaker, self.settings)
            if looked_at == 0:
                await asyncio.sleep(self.settings.sla_sweep_interval_seconds)
