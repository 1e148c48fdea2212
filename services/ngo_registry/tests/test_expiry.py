"""The expiry sweep: early warning once, agreement and vetting expiry, idempotence."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.ngo_registry.app import create_app
from services.ngo_registry.config import Settings
from services.ngo_registry.expiry.service import sweep_once
from services.ngo_registry.tests.helpers import (
    TODAY,
    create_active_agreement,
    create_vetted_ngo,
    outbox_events,
    staff,
)
from shared.testing import serve_in_process

pytestmark = pytest.mark.integration


async def test_agreement_warned_once_then_expired(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    agreement = await create_active_agreement(
        client, settings, [ngo["ngo_id"]], ends_on=str(TODAY + timedelta(days=10))
    )
    agreement_id = agreement["agreement_id"]
    sessionmaker = app.state.runtime.sessionmaker

    # 10 days left, lead time 30: warn, once, however often the sweep runs.
    for _ in range(2):
        await sweep_once(sessionmaker, today=TODAY, lead_days=30)
    events = await outbox_events(app, agreement_id)
    expiring = [e for e in events if e["type"].endswith("agreement.expiring.v1")]
    assert len(expiring) == 1
    assert expiring[0]["data"]["days_left"] == 10

    # The day after its end: expired, and the party is no longer eligible.
    after_end = TODAY + timedelta(days=11)
    await sweep_once(sessionmaker, today=after_end, lead_days=30)
    await sweep_once(sessionmaker, today=after_end, lead_days=30)
    events = await outbox_events(app, agreement_id)
    assert [e["type"] for e in events].count("concord.ngo_registry.agreement.expired.v1") == 1
    read = await client.get(f"/agreements/{agreement_id}", headers=staff(settings))
    assert read.json()["status"] == "expired"
    last = (await outbox_events(app, ngo["ngo_id"]))[-1]
    assert last["type"] == "concord.ngo_registry.ngo.eligibility_changed.v1"
    assert last["data"]["eligible"] is False


async def test_outside_lead_time_no_warning(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    agreement = await create_active_agreement(
        client, settings, [ngo["ngo_id"]], ends_on=str(TODAY + timedelta(days=60))
    )
    await sweep_once(app.state.runtime.sessionmaker, today=TODAY, lead_days=30)
    types = [e["type"] for e in await outbox_events(app, agreement["agreement_id"])]
    assert not any(t.endswith("expiring.v1") for t in types)


async def test_vetting_expires_and_can_be_resubmitted(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    await create_active_agreement(client, settings, [ngo["ngo_id"]])
    past_expiry = TODAY + timedelta(days=366)  # helpers vet for 365 days
    await sweep_once(app.state.runtime.sessionmaker, today=past_expiry, lead_days=0)
    await sweep_once(app.state.runtime.sessionmaker, today=past_expiry, lead_days=0)

    events = await outbox_events(app, ngo["ngo_id"])
    expiries = [e for e in events if e["data"].get("vetting_status") == "expired"]
    assert len(expiries) == 1
    assert expiries[0]["data"]["decided_by"].startswith("system")
    assert expiries[0]["data"]["eligible"] is False
    history = (await client.get(f"/ngos/{ngo['ngo_id']}/vetting", headers=staff(settings))).json()
    assert history[-1]["action"] == "expire"

    resubmit = await client.post(
        f"/ngos/{ngo['ngo_id']}/vetting", json={"action": "resubmit"}, headers=staff(settings)
    )
    assert resubmit.json()["vetting_status"] == "submitted"


async def test_concurrent_sweeps_expire_once(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_vetted_ngo(client, settings)
    agreement = await create_active_agreement(
        client, settings, [ngo["ngo_id"]], ends_on=str(TODAY + timedelta(days=3))
    )
    sessionmaker = app.state.runtime.sessionmaker
    later = TODAY + timedelta(days=4)
    # Two replicas sweeping at once: SKIP LOCKED shares the rows, nothing happens twice.
    await asyncio.gather(*(sweep_once(sessionmaker, today=later, lead_days=30) for _ in range(3)))
    types = [e["type"] for e in await outbox_events(app, agreement["agreement_id"])]
    assert types.count("concord.ngo_registry.agreement.expired.v1") == 1


async def test_the_running_service_sweeps_by_itself(
    stack: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGO_REGISTRY_SWEEP_INTERVAL", "0.2")
    monkeypatch.setenv("NGO_REGISTRY_AGREEMENT_LEAD_DAYS", "30")
    settings = Settings()
    app = create_app(settings)
    async with serve_in_process(app) as client:
        ngo = await create_vetted_ngo(client, settings)
        agreement = await create_active_agreement(
            client, settings, [ngo["ngo_id"]], ends_on=str(TODAY + timedelta(days=5))
        )

        async def warned() -> bool:
            events = await outbox_events(app, agreement["agreement_id"])
            return any(e["type"].endswith("agreement.expiring.v1") for e in events)

        for _ in range(300):  # the background task, not this test, must emit it
            if await warned():
                break
            await asyncio.sleep(0.1)
        assert await warned()
