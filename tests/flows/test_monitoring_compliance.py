"""Agreement reporting compliance from real Kafka: an activated agreement's obligation falls
due every period, reports received (the registry's `agreement.report_submitted` events)
clear their periods, periods past due + grace without one are overdue; duplicate deliveries
change nothing, and a rebuild from the topics arrives at the same figures."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.rebuild import rebuild
from services.monitoring.tests.factories import envelope, eventually, now, publish
from shared.auth import issue_token
from shared.events.schemas import ngo_registry as reg
from shared.testing import bearer, serve_in_process, serve_over_http
from shared.vocabulary import Sector
from tests.flows.test_monitoring_dashboard import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

OBLIGATION = "activity report"


def activated(agreement_id: uuid.UUID, ngo_id: uuid.UUID, starts_on: date) -> reg.AgreementState:
    return reg.AgreementActivated(
        agreement_id=agreement_id,
        title=f"Compliance MoU {agreement_id.hex[:6]}",
        parties=[reg.AgreementParty(ngo_id=ngo_id, role="implementing partner")],
        sectors=[Sector.wash],
        pcodes=["SS01"],
        reporting_obligations=[reg.ReportingObligation(what=OBLIGATION, frequency_days=30)],
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=365),
        status=reg.AgreementStatus.active,
        signatories=["SRSG", "NGO director"],
        version=2,
        updated_at=now(),
    )


def submitted(
    agreement_id: uuid.UUID, ngo_id: uuid.UUID, period_end: date
) -> reg.AgreementReportSubmitted:
    return reg.AgreementReportSubmitted(
        submission_id=uuid.uuid4(),
        agreement_id=agreement_id,
        ngo_id=ngo_id,
        obligation=OBLIGATION,
        frequency_days=30,
        period_end=period_end,
        submitted_on=date.today(),
        summary="water points rehabilitated",
        submitted_by="ngo-reporter",
        submitted_at=now(),
    )


async def _entry(
    client: httpx.AsyncClient, headers: dict[str, str], agreement_id: uuid.UUID
) -> dict[str, Any] | None:
    response = await client.get("/api/compliance", headers=headers)
    assert response.status_code == 200, response.text
    for entry in response.json():
        if entry["agreement_id"] == str(agreement_id):
            found: dict[str, Any] = entry
            return found
    return None


async def test_reports_received_clear_overdue_periods_once(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    settings = Settings()
    assert settings.report_grace_days == 7
    agreement_id, ngo_id = uuid.uuid4(), uuid.uuid4()
    starts_on = date.today() - timedelta(days=95)
    # Periods end 65, 35 and 5 days ago: the first two are past due + 7 days of grace.
    first, second, third = (starts_on + timedelta(days=30 * k) for k in (1, 2, 3))
    staff = bearer(settings, "ops_centre")
    app = create_app(settings)
    app.state.runtime.run_background = False
    async with serve_in_process(app) as client:
        await publish(
            kafka_bootstrap,
            [envelope(activated(agreement_id, ngo_id, starts_on), subject=agreement_id)],
        )

        async def listed() -> dict[str, Any] | None:
            return await _entry(client, staff, agreement_id)

        entry = await eventually(listed)
        assert entry["reports_due_so_far"] == 3
        assert entry["reports_received"] == 0
        assert entry["reports_overdue"] == 2
        assert entry["next_due_on"] == str(starts_on + timedelta(days=120))
        (duty,) = entry["obligations"]
        assert duty["overdue_since"] == str(first)
        assert duty["periods"] == [
            {"due_on": str(first), "state": "overdue"},
            {"due_on": str(second), "state": "overdue"},
            {"due_on": str(third), "state": "due"},
        ]

        report = envelope(submitted(agreement_id, ngo_id, first), subject=agreement_id)
        await publish(kafka_bootstrap, [report])

        async def one_fewer() -> dict[str, Any] | None:
            found = await _entry(client, staff, agreement_id)
            return found if found and found["reports_received"] == 1 else None

        entry = await eventually(one_fewer)
        assert entry["reports_overdue"] == 1
        assert entry["obligations"][0]["overdue_since"] == str(second)
        assert [p["state"] for p in entry["obligations"][0]["periods"]] == [
            "reported",
            "overdue",
            "due",
        ]

        # The same event delivered again, and a second submission of the same period under a
        # new event id: neither counts. A report for the third period follows on the same key
        # (same partition, so it is applied after both) and tells us they were processed.
        again = submitted(agreement_id, ngo_id, first)
        marker = envelope(submitted(agreement_id, ngo_id, third), subject=agreement_id)
        await publish(kafka_bootstrap, [report, envelope(again, subject=agreement_id), marker])

        async def marker_seen() -> dict[str, Any] | None:
            found = await _entry(client, staff, agreement_id)
            return found if found and found["reports_received"] == 2 else None

        entry = await eventually(marker_seen)
        assert entry["reports_overdue"] == 1
        assert entry["reports_due_so_far"] == 3
        assert [p["state"] for p in entry["obligations"][0]["periods"]] == [
            "reported",
            "overdue",
            "reported",
        ]

        await rebuild(settings)
        assert await _entry(client, staff, agreement_id) == entry


async def test_grace_is_configurable(stack: LocalStack, kafka_bootstrap: str) -> None:
    """With no grace, a period is overdue the day after it fell due."""
    settings = Settings().model_copy(update={"report_grace_days": 0})
    agreement_id, ngo_id = uuid.uuid4(), uuid.uuid4()
    starts_on = date.today() - timedelta(days=95)
    app = create_app(settings)
    app.state.runtime.run_background = False
    async with serve_in_process(app) as client:
        await publish(
            kafka_bootstrap,
            [envelope(activated(agreement_id, ngo_id, starts_on), subject=agreement_id)],
        )
        headers = bearer(settings, "admin")

        async def listed() -> dict[str, Any] | None:
            return await _entry(client, headers, agreement_id)

        entry = await eventually(listed)
        assert entry["reports_due_so_far"] == 3
        assert entry["reports_overdue"] == 3


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"
)
async def test_dashboard_highlights_overdue_reports_and_updates_live(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    from playwright.async_api import async_playwright

    settings = Settings()
    token = issue_token(settings, subject="duty-officer", roles=["ops_centre"])
    headers = {"Authorization": f"Bearer {token}"}
    agreement_id, ngo_id = uuid.uuid4(), uuid.uuid4()
    starts_on = date.today() - timedelta(days=95)
    app = create_app(settings)  # background tasks on: the live listener is one
    async with serve_over_http(app) as base, httpx.AsyncClient(base_url=base) as client:
        await publish(
            kafka_bootstrap,
            [envelope(activated(agreement_id, ngo_id, starts_on), subject=agreement_id)],
        )

        async def listed() -> dict[str, Any] | None:
            return await _entry(client, headers, agreement_id)

        assert (await eventually(listed))["reports_overdue"] == 2
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = await browser.new_page(viewport={"width": 1400, "height": 1500})
                await page.goto(f"{base}/")
                await page.locator("#token").fill(token)
                await page.locator("#login button[type=submit]").click()
                cell = page.locator(f'#compliance span[data-agreement="{agreement_id}"]')
                await cell.wait_for()
                assert await cell.inner_text() == "2"
                assert await cell.get_attribute("class") == "overdue"
                assert "activity report" in (await cell.get_attribute("title") or "")
                await page.locator("#live-status.on").wait_for()

                await publish(
                    kafka_bootstrap,
                    [
                        envelope(
                            submitted(agreement_id, ngo_id, starts_on + timedelta(days=30)),
                            subject=agreement_id,
                        )
                    ],
                )
                # Pushed over SSE: the count drops without a reload.
                await page.wait_for_function(
                    "id => document.querySelector("
                    "`#compliance span[data-agreement=\"${id}\"]`)?.textContent === '1'",
                    arg=str(agreement_id),
                    timeout=30_000,
                )
                ARTIFACTS.mkdir(exist_ok=True)
                await page.locator("#compliance").screenshot(path=str(ARTIFACTS / "compliance.png"))
            finally:
                await browser.close()
