"""The 3W export is HXL that libhxl reads, and `concord export 3w` writes it byte for byte.

Events go to the real topics, monitoring (behind a real HTTP server, as the CLI needs one)
builds its read models from them, and the export of a period that holds only this test's
requests is read back through the API and through the CLI in a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import hxl
import pytest
import uvicorn
from fastapi import FastAPI

from deploy.stack import LocalStack
from services.monitoring.app import create_app
from services.monitoring.config import Settings
from services.monitoring.reports.service import THREE_W_HEADER, THREE_W_HXL
from services.monitoring.tests.factories import (
    aid_request,
    envelope,
    eventually,
    ngo,
    now,
    projected,
    publish,
)
from shared.events.schemas import humanitarian_requests as hr
from shared.testing import bearer, serve_in_process
from shared.vocabulary import Sector, Sensitivity

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[int]:
    """The app behind a real HTTP server on a free loopback port, lifespan included."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return (await client.get("/readyz")).status_code == 200
                return False

            await eventually(ready, timeout=60)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


async def concord(*args: str, port: int) -> tuple[int, bytes, bytes]:
    """Run the `concord` CLI as a user would, against monitoring on `port`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.cli",
        *args,
        cwd=REPO,
        env={**os.environ, "MONITORING_PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, stdout, stderr


async def test_three_w_is_hxl_and_the_cli_writes_exactly_what_the_api_returns(
    stack: LocalStack, kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = Settings()
    staff = bearer(settings, "ops_centre")
    ngo_id, fulfilled, cancelled = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    name = f"HXL Water {ngo_id.hex[:6]}"
    # A period in the past that nothing else in the suite submits requests in.
    t0 = now() - timedelta(days=400, minutes=ngo_id.int % 1000)
    period = {
        "start": (t0 - timedelta(minutes=1)).isoformat(),
        "end": (t0 + timedelta(minutes=1)).isoformat(),
    }
    events = [
        envelope(
            ngo(ngo_id=ngo_id, version=1, name=name, grants=[(Sector.wash, ["SS01"])]),
            subject=ngo_id,
        ),
        envelope(
            aid_request(
                hr.AidRequestFulfilled,
                request_id=fulfilled,
                version=6,
                status=hr.RequestStatus.fulfilled,
                submitted_at=t0,
                people=300,
                assigned_ngo_id=ngo_id,
                fulfilment=hr.Fulfilment.full,
                triaged_at=t0,
                offered_at=t0,
                accepted_at=t0,
                fulfilled_at=t0 + timedelta(seconds=30),
            ),
            subject=fulfilled,
        ),
        envelope(
            aid_request(
                hr.AidRequestCancelled,
                request_id=cancelled,
                version=2,
                status=hr.RequestStatus.cancelled,
                submitted_at=t0,
                sector=Sector.health,
                pcode="SS0102",
                people=40,
                cancelled_at=t0,
            ),
            subject=cancelled,
        ),
    ]

    async with (
        served(create_app(settings)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=staff) as client,
    ):
        await publish(kafka_bootstrap, events)

        async def both_rows() -> bytes | None:
            response = await client.get("/api/reports/3w.csv", params=period)
            assert response.status_code == 200, response.text
            text = response.text
            return response.content if name in text and "(unassigned)" in text else None

        body = await projected(both_rows, kafka_bootstrap)

        # HXL: the hashtag row right under the header, one column per header cell.
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        assert rows[0] == THREE_W_HEADER and rows[1] == THREE_W_HXL
        assert all(len(row) == len(THREE_W_HEADER) for row in rows), rows
        dataset = hxl.data(io.BytesIO(body))
        assert dataset.headers == THREE_W_HEADER
        assert dataset.display_tags == THREE_W_HXL
        by_org = {row.get("#org"): row for row in dataset}
        ours = by_org[name]
        assert ours.get("#sector") == "wash" and ours.get("#adm1+code") == "SS01"
        assert ours.get("#adm2+code") == "SS0101" and ours.get("#status") == "fulfilled"
        assert (ours.get("#activity+num"), ours.get("#reached")) == ("1", "300")
        assert by_org["(unassigned)"].get("#affected") == "40"
        problems: list[hxl.validation.HXLValidationException] = []
        hxl.schema(callback=problems.append).validate(hxl.data(io.BytesIO(body)))
        assert [p for p in problems if p.rule.severity == "error"] == [], [str(p) for p in problems]

        # The CLI writes what the API returned: same bytes on stdout and in a file.
        args = ["export", "3w", "--start", period["start"], "--end", period["end"]]
        code, stdout, stderr = await concord(*args, port=port)
        assert code == 0, stderr
        assert stdout == body
        output = tmp_path / "3w.csv"
        code, stdout, stderr = await concord(*args, "--output", str(output), port=port)
        assert code == 0, stderr
        assert output.read_bytes() == body and stdout == b""


async def test_small_cells_of_sensitive_sectors_are_suppressed(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    """Two GBV requests in one county are a small cell: the 3W shows them at admin level 1 as
    `<5` without people figures, and so does the situation report; seven GBV requests, and
    any count of a non-sensitive sector, are shown as they are."""
    settings = Settings()
    staff = bearer(settings, "ops_centre")
    marker = uuid.uuid4()
    t0 = now() - timedelta(days=800, minutes=marker.int % 1000)
    period = {
        "start": (t0 - timedelta(minutes=1)).isoformat(),
        "end": (t0 + timedelta(minutes=1)).isoformat(),
    }

    def submitted(sector: Sector, pcode: str, admin1: str) -> Any:
        request_id = uuid.uuid4()
        return envelope(
            aid_request(
                request_id=request_id,
                version=1,
                status=hr.RequestStatus.submitted,
                submitted_at=t0,
                sector=sector,
                pcode=pcode,
                admin1=admin1,
                people=30,
                sensitivity=Sensitivity.restricted
                if sector is Sector.gbv
                else Sensitivity.internal,
            ),
            subject=request_id,
        )

    events = (
        [submitted(Sector.gbv, "SS0201", "SS02") for _ in range(2)]
        + [submitted(Sector.gbv, "SS0101", "SS01") for _ in range(4)]
        + [submitted(Sector.gbv, "SS0102", "SS01") for _ in range(3)]
        + [submitted(Sector.wash, "SS0201", "SS02") for _ in range(2)]
    )
    async with serve_in_process(create_app(settings)) as client:
        await publish(kafka_bootstrap, events)

        async def all_counted() -> dict[str, Any] | None:
            report = await client.get("/api/reports/sitrep", params=period, headers=staff)
            assert report.status_code == 200, report.text
            by_sector = {r["sector"]: r for r in report.json()["requests_by_sector"]}
            counts = {sector: r["requests"] for sector, r in by_sector.items()}
            return by_sector if counts == {"gbv": 9, "wash": 2} else None

        by_sector = await projected(all_counted, kafka_bootstrap)
        assert (
            by_sector["gbv"]["suppressed"] is False and by_sector["gbv"]["people_affected"] == 270
        )
        response = await client.get("/api/reports/3w.csv", params=period, headers=staff)
        rows = list(csv.reader(io.StringIO(response.text)))[2:]
        by_key = {(r[1], r[2], r[3]): r for r in rows}
        # GBV: admin level 1 only; SS02's 2 are suppressed, SS01's 4 + 3 = 7 are shown.
        assert by_key[("gbv", "SS02", "")][4:] == ["", "submitted", "<5", "", ""]
        assert by_key[("gbv", "SS01", "")][6:] == ["7", "210", "0"]
        # Not sensitive: by county, a count of 2 as it is.
        assert by_key[("wash", "SS02", "SS0201")][6:8] == ["2", "60"]
        assert len(rows) == 3, rows

    # A stricter threshold turns the whole GBV sector of the period into a small cell.
    strict = Settings(small_cell_threshold=10)
    async with serve_in_process(create_app(strict)) as client:
        report = await client.get("/api/reports/sitrep", params=period, headers=staff)
        gbv = next(r for r in report.json()["requests_by_sector"] if r["sector"] == "gbv")
        assert gbv == {
            "sector": "gbv",
            "requests": "<10",
            "fulfilled": None,
            "people_affected": None,
            "people_reached": None,
            "suppressed": True,
        }
        page = await client.get(
            "/api/reports/sitrep", params=period | {"format": "html"}, headers=staff
        )
        assert "&lt;10" in page.text
