"""What a bench run ran on, and the JSON record it leaves in `bench/results/latest.json`.

The Postgres durability settings are read from the server (`SHOW …`), not assumed: the
figures are only comparable between runs with the same settings, and both sides of every
ratio ran on this one server with them.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg

from deploy.services import ROOT
from deploy.stack import LocalStack
from tests.bench.figures import Figures

RESULTS = ROOT / "bench" / "results"
LIBRARIES = (
    "fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "asyncpg", "aiokafka",
    "orjson", "httpx", "psutil", "uvloop", "httptools",
)  # fmt: skip
POSTGRES_SETTINGS = (
    "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
    "shared_buffers", "max_connections",
)  # fmt: skip


async def _postgres(database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {name: str(await conn.fetchval(f"SHOW {name}")) for name in POSTGRES_SETTINGS}
    finally:
        await conn.close()


def _kafka_version() -> str:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    found = re.search(r"<kafka.version>(.*?)</kafka.version>", pom)
    return found.group(1) if found else "unknown"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


def environment(stack: LocalStack) -> dict[str, Any]:
    assert stack.database_url
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    postgres = asyncio.run(_postgres(stack.database_url))
    return {
        "python": sys.version.split()[0],
        "libraries": versions,
        "kafka": _kafka_version(),
        "kafka_nodes": stack.kafka_nodes,
        "postgres": postgres,
        "machine": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
            "kernel": platform.release(),
            "uptime_at_start": _uptime(),
        },
    }


def write_results(
    figures: Figures, setting: dict[str, Any], *, quick: bool, seconds: float
) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": "quick" if quick else "full",
        "seconds": round(seconds),
        **setting,
        "uptime_at_end": _uptime(),
        "figures": {name: f.as_json() for name, f in figures.items.items()},
    }
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
