"""The vetting workflow: every path, illegal steps, checks, sanctions, history, access."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.ngo_registry.app import create_app
from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import (
    ALL_CHECKS,
    TODAY,
    create_ngo,
    create_vetted_ngo,
    outbox_events,
    vetting,
)
from shared.testing import bearer, problem_of, serve_in_process

pytestmark = pytest.mark.integration

NEXT_YEAR = str(TODAY + timedelta(days=365))


async def test_submitted_reviewed_vetted_suspended_reinstated(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    ngo_id = ngo["ngo_id"]
    review = await vetting(client, settings, ngo_id, "start_review")
    assert review.json()["vetting_status"] == "under_review"
    vetted = await vetting(
        client,
        settings,
        ngo_id,
        "vet",
        checks=ALL_CHECKS,
        vetted_until=NEXT_YEAR,
        reason="all checks passed",
        notes="CONFIDENTIAL-NOTE",
    )
    assert vetted.status_code == 200
    assert vetted.json()["vetting_status"] == "vetted"
    assert vetted.json()["vetted_until"] == NEXT_YEAR
    suspended = await vetting(client, settings, ngo_id, "suspend", reason="audit finding")
    assert suspended.json()["vetting_status"] == "suspended"
    reinstated = await vetting(client, settings, ngo_id, "reinstate", reason="audit closed")
    assert reinstated.json()["vetting_status"] == "vetted"

    events = [e for e in await outbox_events(app, ngo_id) if "vetting_changed" in e["type"]]
    assert [(e["data"]["previous_status"], e["data"]["vetting_status"]) for e in events] == [
        ("submitted", "under_review"),
        ("under_review", "vetted"),
        ("vetted", "suspended"),
        ("suspended", "vetted"),
    ]
    # The NGO topic names no staff member and carries no reason they typed (data
    # responsibility); the vetting history below keeps both for staff.
    assert events[2]["data"]["reason"] is None
    assert all(e["data"]["decided_by"] == "mission:vetting" for e in events)
    assert all("officer-amina" not in str(e) and "audit finding" not in str(e) for e in events)
    assert all("CONFIDENTIAL-NOTE" not in str(e) for e in events)
    assert all("checks" not in e["data"] for e in events)

    history = await client.get(
        f"/ngos/{ngo_id}/vetting", headers=bearer(settings, "admin", subject="admin-1")
    )
    assert history.status_code == 200
    steps = history.json()
    assert [s["action"] for s in steps] == [
        "submit",
        "start_review",
        "vet",
        "suspend",
        "reinstate",
    ]
    vet_step = steps[2]
    assert vet_step["decided_by"] == "officer-amina" and vet_step["decided_at"]
    assert vet_step["notes"] == "CONFIDENTIAL-NOTE"
    assert vet_step["checks"]["sanctions_screening"]["passed"] is True
    assert vet_step["checks"]["neutrality_declaration"]["passed"] is True
    assert vet_step["checks"]["registrations_on_file"][0]["current"] is True


async def test_rejected_then_resubmitted_by_the_ngo(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    ngo_id = ngo["ngo_id"]
    await vetting(client, settings, ngo_id, "start_review")
    rejected = await vetting(client, settings, ngo_id, "reject", reason="no safeguarding policy")
    assert rejected.json()["vetting_status"] == "rejected"

    # Vetting a rejected NGO without resubmission is not allowed.
    illegal = await vetting(
        client, settings, ngo_id, "vet", checks=ALL_CHECKS, vetted_until=NEXT_YEAR
    )
    assert illegal.status_code == 409
    problem = problem_of(illegal)
    assert problem["current_status"] == "rejected"
    assert problem["allowed_actions"] == ["resubmit"]

    own = bearer(settings, "ngo", ngo_id=ngo_id)
    resubmitted = await vetting(client, settings, ngo_id, "resubmit", headers=own)
    assert resubmitted.status_code == 200
    assert resubmitted.json()["vetting_status"] == "submitted"


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], "vet"),
        ([], "suspend"),
        ([], "reinstate"),
        (["start_review"], "start_review"),
        (["start_review"], "resubmit"),
    ],
)
async def test_illegal_transitions_are_409(
    client: httpx.AsyncClient, settings: Settings, setup: list[str], action: str
) -> None:
    ngo = await create_ngo(client, settings)
    for step in setup:
        assert (await vetting(client, settings, ngo["ngo_id"], step)).status_code == 200
    before = await client.get(f"/directory/{ngo['ngo_id']}", headers=bearer(settings, "admin"))
    response = await vetting(
        client,
        settings,
        ngo["ngo_id"],
        action,
        reason="r",
        checks=ALL_CHECKS,
        vetted_until=NEXT_YEAR,
    )
    assert response.status_code == 409
    assert problem_of(response)["type"].endswith("invalid-transition")
    after = await client.get(f"/directory/{ngo['ngo_id']}", headers=bearer(settings, "admin"))
    assert after.json()["version"] == before.json()["version"]


async def test_vet_needs_every_check_and_a_future_expiry(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    ngo_id = ngo["ngo_id"]
    await vetting(client, settings, ngo_id, "start_review")
    failing = {**ALL_CHECKS, "references": {"passed": False, "note": "no answer"}}
    response = await vetting(
        client, settings, ngo_id, "vet", checks=failing, vetted_until=NEXT_YEAR
    )
    assert response.status_code == 409
    assert problem_of(response)["failed_checks"] == ["references"]

    no_checks = await vetting(client, settings, ngo_id, "vet", vetted_until=NEXT_YEAR)
    assert no_checks.status_code == 422
    past = await vetting(
        client, settings, ngo_id, "vet", checks=ALL_CHECKS, vetted_until=str(TODAY)
    )
    assert past.status_code == 422
    assert problem_of(past)["field"] == "vetted_until"
    no_reason = await vetting(client, settings, ngo_id, "reject")
    assert no_reason.status_code == 422
    unknown_action = await vetting(client, settings, ngo_id, "bless")
    assert unknown_action.status_code == 422
    status = await client.get(f"/directory/{ngo_id}", headers=bearer(settings, "admin"))
    assert status.json()["vetting_status"] == "under_review"


async def test_sanctions_hit_blocks_vetting(client: httpx.AsyncClient, settings: Settings) -> None:
    # "Horizon Relief Front" is on the bundled demo sanctions list.
    ngo = await create_ngo(client, settings, name="Horizon Relief Front")
    await vetting(client, settings, ngo["ngo_id"], "start_review")
    response = await vetting(
        client, settings, ngo["ngo_id"], "vet", checks=ALL_CHECKS, vetted_until=NEXT_YEAR
    )
    assert response.status_code == 409
    problem = problem_of(response)
    assert problem["failed_checks"] == ["sanctions_screening"]
    assert problem["sanctions_matches"][0]["listed_name"] == "Horizon Relief Front"


async def test_sanctions_file_is_configurable(
    stack: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = tmp_path / "list.csv"
    listed.write_text(
        "name,registration_number,country,listed_on,source\n,MATCH-ME-42,SS,2025-01-01,test list\n"
    )
    monkeypatch.setenv("NGO_REGISTRY_SANCTIONS_FILE", str(listed))
    settings = Settings()
    assert settings.sanctions_file == listed
    async with serve_in_process(create_app(settings)) as client:
        registration = {"country": "SS", "registration_number": "MATCH-ME-42", "legal_status": "x"}
        ngo = await create_ngo(client, settings, registrations=[registration])
        await vetting(client, settings, ngo["ngo_id"], "start_review")
        response = await vetting(
            client, settings, ngo["ngo_id"], "vet", checks=ALL_CHECKS, vetted_until=NEXT_YEAR
        )
    assert response.status_code == 409
    assert (
        problem_of(response)["sanctions_matches"][0]["matched_on"] == "registration SS/MATCH-ME-42"
    )


async def test_stale_if_match_on_a_decision_is_412(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ngo = await create_ngo(client, settings)
    headers = {**bearer(settings, "ops_centre"), "If-Match": f'"{ngo["version"] + 5}"'}
    response = await vetting(client, settings, ngo["ngo_id"], "start_review", headers=headers)
    assert response.status_code == 412


async def test_access_to_vetting(client: httpx.AsyncClient, settings: Settings) -> None:
    ngo = await create_vetted_ngo(client, settings)
    ngo_id = ngo["ngo_id"]
    own = bearer(settings, "ngo", ngo_id=ngo_id)
    other = bearer(settings, "ngo", ngo_id="00000000-0000-0000-0000-000000000001")
    field = bearer(settings, "field_unit")

    self_suspend = await vetting(client, settings, ngo_id, "suspend", headers=own, reason="x")
    assert self_suspend.status_code == 403
    assert (await vetting(client, settings, ngo_id, "resubmit", headers=other)).status_code == 404
    assert (await vetting(client, settings, ngo_id, "resubmit", headers=field)).status_code == 403
    assert (await client.get(f"/ngos/{ngo_id}/vetting", headers=own)).status_code == 403
    assert (await client.get(f"/ngos/{ngo_id}/vetting", headers=field)).status_code == 403
