"""Exports against abuse: a per-principal rate limit (429 with `Retry-After`), and cells
that a spreadsheet would run as a formula written as text."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.reports.service import _csv_line, safe_cell
from shared.testing import bearer, problem_of, serve_in_process


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]
)
def test_a_formula_cell_is_written_as_text(cell: str) -> None:
    line = _csv_line(["Relief Org", cell, 42, None])
    parsed = next(csv.reader(io.StringIO(line, newline="")))
    assert parsed == ["Relief Org", "'" + cell, "42", ""]


@pytest.mark.parametrize("value", ["Relief Org", "#sector", "", 0, -5, 3.5, "a=b"])
def test_other_cells_are_kept_as_they_are(value: object) -> None:
    assert safe_cell(value) == value


@pytest.fixture(scope="module")
async def limited(stack: LocalStack) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:
    settings = Settings(rate_limit_export_burst=2, rate_limit_export_per_minute=1.0)
    app = create_app(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    async with serve_in_process(app) as client:
        yield settings, client


@pytest.mark.integration
async def test_exports_over_the_limit_are_429_with_retry_after(
    limited: tuple[Settings, httpx.AsyncClient],
) -> None:
    settings, client = limited
    staff = bearer(settings, "ops_centre", subject=f"exporter-{uuid.uuid4()}")
    for path in ("/api/reports/3w.csv", "/api/reports/sitrep"):
        served = await client.get(path, headers=staff)
        assert served.status_code == 200, (path, served.text)
    refused = await client.get("/api/reports/requests.csv", headers=staff)
    assert refused.status_code == 429, refused.text
    assert problem_of(refused)["limit"] == "export"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Dashboards are not exports: the same principal still reads them.
    assert (await client.get("/api/kpis", headers=staff)).status_code == 200
    other = bearer(settings, "ops_centre", subject=f"exporter-{uuid.uuid4()}")
    assert (await client.get("/api/reports/3w.csv", headers=other)).status_code == 200
