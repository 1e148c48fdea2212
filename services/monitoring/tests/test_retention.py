"""Retention (issue 13): restricted data past its period leaves monitoring's stores — the
audit trail's payloads and the read models' titles and exact coordinates — the audit chain
still verifies, the purge itself is chained, and a rebuild does not bring anything back.

Real Kafka and Postgres: events go to the real topics, monitoring's consumers (read models
and audit) apply them, and the purge runs through the service's own session.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, select, text

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.audit.chain import (
    GENESIS_HASH,
    actor_of,
    canonical,
    header_of,
    link_hash,
    payload_digest,
    sensitivity_of,
    verify_chain,
)
from services.monitoring.config import Settings
from services.monitoring.db.models.access_log import access_log
from services.monitoring.db.models.audit import audit_log
from services.monitoring.db.models.read_models import alerts, incidents, requests
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
from shared.events.schemas.humanitarian_requests import ACCESS_TOPIC
from shared.events.schemas.monitoring import (
    AccessedRecords,
    AlertLevel,
    MonitoringRestrictedRead,
    RetentionPurgedV2,
    SlaBreached,
    SlaStage,
)
from shared.runtime import ServiceRuntime
from shared.testing import serve_in_process
from shared.vocabulary import Sector, Sensitivity, Urgency

pytestmark = pytest.mark.integration


async def append_legacy_read(runtime: ServiceRuntime, at: datetime) -> uuid.UUID:
    """Chain an access event the way rows were chained before redaction existed (digest over
    the whole event, no salt), at the end of the chain under its lock."""
    read = hr.RestrictedReadRecorded(
        access_id=uuid.uuid4(),
        subject="po-legacy",
        roles=["protection_officer"],
        entity_type="incident",
        entity_id=uuid.uuid4(),
        route="/incidents/{incident_id}",
        purpose="Nyandeng legacy",
        at=at,
    )
    event = envelope(read, subject=read.entity_id, at=at)
    body = canonical(event)
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": zlib.crc32(b"concord.monitoring.audit_log")},
        )
        prev = await session.scalar(
            select(audit_log.c.hash).order_by(audit_log.c.position.desc()).limit(1)
        )
        columns: dict[str, Any] = {
            "event_id": event.id,
            "event_type": event.type,
            "topic": ACCESS_TOPIC.name,
            "subject": event.subject,
            "actor": actor_of(event.data),
            "occurred_at": event.time,
            "sensitivity": sensitivity_of(event.data),
        }
        digest = payload_digest(body)
        prev_hash = prev or GENESIS_HASH
        await session.execute(
            insert(audit_log).values(
                **columns,
                canonical=body,
                payload_digest=digest,
                prev_hash=prev_hash,
                hash=link_hash(prev_hash, header_of(**columns, digest=digest)),
            )
        )
    return event.id


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
    # Reads of restricted records, the requests service's and monitoring's own: their purpose
    # goes after the period, the rest of the event stays readable in the chain.
    old_read = hr.RestrictedReadRecorded(
        access_id=uuid.uuid4(),
        subject="po-reader",
        roles=["protection_officer"],
        entity_type="aid_request",
        entity_id=expired_request,
        route="/aid-requests/{request_id}",
        purpose="Nyandeng's case file",
        at=old,
    )
    e5 = envelope(old_read, subject=expired_request, at=old)
    monitoring_read = MonitoringRestrictedRead(
        access_id=uuid.uuid4(),
        actor="po-monitoring-reader",
        roles=["protection_officer"],
        route="/api/map",
        records=AccessedRecords.aid_request,
        entity_ids=[expired_request],
        restricted_records=1,
        purpose="Nyandeng follow-up",
        at=old,
    )
    e6 = envelope(monitoring_read, subject=monitoring_read.access_id, at=old)
    recent_read = monitoring_read.model_copy(
        update={"access_id": uuid.uuid4(), "purpose": "recent review", "at": recent}
    )
    e7 = envelope(recent_read, subject=recent_read.access_id, at=recent)
    # An alert on the expired restricted request: its county goes, its state stays.
    alert_id = uuid.uuid4()
    breach = SlaBreached(
        alert_id=alert_id,
        request_id=expired_request,
        stage=SlaStage.triage,
        urgency=Urgency.urgent,
        sector=Sector.gbv,
        pcode="SS0301",
        level=AlertLevel.breach,
        escalation_level=1,
        escalate_to=["duty_officer"],
        started_at=old,
        due_at=old,
        raised_at=old,
        version=1,
        sensitivity=Sensitivity.restricted,
    )
    e8 = envelope(breach, subject=alert_id, at=old)
    events = [e1, e2, e3, e4, e5, e6, e7, e8]

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
                alerted = await session.scalar(
                    select(alerts.c.pcode).where(alerts.c.alert_id == alert_id)
                )
                return (
                    chained is not None
                    and modelled is not None
                    and len(held) == 3
                    and alerted == "SS0301"
                )

        await projected(applied, kafka_bootstrap)
        legacy_id = await append_legacy_read(runtime, old)
        old_log_id, recent_log_id = uuid.uuid4(), uuid.uuid4()
        async with runtime.sessionmaker() as session, session.begin():
            for log_id, at in ((old_log_id, old), (recent_log_id, recent)):
                await session.execute(
                    insert(access_log).values(
                        id=log_id,
                        subject="po-monitoring-reader",
                        roles=["protection_officer"],
                        route="/api/map",
                        records="aid_request",
                        entity_ids=[str(expired_request)],
                        restricted_records=1,
                        purpose="Nyandeng follow-up",
                        at=at,
                    )
                )
        async with runtime.sessionmaker() as session, session.begin():
            records = await purge_expired(session, settings)
        # One record per class that purged something (internal: `test_retention_internal`).
        (record,) = [r for r in records if r.purged_sensitivity is Sensitivity.restricted]
        assert isinstance(record, RetentionPurgedV2)
        assert record.purged_sensitivity is Sensitivity.restricted
        assert record.audit_payloads >= 3 and record.requests >= 1 and record.incidents >= 1
        assert record.audit_purposes >= 2 and record.alerts >= 1 and record.access_entries >= 1

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
            logged = dict(
                (
                    await session.execute(
                        select(access_log.c.id, access_log.c.purpose).where(
                            access_log.c.id.in_([old_log_id, recent_log_id])
                        )
                    )
                ).all()
            )
            alert_pcode = await session.scalar(
                select(alerts.c.pcode).where(alerts.c.alert_id == alert_id)
            )
            legacy = (
                await session.execute(select(audit_log).where(audit_log.c.event_id == legacy_id))
            ).one()
        assert logged == {old_log_id: None, recent_log_id: "Nyandeng follow-up"}
        assert alert_pcode == "SS03"
        # The reads past the period: the purpose is gone, who read what and when stays.
        for event, reader in ((e5, "po-reader"), (e6, "po-monitoring-reader")):
            row = rows[event.id]
            assert row.canonical is not None and "Nyandeng" not in row.canonical
            assert (row.redaction_salt, row.purged_at) == (None, None) and row.redacted_at
            data = orjson.loads(row.canonical)["data"]
            assert data["purpose"]["redacted"].startswith("sha256:")
            assert reader in (data.get("actor"), data.get("subject"))
        assert rows[e6.id].actor == "po-monitoring-reader"
        recent_row = rows[e7.id]
        assert orjson.loads(recent_row.canonical)["data"]["purpose"] == "recent review"
        assert recent_row.redaction_salt is not None and recent_row.redacted_at is None
        # Chained before redaction existed: the whole payload goes.
        assert legacy.canonical is None and legacy.purged_at is not None

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
                        audit_log.c.event_type == "concord.monitoring.retention.purged.v2",
                        audit_log.c.subject == str(record.purge_id),
                    )
                )

        chained_purge = await projected(purge_chained, kafka_bootstrap)
        assert str(record.purge_id) in chained_purge and "Nyandeng" not in chained_purge
        async with runtime.sessionmaker() as session:
            purge_rows = {
                row.event_type: row
                for row in (
                    await session.execute(
                        select(audit_log).where(audit_log.c.subject == str(record.purge_id))
                    )
                ).all()
            }
        # v2 has no `sensitivity`: no later purge takes it. v1 still goes out beside it.
        assert purge_rows["concord.monitoring.retention.purged.v2"].sensitivity is None
        if "concord.monitoring.retention.purged.v1" not in purge_rows:

            async def superseded_chained() -> Any:
                async with runtime.sessionmaker() as session:
                    return await session.scalar(
                        select(audit_log.c.sensitivity).where(
                            audit_log.c.event_type == "concord.monitoring.retention.purged.v1",
                            audit_log.c.subject == str(record.purge_id),
                        )
                    )

            assert await projected(superseded_chained, kafka_bootstrap) == "restricted"
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
            rebuilt_alert = await session.scalar(
                select(alerts.c.pcode).where(alerts.c.alert_id == alert_id)
            )
        assert (again.title, again.lat, again.lon) == (None, None, None)
        assert (again_incident.lat, again_incident.lon) == (None, None)
        assert kept.title is not None
        assert rebuilt_alert == "SS03"
