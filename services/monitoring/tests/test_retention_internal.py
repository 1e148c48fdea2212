"""Retention of the internal class in monitoring (issue 13): an internal request that ended
past `MONITORING_RETENTION_INTERNAL_DAYS` and an internal incident that old lose what a
reporter typed about people from every text column of the read models and from their audit
payloads (and their offers'); the chain still verifies, the purge is recorded for the
internal class, a rebuild does not bring it back, and recent or still-open records are kept.

Real Kafka and Postgres: the events go to the real topics, monitoring's consumers apply them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.audit.chain import verify_chain
from services.monitoring.config import Settings
from services.monitoring.db.models.audit import audit_log
from services.monitoring.db.models.read_models import (
    incidents,
    offers,
    request_history,
    requests,
)
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
from shared.runtime import ServiceRuntime
from shared.testing import serve_in_process
from shared.vocabulary import Sector, Sensitivity, Urgency

pytestmark = pytest.mark.integration

PLANTED = "Planted-Internal Achol Deng"


def _ended_request(request_id: uuid.UUID, at: datetime) -> list[Any]:
    """Submitted then cancelled at `at`, with the planted name in its title and reason."""
    base: dict[str, Any] = dict(
        request_id=request_id,
        sector=Sector.shelter_nfi,
        pcode="SS0401",
        admin1="SS04",
        sensitivity=Sensitivity.internal,
        submitted_at=at,
        updated_at=at,
    )
    submitted = aid_request(version=1, status=hr.RequestStatus.submitted, **base)
    cancelled = aid_request(
        hr.AidRequestCancelled,
        version=2,
        status=hr.RequestStatus.cancelled,
        cancelled_at=at,
        **base,
    )
    submitted = submitted.model_copy(update={"title": f"Shelter for {PLANTED}"})
    cancelled = cancelled.model_copy(
        update={"title": f"Shelter for {PLANTED}", "cancellation_reason": f"{PLANTED} moved"}
    )
    return [
        envelope(submitted, subject=request_id, at=at),
        envelope(cancelled, subject=request_id, at=at),
    ]


def _declined_offer(
    request_id: uuid.UUID, at: datetime, sensitivity: Sensitivity = Sensitivity.internal
) -> Any:
    offer_id = uuid.uuid4()
    offer = hr.OfferDeclined(
        offer_id=offer_id,
        request_id=request_id,
        ngo_id=uuid.uuid4(),
        status=hr.OfferStatus.declined,
        round=1,
        rank=1,
        score=0.5,
        explanation=[],
        request=hr.OpenRequestSummary(
            request_id=request_id,
            sector=Sector.shelter_nfi,
            urgency=Urgency.urgent,
            pcode="SS0401",
            admin1="SS04",
            items=[],
            affected_total=100,
            priority_score=50.0,
            submitted_at=at,
            details_withheld=sensitivity is Sensitivity.restricted,
        ),
        sensitivity=sensitivity,
        offered_at=at,
        respond_by=at + timedelta(hours=4),
        responded_at=at,
        decline_reason=f"We cannot reach {PLANTED}",
        updated_at=at,
        version=2,
    )
    return envelope(offer, subject=offer_id, at=at)


def _incident(incident_id: uuid.UUID, at: datetime) -> Any:
    reported = incident(incident_id=incident_id, version=1, pcode="SS0401", occurred_at=at)
    reported = reported.model_copy(update={"description": f"{PLANTED} was seen"})
    return envelope(reported, subject=incident_id, at=at)


def _texts(row: Any) -> str:
    return str(tuple(row))


async def test_internal_records_past_their_period_lose_their_personal_data(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings(
        retention_restricted_days=365,
        retention_internal_days=730,
        retention_sweep_interval_seconds=3600,
    )
    old, recent = now() - timedelta(days=800), now() - timedelta(days=30)
    expired_id, recent_id, open_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    expired_events = _ended_request(expired_id, old)
    recent_events = _ended_request(recent_id, recent)  # ended, but within the period
    # Old but never ended: kept, as the requests service keeps it.
    still_open = aid_request(
        request_id=open_id,
        version=1,
        status=hr.RequestStatus.submitted,
        submitted_at=old,
        updated_at=old,
        pcode="SS0401",
        admin1="SS04",
        sensitivity=Sensitivity.internal,
    ).model_copy(update={"title": f"Open for {PLANTED}"})
    open_event = envelope(still_open, subject=open_id, at=old)
    offer_event = _declined_offer(expired_id, old)
    # An offer carries its request's class: a restricted one is chained as restricted, so
    # the restricted purge takes its payload (before offers had a class, none did).
    restricted_offer = _declined_offer(uuid.uuid4(), old, Sensitivity.restricted)
    old_incident, recent_incident = uuid.uuid4(), uuid.uuid4()
    # Occurred as long ago as the old one, but changed lately (linked, reclassified): still
    # worked on, so kept, as the requests service keeps it (its last change is the clock).
    worked_on = uuid.uuid4()
    first = incident(incident_id=worked_on, version=1, pcode="SS0401", occurred_at=old)
    worked_on_data = hr.IncidentUpdated(
        **first.model_dump(exclude={"updated_at", "version", "description"}),
        updated_at=recent,
        version=2,
        description=f"{PLANTED} was seen",
        change="reclassified",
        actor="protection_officer:po-1",
    )
    worked_on_event = envelope(worked_on_data, subject=worked_on, at=recent)
    incident_events = [
        _incident(old_incident, old),
        _incident(recent_incident, recent),
        worked_on_event,
    ]
    events = [
        *expired_events,
        *recent_events,
        open_event,
        offer_event,
        restricted_offer,
        *incident_events,
    ]

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
                # Both groups, every record: the read models say which audit rows are due.
                statuses = dict(
                    (
                        await session.execute(
                            select(requests.c.request_id, requests.c.status).where(
                                requests.c.request_id.in_([expired_id, recent_id, open_id])
                            )
                        )
                    ).all()
                )
                offered = await session.scalar(
                    select(func.count()).where(
                        offers.c.offer_id.in_(
                            [uuid.UUID(offer_event.subject), uuid.UUID(restricted_offer.subject)]
                        )
                    )
                )
                modelled = await session.scalar(
                    select(func.count()).where(
                        incidents.c.incident_id.in_([old_incident, recent_incident, worked_on])
                    )
                )
                return (
                    chained is not None
                    and statuses
                    == {expired_id: "cancelled", recent_id: "cancelled", open_id: "submitted"}
                    and offered == 2
                    and modelled == 3
                )

        await projected(applied, kafka_bootstrap)

        async def read_models(request_id: uuid.UUID) -> str:
            async with runtime.sessionmaker() as session:
                row = (
                    await session.execute(
                        select(requests).where(requests.c.request_id == request_id)
                    )
                ).one()
                history = (
                    await session.execute(
                        select(request_history).where(request_history.c.request_id == request_id)
                    )
                ).all()
            assert history  # the history rows are there to be scanned
            return _texts(row) + "".join(_texts(h) for h in history)

        # The positive control: the planted text is where the scan looks, before the purge.
        assert PLANTED in await read_models(expired_id)

        async with runtime.sessionmaker() as session, session.begin():
            records = await purge_expired(session, settings)
        (record,) = [r for r in records if r.purged_sensitivity is Sensitivity.internal]
        assert record.retention_days == 730
        # Two request events, the offer's and the incident's payloads.
        assert record.audit_payloads >= 4 and record.requests >= 1 and record.incidents >= 1

        assert PLANTED not in await read_models(expired_id)
        assert PLANTED in await read_models(recent_id)
        assert PLANTED in await read_models(open_id)
        async with runtime.sessionmaker() as session:
            rows = {
                row.event_id: row
                for row in (
                    await session.execute(
                        select(audit_log).where(audit_log.c.event_id.in_([e.id for e in events]))
                    )
                ).all()
            }
            by_incident = {
                row.incident_id: row
                for row in (
                    await session.execute(
                        select(incidents).where(
                            incidents.c.incident_id.in_([old_incident, recent_incident, worked_on])
                        )
                    )
                ).all()
            }
        assert rows[restricted_offer.id].sensitivity == "restricted"
        for event in (*expired_events, offer_event, restricted_offer, incident_events[0]):
            row = rows[event.id]
            assert row.canonical is None and row.purged_at is not None and row.payload_digest
        for event in (*recent_events, open_event, *incident_events[1:]):
            assert PLANTED in rows[event.id].canonical and rows[event.id].purged_at is None
        assert (by_incident[old_incident].lat, by_incident[old_incident].lon) == (None, None)
        assert by_incident[old_incident].pcode == "SS0401"  # the figures stay
        assert by_incident[recent_incident].lat is not None
        assert by_incident[worked_on].lat == worked_on_data.location.lat
        assert by_incident[worked_on].updated_at == recent

        async with runtime.engine.connect() as conn:
            verification = await verify_chain(conn)
        assert verification.ok, verification.summary()

        # The purge is chained for its class, holding none of the data.
        async def purge_chained() -> Any:
            async with runtime.sessionmaker() as session:
                return await session.scalar(
                    select(audit_log.c.canonical).where(
                        audit_log.c.event_type == "concord.monitoring.retention.purged.v2",
                        audit_log.c.subject == str(record.purge_id),
                    )
                )

        chained_purge = await projected(purge_chained, kafka_bootstrap)
        assert '"purged_sensitivity":"internal"' in chained_purge.replace(" ", "")
        assert PLANTED not in chained_purge

        # A second pass finds nothing of the internal class.
        async with runtime.sessionmaker() as session, session.begin():
            again = await purge_expired(session, settings)
        assert all(r.purged_sensitivity is not Sensitivity.internal for r in again)

        # A rebuild replays the topics (which still hold the old events): nothing comes back.
        await rebuild(settings)
        assert PLANTED not in await read_models(expired_id)
        assert PLANTED in await read_models(recent_id)
        async with runtime.sessionmaker() as session:
            rebuilt = (
                await session.execute(
                    select(incidents).where(incidents.c.incident_id == old_incident)
                )
            ).one()
        assert (rebuilt.lat, rebuilt.lon) == (None, None)
