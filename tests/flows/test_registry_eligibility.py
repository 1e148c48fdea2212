"""Flow: register → vet → agreement active → the NGO topic carries the NGO as eligible;
suspend → the topic carries it as ineligible. Real Postgres, real Kafka, the real relay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from deploy.stack import LocalStack
from services.ngo_registry.app import create_app
from services.ngo_registry.config import Settings
from shared.events.envelope import CloudEvent
from shared.events.schemas.ngo_registry import AGREEMENT_TOPIC, NGO_TOPIC, NgoState
from shared.testing import bearer, read_events, serve_in_process

pytestmark = pytest.mark.integration

CHECKS = {
    name: {"passed": True}
    for name in (
        "registration_valid",
        "neutrality_declaration",
        "safeguarding_policy",
        "references",
    )
}


async def test_eligibility_travels_on_the_ngo_topic(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings()
    officer = bearer(settings, "ops_centre", subject="flow-officer")
    today = date.today()
    async with serve_in_process(create_app(settings)) as client:
        registered = await client.post(
            "/ngos",
            json={
                "name": "Flow Water Partners",
                "ngo_type": "international",
                "hq_country": "KE",
                "sectors": ["wash"],
                "capacities": [{"resource": "water_trucking", "quantity": 80, "unit": "m3/day"}],
                "operating_areas": ["SS0101"],
                "contacts": [{"name": "Private Person", "email": "secret@example.org"}],
            },
            headers=officer,
        )
        assert registered.status_code == 201, registered.text
        ngo_id = registered.json()["ngo_id"]
        for step in (
            {"action": "start_review"},
            {
                "action": "vet",
                "checks": CHECKS,
                "vetted_until": str(today + timedelta(days=365)),
                "notes": "CONFIDENTIAL vetting note",
            },
        ):
            response = await client.post(f"/ngos/{ngo_id}/vetting", json=step, headers=officer)
            assert response.status_code == 200, response.text
        draft = await client.post(
            "/agreements",
            json={
                "title": "Juba WASH MoU",
                "parties": [{"ngo_id": ngo_id, "role": "implementing partner"}],
                "sectors": ["wash"],
                "pcodes": ["SS01"],
                "starts_on": str(today),
                "ends_on": str(today + timedelta(days=180)),
                "signatories": ["Head of Mission", "Country Director"],
            },
            headers=officer,
        )
        agreement_id = draft.json()["agreement_id"]
        activated = await client.post(f"/agreements/{agreement_id}/activate", headers=officer)
        assert activated.status_code == 200, activated.text

        def about_ngo(event: CloudEvent) -> bool:
            return bool(event.subject == ngo_id)

        def eligible(events: list[CloudEvent]) -> bool:
            return any(bool(NgoState.model_validate(e.data).eligible) for e in events)

        events = await read_events(
            kafka_bootstrap, [NGO_TOPIC.name], until=eligible, where=about_ngo
        )
        state = NgoState.model_validate(events[-1].data)
        assert state.eligible is True
        assert state.vetting_status == "vetted"
        assert [g.sector.value for g in state.eligibility] == ["wash"]
        assert str(state.eligibility[0].agreement_id) == agreement_id
        assert all(
            "CONFIDENTIAL" not in str(e.data) and "secret@" not in str(e.data) for e in events
        )
        activations = await read_events(
            kafka_bootstrap,
            [AGREEMENT_TOPIC.name],
            until=lambda found: any(e.type.endswith("activated.v1") for e in found),
            where=lambda e: e.subject == agreement_id,
        )
        assert activations[-1].data["status"] == "active"

        suspended = await client.post(
            f"/ngos/{ngo_id}/vetting",
            json={"action": "suspend", "reason": "safeguarding allegation under investigation"},
            headers=officer,
        )
        assert suspended.status_code == 200

        def suspended_seen(found: list[CloudEvent]) -> bool:
            return any(e.data.get("vetting_status") == "suspended" for e in found)

        events = await read_events(
            kafka_bootstrap, [NGO_TOPIC.name], until=suspended_seen, where=about_ngo
        )
    last = NgoState.model_validate(events[-1].data)
    assert last.vetting_status == "suspended"
    assert last.eligible is False and last.eligibility == []
    versions = [NgoState.model_validate(e.data).version for e in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert events[-1].type == "concord.ngo_registry.ngo.vetting_changed.v1"
