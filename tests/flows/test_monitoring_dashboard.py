"""The dashboard in a real headless Chromium: it loads, shows KPIs from seeded data, and an
event published afterwards appears on the page without a reload (SSE). The token goes in
through the login form and travels only in headers: the live stream opens with a ticket."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.tests.factories import (
    aid_request,
    all_consumed,
    envelope,
    eventually,
    incident,
    ngo,
    now,
    publish,
)
from services.monitoring.tests.planning_factories import conflict, operation, participant, task
from shared.auth import issue_token
from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import joint_planning as jp
from shared.testing import serve_over_http
from shared.vocabulary import Sector, Urgency

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"
)
async def test_dashboard_shows_kpis_and_live_events(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    from playwright.async_api import async_playwright

    settings = Settings()
    token = issue_token(settings, subject="duty-officer", roles=["ops_centre"])
    headers = {"Authorization": f"Bearer {token}"}
    ngo_id = uuid.uuid4()
    seeded = [uuid.uuid4() for _ in range(3)]
    t0 = now() - timedelta(minutes=30)
    events = [
        envelope(
            ngo(ngo_id=ngo_id, version=1, name="Dashboard NGO", grants=[(Sector.health, ["SS05"])]),
            subject=ngo_id,
        ),
        envelope(
            incident(incident_id=uuid.uuid4(), version=1, pcode="SS0501", occurred_at=now()),
            subject=uuid.uuid4(),
        ),
    ] + [
        envelope(
            aid_request(
                request_id=r,
                version=1,
                status=hr.RequestStatus.submitted,
                submitted_at=t0,
                sector=Sector.health,
                pcode="SS0501",
                admin1="SS05",
                people=120,
            ),
            subject=r,
        )
        for r in seeded
    ]
    # Joint planning: an operation with an overdue task, and a movement in conflict with it,
    # dated long ago so that they sort first in the panels.
    operation_id, task_id, conflict_id, notification_id = (uuid.uuid4() for _ in range(4))
    lead = participant(name="Dashboard lead")
    long_ago = t0.replace(year=2001)
    events += [
        envelope(
            operation(
                operation_id=operation_id, version=1, title="Dashboard op", participants=[lead]
            ),
            subject=operation_id,
        ),
        envelope(
            task(
                jp.TaskOverdue,
                task_id=task_id,
                operation_id=operation_id,
                owner=lead.participant_id,
                version=2,
                due_at=long_ago,
                overdue=True,
            ),
            subject=task_id,
        ),
        envelope(
            conflict(
                conflict_id=conflict_id,
                notification_id=notification_id,
                ngo_id=ngo_id,
                source_id=operation_id,
                version=1,
                between_start=long_ago,
            ),
            subject=notification_id,
        ),
    ]
    async with (
        serve_over_http(create_app(settings)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        await publish(kafka_bootstrap, events)

        async def seeded_visible() -> bool:
            detail = await client.get(f"/api/requests/{seeded[-1]}", headers=headers)
            return detail.status_code == 200

        await eventually(seeded_visible)
        # The read models also hold what earlier tests published, consumed at the app's pace
        # on other partitions: the KPIs are compared once the whole topic is in, so the card
        # and the API count the same requests.
        await all_consumed(kafka_bootstrap, "monitoring.read_models", events)
        kpis = (await client.get("/api/kpis", headers=headers)).json()
        assert kpis["requests_open"] >= 3

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = await browser.new_page(viewport={"width": 1400, "height": 1500})
                requested: list[str] = []
                page.on("request", lambda request: requested.append(request.url))
                await page.goto(f"{base}/")
                await page.locator("#token").fill(token)
                await page.locator("#login button[type=submit]").click()
                open_card = page.locator('[data-kpi="requests_open"] .value')
                await open_card.wait_for()
                shown = int((await open_card.inner_text()).replace(",", ""))
                assert shown == kpis["requests_open"]
                assert await page.locator("#map circle.req").count() >= 1
                assert "health" in await page.locator("#gaps").inner_text()
                await page.locator("#live-status.on").wait_for()
                # The planning panels (refreshed by the live stream as those events arrive).
                shown_conflict = page.locator(f'#conflicts [data-conflict="{conflict_id}"]')
                await shown_conflict.wait_for(timeout=30_000)
                assert "Dashboard op" in await shown_conflict.inner_text()
                await page.locator(f'#overdue [data-task="{task_id}"]').wait_for(timeout=30_000)
                assert await page.locator('[data-kpi="conflicts_open"]').count() == 1

                fresh = uuid.uuid4()
                await publish(
                    kafka_bootstrap,
                    [
                        envelope(
                            aid_request(
                                request_id=fresh,
                                version=1,
                                status=hr.RequestStatus.submitted,
                                submitted_at=now(),
                                sector=Sector.wash,
                                pcode="SS0502",
                                admin1="SS05",
                                urgency=Urgency.life_threatening,
                                people=40,
                            ),
                            subject=fresh,
                        )
                    ],
                )
                # Pushed over SSE: the event shows up in the live feed, no reload.
                item = page.locator("#feed li", has_text=str(fresh)[:8])
                await item.wait_for(timeout=30_000)
                assert "SS0502" in await item.inner_text()
                await page.wait_for_function(
                    "expected => Number(document.querySelector("
                    "'[data-kpi=\"requests_open\"] .value').textContent.replace(/,/g, ''))"
                    " >= expected",
                    arg=shown + 1,
                    timeout=30_000,
                )
                await item.locator("button").click()
                await page.locator("#detail-panel:not([hidden])").wait_for()
                assert "submitted" in await page.locator("#detail").inner_text()
                # No URL the page asked for carried the token; the stream opened with a ticket.
                assert not [url for url in requested if token in url]
                streams = [url for url in requested if urlsplit(url).path == "/api/live"]
                assert streams and all("ticket" in parse_qs(urlsplit(u).query) for u in streams)
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            finally:
                await browser.close()

        # The page itself loads without a token; its data does not.
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/api/kpis")).status_code == 401
