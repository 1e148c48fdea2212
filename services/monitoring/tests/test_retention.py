"""Retention (issue 13): restricted data past its period leaves monitoring's stores — the
audit trail's payloads and the read models' titles and exact coordinates — the audit chain
still verifies, the purge itself is chained, and a rebuild does not bring anything back.

Real Kafka and Postgres: events go to the real topics, monitoring's consumers (read models
and audit) apply them, and the purge runs through the service's own session.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.audit.chain import verify_chain
from services.monitoring.config import Settings
from services.monitoring.db.models.audit import audit_log
from services.monitoring.db.models.read_models import incidents, requests
from services.monitoring.rebuild import rebuild
from services.monitoring.retention.service import purge_expired
from services.monitoring.tests.factories import (
    aid_request,
    envelope,
    incident,
    now,
    projected,
    publish,
)
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas.monitoring import RetentionPurged
from shared.runtime import ServiceRuntime
from shared.testing import serve_in_process
from shared.vocabulary import Sector, Sensitivity

pytestmark = pytest.mark.integration


async def test_expired_restricted_data_is_purged_and_the_chain_still_verifies(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings(retention_restricted_days=365, retention_sweep_interval_seconds=3600)
    old, recent = now() - timedelta(days=400), now() - timedelta(days=30)

    def request_event(sensitivity: Sensitivity, at: Any) -> tuple[uuid.UUID, Any]:
        request_id = uuid.uuid4()
        data = aid_request(
            request_id=request_id,
            version=1,
            status=hr.RequestStatus.submitted,
            submitted_at=at,
            sector=Sector.gbv if sensitivity is Sensitivity.restricted else Sector.wash,
            pcode="SS0301",
            admin1="SS03",
            sensitivity=sensitivity,
        )
        return request_id, envelope(data, subject=request_id, at=at)

    expired_request, e1 = request_event(Sensitivity.restricted, old)
    kept_recent, e2 = request_event(Sensitivity.restricted, recent)
    kept_internal, e3 = request_event(Sensitivity.internal, old)
    incident_id = uuid.uuid4()
    reported = incident(incident_id=incident_id, version=1, pcode="SS0301", occurred_at=old)
    reported = reported.model_copy(update={"sensitivity": Sensitivity.restricted})
    e4 = envelope(reported, subject=incident_id, at=old)
    events = [e1, e2, e3, e4]

    app = create_app(settings)
    async with serve_in_process(app):
        runtime: ServiceRuntime = app.state.runtime
        await publish(kafka_bootstrap, events)

        async def applied() -> bool:
            async with runtime.sessionmaker() as session:
                chained = await session.scalar(
                    select(audit_log.c.event_id)
                    .where(audit_log.c.event_id.in_([e.id for e in events]))
                    .order_by(audit_log.c.position.desc())
                    .limit(1)
                    .offset(len(events) - 1)
                )
                modelled = await session.scalar(
                    select(incidents.c.incident_id).where(incidents.c.incident_id == incident_id)
                )
                held = (
                    await session.execute(
                        select(requests.c.request_id).where(
                            requests.c.request_id.in_([expired_request, kept_recent, kept_internal])
                        )
                    )
                ).all()
                return chained is not None and modelled is not None and len(held) == 3

        await projected(applied, kafka_bootstrap)
        async with runtime.sessionmaker() as session, session.begin():
            record = await purge_expired(session, settings)
        assert isinstance(record, RetentionPurged)
        assert record.audit_payloads >= 2 and record.requests >= 1 and record.incidents >= 1

        async with runtime.sessionmaker() as session:
            rows = {
                row.event_id: row
                for row in (
                    await session.execute(
                        select(audit_log).where(audit_log.c.event_id.in_([e.id for e in events]))
                    )
                ).all()
            }
            by_request = {
                row.request_id: row
                for row in (await session.execute(select(requests))).all()
                if row.request_id in (expired_request, kept_recent, kept_internal)
            }
            purged_incident = (
                await session.execute(
                    select(incidents).where(incidents.c.incident_id == incident_id)
                )
            ).one()
        # Restricted and expired: the payload is gone, its digest stays; the rest is kept.
        for event in (e1, e4):
            assert rows[event.id].canonical is None and rows[event.id].purged_at is not None
            assert rows[event.id].payload_digest
        for event in (e2, e3):
            assert rows[event.id].canonical is not None and rows[event.id].purged_at is None
        assert (by_request[expired_request].title, by_request[expired_request].lat) == (None, None)
        assert by_request[kept_recent].title is not None and by_request[kept_recent].lat
        assert by_request[kept_internal].title is not None
        assert (purged_incident.lat, purged_incident.lon) == (None, None)
        assert purged_incident.pcode == "SS0301"  # the counts of the period stay

        # The chain verifies over the purged rows, and the purge itself is in it.
        async def purge_chained() -> Any:
            async with runtime.sessionmaker() as session:
                return await session.scalar(
                    select(audit_log.c.canonical).where(
                        audit_log.c.event_type == "concord.monitoring.retention.purged.v1",
                        audit_log.c.subject == str(record.purge_id),
                    )
                )

        chained_purge = await projected(purge_chained, kafka_bootstrap)
        assert str(record.purge_id) in chained_purge and "Nyandeng" not in chained_purge
        async with runtime.engine.connect() as conn:
            verification = await verify_chain(conn)
        assert verification.ok, verification.summary()

        # A payload gone without a purge stamp is a broken link.
        async with runtime.engine.begin() as conn:
            await conn.execute(
                audit_log.update()
                .where(audit_log.c.event_id == e2.id)
                .values(canonical=None)
                .returning(audit_log.c.position)
            )
        try:
            async with runtime.engine.connect() as conn:
                broken = await verify_chain(conn)
            assert broken.first_broken is not None
            assert broken.first_broken.event_id == str(e2.id)
            assert "without a purge" in broken.first_broken.reason
        finally:
            async with runtime.engine.begin() as conn:
                await conn.execute(
                    audit_log.update()
                    .where(audit_log.c.event_id == e2.id)
                    .values(canonical=rows[e2.id].canonical)
                )

        # A rebuild replays the topics (which still hold the old events) into fresh read
        # models: what retention removed does not come back.
        await rebuild(settings)
        async with runtime.sessionmaker() as session:
            again = (
                await session.execute(
                    select(requests).where(requests.c.request_id == expired_request)
                )
            ).one()
            again_incident = (
                await session.execute(
                    select(incidents).where(incidents.c.incident_id == incident_id)
                )
            ).one()
            kept = (
                await session.execute(select(requests).where(requests.c.request_id == kept_recent))
            ).one()
        assert (again.title, again.lat, again.lon) == (None, None, None)
        assert (again_incident.lat, again_incident.lon) == (None, None)
        assert kept.title is not None
