"""The monitoring API's edge: who may call it, and what bad input gets back."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from shared.testing import bearer, problem_of, serve_in_process

pytestmark = pytest.mark.integration


def quiet_app(settings: Settings) -> FastAPI:
    """The app without consumers or background tasks: these tests only read. (A consumer
    stopped while still joining its group leaves the group waiting for it, which would
    stall the next test's consumers.)"""
    app = create_app(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    return app


DATA_ROUTES = [
    "/api/kpis",
    "/api/funnel",
    "/api/gaps",
    "/api/hotspots",
    "/api/contributions",
    "/api/compliance",
    "/api/alerts",
    "/api/map",
    "/api/planning/conflicts",
    "/api/planning/overdue",
    "/api/audit/events",
    "/api/audit/verify",
    "/api/reports/sitrep",
    "/api/reports/3w.csv",
    "/api/reports/requests.csv",
    "/api/cap/messages",
]


async def test_data_needs_a_staff_token_and_rejects_bad_input(stack: LocalStack) -> None:
    settings = Settings()
    staff = bearer(settings, "ops_centre")
    async with serve_in_process(quiet_app(settings)) as client:
        page = await client.get("/")
        assert page.status_code == 200 and "Concord operations centre" in page.text
        assert (await client.get("/static/app.js")).status_code == 200

        for route in DATA_ROUTES:
            missing = await client.get(route)
            assert missing.status_code == 401, route
            problem_of(missing)
            for others in (
                bearer(settings, "ngo", ngo_id=uuid.uuid4()),
                bearer(settings, "field_unit", unit_id="unit-9"),
            ):
                wrong = await client.get(route, headers=others)
                assert wrong.status_code == 403, route
                problem_of(wrong)
            garbage = await client.get(route, headers={"Authorization": "Bearer nope"})
            assert garbage.status_code == 401, route
            assert (await client.get(route, headers=staff)).status_code == 200, route
        # The SSE stream takes a ticket, never a token in the query string (test_live.py).
        assert (await client.get("/api/live?token=nope")).status_code == 401
        assert (await client.get("/api/live?ticket=nope")).status_code == 401

        bad_inputs = [
            ("/api/funnel?group_by=colour", 422),
            ("/api/gaps?level=3", 422),
            ("/api/hotspots?days=0", 422),
            ("/api/alerts?limit=100000", 422),
            ("/api/planning/conflicts?limit=0", 422),
            ("/api/planning/overdue?limit=100000", 422),
            ("/api/requests/not-a-uuid", 422),
            (f"/api/requests/{uuid.uuid4()}", 404),
            ("/api/reports/sitrep?format=pdf", 422),
            ("/api/reports/sitrep?start=2026-11-02T00:00:00Z&end=2026-11-01T00:00:00Z", 422),
            ("/api/reports/sitrep?start=2026-11-01T00:00:00&end=2026-11-02T00:00:00", 422),
            ("/api/reports/3w.csv?start=yesterday", 422),
            ("/api/audit/events?since=not-a-time", 422),
        ]
        for route, status in bad_inputs:
            response = await client.get(route, headers=staff)
            assert response.status_code == status, (route, response.text)
            problem_of(response)


async def test_situation_report_in_json_and_html(stack: LocalStack) -> None:
    settings = Settings()
    staff = bearer(settings, "admin")
    async with serve_in_process(quiet_app(settings)) as client:
        period = {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
        response = await client.get("/api/reports/sitrep", params=period, headers=staff)
        assert response.headers["x-concord-sensitivity"] == "internal"
        report = response.json()
        assert report["sensitivity"] == "internal"
        assert report["period"]["start"].startswith("2026-01-01")
        assert {"kpis", "top_gaps", "hotspots", "contributions"} <= set(report["now"])
        page = await client.get(
            "/api/reports/sitrep", params=period | {"format": "html"}, headers=staff
        )
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["x-concord-sensitivity"] == "internal"
        assert "<h1>Situation report</h1>" in page.text and "<script" not in page.text
        export = await client.get("/api/reports/requests.csv", params=period, headers=staff)
        # An admin without a purpose: the coarsened export, restricted requests left out.
        assert export.headers["x-concord-sensitivity"] == "internal"
        three_w = await client.get("/api/reports/3w.csv", params=period, headers=staff)
        assert three_w.headers["x-concord-sensitivity"] == "internal"
        lines = export.text.splitlines()
        assert lines[1].startswith("#activity+id,#sector")
