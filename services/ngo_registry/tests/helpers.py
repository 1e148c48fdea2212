"""Small builders for the registry's tests: one NGO, one agreement, the outbox of a subject."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from services.ngo_registry.config import Settings
from shared.testing import bearer

TODAY = date.today()


def staff(settings: Settings) -> dict[str, str]:
    return bearer(settings, "ops_centre", subject="officer-amina")


def ngo_profile(**overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "name": f"Relief Org {tag}",
        "acronym": f"RO{tag[:3]}",
        "ngo_type": "national",
        "hq_country": "SS",
        "website": "https://example.org",
        "contacts": [{"name": "Grace", "role": "Director", "email": "grace@example.org"}],
        "registrations": [
            {
                "country": "SS",
                "registration_number": f"REG-{tag}",
                "legal_status": "registered NGO",
                "issued_on": "2020-01-01",
                "expires_on": "2030-01-01",
            }
        ],
        "sectors": ["wash", "health"],
        "capacities": [
            {"resource": "water_trucking", "quantity": 120, "unit": "m3/day"},
            {"resource": "staff", "quantity": 40, "unit": "persons"},
        ],
        "operating_areas": ["SS0101"],
        "operating_points": [],
        "languages": ["en", "ar"],
        "operational_approach": "community-based",
    }
    body.update(overrides)
    return body


async def create_ngo(
    client: httpx.AsyncClient, settings: Settings, **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/ngos", json=ngo_profile(**overrides), headers=staff(settings))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


PASSED = {"passed": True}
ALL_CHECKS = {
    "registration_valid": PASSED,
    "neutrality_declaration": PASSED,
    "safeguarding_policy": PASSED,
    "references": PASSED,
}


async def vetting(
    client: httpx.AsyncClient,
    settings: Settings,
    ngo_id: str,
    action: str,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    return await client.post(
        f"/ngos/{ngo_id}/vetting",
        json={"action": action, **fields},
        headers=headers or staff(settings),
    )


async def create_vetted_ngo(
    client: httpx.AsyncClient, settings: Settings, **overrides: Any
) -> dict[str, Any]:
    ngo = await create_ngo(client, settings, **overrides)
    assert (await vetting(client, settings, ngo["ngo_id"], "start_review")).status_code == 200
    vetted = await vetting(
        client,
        settings,
        ngo["ngo_id"],
        "vet",
        checks=ALL_CHECKS,
        vetted_until=str(TODAY + timedelta(days=365)),
        reason="all checks passed",
        notes="confidential: referee said fine",
    )
    assert vetted.status_code == 200, vetted.text
    body: dict[str, Any] = vetted.json()
    return body


def agreement_body(ngo_ids: list[str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "WASH partnership",
        "parties": [{"ngo_id": i, "role": "implementing partner"} for i in ngo_ids],
        "sectors": ["wash"],
        "pcodes": ["SS01"],
        "mission_responsibilities": ["escort convoys"],
        "reporting_obligations": [{"what": "activity report", "frequency_days": 30}],
        "starts_on": str(TODAY - timedelta(days=1)),
        "ends_on": str(TODAY + timedelta(days=200)),
        "signatories": ["SRSG", "NGO director"],
    }
    body.update(overrides)
    return body


async def create_active_agreement(
    client: httpx.AsyncClient, settings: Settings, ngo_ids: list[str], **overrides: Any
) -> dict[str, Any]:
    created = await client.post(
        "/agreements", json=agreement_body(ngo_ids, **overrides), headers=staff(settings)
    )
    assert created.status_code == 201, created.text
    agreement_id = created.json()["agreement_id"]
    active = await client.post(f"/agreements/{agreement_id}/activate", headers=staff(settings))
    assert active.status_code == 200, active.text
    body: dict[str, Any] = active.json()
    return body


async def outbox_events(app: FastAPI, subject: str) -> list[dict[str, Any]]:
    """The envelopes this service wrote for one subject, in outbox order."""
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT envelope FROM outbox WHERE message_key = :key ORDER BY id"),
            {"key": subject},
        )
        return [row.envelope for row in rows]


async def count(app: FastAPI, sql: str, **params: Any) -> int:
    async with app.state.runtime.sessionmaker() as session:
        return int(await session.scalar(text(sql), params) or 0)
