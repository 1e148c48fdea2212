"""Retention (issue 13): a restricted incident of the replica past its period loses its exact
point (its county's centroid instead) and keeps the rest; the purge is one event, and a
second purge changes nothing.

Real Kafka and Postgres: the incidents arrive as the requests service's events on the real
incident topic and the service's consumer applies them; the events carry times a year old
(a year cannot pass in a test), and the purge runs through the service's own session.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text

from services.joint_planning.app import create_app
from services.joint_planning.config import Settings
from services.joint_planning.deconfliction.geometry import cell_of
from services.joint_planning.retention.service import cutoff_of, purge_expired
from services.joint_planning.tests.helpers import fresh_county, incident_reported, incident_state
from shared.db import unit_of_work
from shared.events.schemas.humanitarian_requests import IncidentReported, IncidentType
from shared.events.schemas.joint_planning import RETENTION_TOPIC, PlanningRetentionPurged
from shared.gazetteer import gazetteer
from shared.runtime import ServiceRuntime
from shared.testing import read_events
from shared.vocabulary import Sensitivity

PURGED_TYPE = "concord.joint_planning.retention.purged.v1"


def aged(incident: IncidentReported, *, occurred_days: int, changed_days: int) -> IncidentReported:
    now = datetime.now(UTC)
    occurred = now - timedelta(days=occurred_days)
    return incident.model_copy(
        update={
            "occurred_at": occurred,
            "observed_at": occurred,
            "reported_at": occurred,
            "updated_at": now - timedelta(days=changed_days),
        }
    )


async def _replica(runtime: ServiceRuntime, incident_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        row = await session.scalar(
            text("SELECT to_jsonb(i) FROM incidents i WHERE incident_id = :id"),
            {"id": incident_id},
        )
    assert row is not None
    value: dict[str, Any] = row
    return value


@pytest.mark.integration
async def test_expired_restricted_incidents_lose_their_point_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str
) -> None:
    runtime: ServiceRuntime = app.state.runtime
    county = fresh_county()
    centre = gazetteer().areas[county]

    def near(index: int) -> IncidentReported:
        return incident_state(
            lat=round(centre.lat + 0.03 * index, 5), lon=round(centre.lon + 0.02, 5)
        )

    expired = aged(near(1), occurred_days=400, changed_days=400)
    # Happened long ago but reclassified last month: still being worked on, kept.
    changed_lately = aged(near(2), occurred_days=400, changed_days=30)
    internal = aged(
        near(3).model_copy(
            update={
                "incident_type": IncidentType.explosive_hazard,
                "sensitivity": Sensitivity.internal,
            }
        ),
        occurred_days=400,
        changed_days=400,
    )
    await incident_reported(app, kafka_bootstrap, expired, changed_lately, internal)
    before = {
        i.incident_id: await _replica(runtime, i.incident_id)
        for i in (expired, changed_lately, internal)
    }
    assert before[expired.incident_id]["lat"] == expired.location.lat

    async with unit_of_work(runtime.sessionmaker) as session:
        [record] = await purge_expired(session, settings)
    assert isinstance(record, PlanningRetentionPurged)
    assert record.incidents >= 1

    purged = await _replica(runtime, expired.incident_id)
    home = gazetteer().areas[expired.location.pcode]
    assert (purged["lat"], purged["lon"]) == (home.lat, home.lon)
    assert purged["cell"] == cell_of(home.lat, home.lon) and purged["purged_at"] is not None
    kept = {"incident_type", "severity", "sensitivity", "pcode", "occurred_at", "version"}
    assert {k: purged[k] for k in kept} == {k: before[expired.incident_id][k] for k in kept}
    for control in (changed_lately, internal):
        assert await _replica(runtime, control.incident_id) == before[control.incident_id]

    # The same state delivered again (a replay of the topic) does not bring the point back.
    await incident_reported(app, kafka_bootstrap, expired)
    assert (await _replica(runtime, expired.incident_id))["lat"] == home.lat

    events = await read_events(
        kafka_bootstrap,
        [RETENTION_TOPIC.name],
        where=lambda e: e.subject == str(record.purge_id),
        until=lambda found: len(found) >= 1,
    )
    assert events[0].type == PURGED_TYPE
    assert events[0].data == record.model_dump(mode="json")
    assert str(expired.location.lat) not in events[0].to_json().decode()

    # A second purge finds nothing, changes nothing and emits nothing.
    count_events = text("SELECT count(*) FROM outbox WHERE event_type = :type")
    async with runtime.sessionmaker() as session:
        emitted = await session.scalar(count_events, {"type": PURGED_TYPE})
    async with unit_of_work(runtime.sessionmaker) as session:
        assert await purge_expired(session, settings) == []
    async with runtime.sessionmaker() as session:
        assert await session.scalar(count_events, {"type": PURGED_TYPE}) == emitted
    assert await _replica(runtime, expired.incident_id) == purged


def test_retention_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert defaults.retention_restricted_days == 365
    assert defaults.retention_internal_days == 730
    assert defaults.retention_sweep_interval_seconds == 3600
    with pytest.raises(ValidationError):
        Settings(retention_restricted_days=0)
    for variable, value in (
        ("JOINT_PLANNING_RETENTION_RESTRICTED_DAYS", "0"),
        ("JOINT_PLANNING_RETENTION_RESTRICTED_DAYS", "a year"),
        ("JOINT_PLANNING_RETENTION_INTERNAL_DAYS", "0"),
        ("JOINT_PLANNING_RETENTION_SWEEP_INTERVAL", "-1"),
    ):
        with monkeypatch.context() as env:
            env.setenv(variable, value)
            # The service does not start, and says which variable is wrong.
            with pytest.raises(ValidationError, match=variable):
                create_app()
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    assert cutoff_of(now, Settings(retention_restricted_days=30)) == now - timedelta(days=30)
