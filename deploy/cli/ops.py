"""`concord token`, `concord audit verify`, `concord rebuild` and `concord export …`."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from deploy.cli.base import CommandFailed, app, console, errors, fail, run_async
from deploy.demo.client import MONITORING, ConcordClient, dev_token
from deploy.demo.runinfo import load_stack_environment
from shared.auth import Role

audit_app = typer.Typer(help="The tamper-evident audit trail kept by monitoring.")
export_app = typer.Typer(help="Reports from monitoring: the situation report and the 3W.")
app.add_typer(audit_app, name="audit", no_args_is_help=True)
app.add_typer(export_app, name="export", no_args_is_help=True)


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="What the token may do")] = Role.ops_centre,
    unit_id: Annotated[
        str | None, typer.Option(help="The field unit it acts for (role field_unit)")
    ] = None,
    ngo_id: Annotated[uuid.UUID | None, typer.Option(help="The NGO it acts for (role ngo)")] = None,
    subject: Annotated[str | None, typer.Option(help="The `sub` claim")] = None,
) -> None:
    """Print a dev JWT (signed with CONCORD_JWT_SECRET or the dev secret), valid 12 hours.

    Use it as `curl -H "Authorization: Bearer $(concord token)" …`.
    """
    try:
        value = dev_token(role=role, subject=subject, unit_id=unit_id, ngo_id=ngo_id)
    except ValueError as exc:
        raise fail(str(exc)) from None
    print(value)


def _spinner(description: str) -> Progress:
    # On stderr: a transient display still leaves a newline behind when it stops, and
    # stdout carries the command's output (an export is piped to a file byte for byte).
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )
    progress.add_task(description, total=None)
    return progress


@audit_app.command("verify")
@run_async
async def audit_verify() -> None:
    """Re-hash the whole audit chain in monitoring and look for holes in it.

    Exit code 0: intact and complete; 2: a link is broken; 3: intact, but events the audit
    consumer dead-lettered are missing from it (listed by id, or topic:partition:offset)."""
    async with ConcordClient(timeout=300) as client:
        with _spinner("verifying the audit chain"):
            result = await client.get_json(MONITORING, "/api/audit/verify", role=Role.ops_centre)
    missing = int(result.get("missing_count") or 0)
    holes = ""
    if missing:
        labels = [
            m.get("event_id") or f"{m.get('topic')}:{m.get('partition')}:{m.get('offset')}"
            for m in result.get("missing") or []
        ]
        more = missing - len(labels)
        holes = f", {missing} events missing (dead-lettered): {', '.join(labels)}" + (
            f" and {more} more" if more > 0 else ""
        )
    if result.get("ok"):
        colour = "yellow" if missing else "green"
        console.print(
            f"[{colour}]audit chain intact[/]{holes}: {result['checked']} events, "
            f"last hash {result['last_hash'][:16]}…",
            soft_wrap=True,
        )
        if missing:
            raise typer.Exit(3)
        return
    broken = result.get("first_broken") or {}
    console.print(
        f"[bold red]audit chain BROKEN[/] at position {broken.get('position')} "
        f"(event {broken.get('event_id')}): {broken.get('reason')}{holes}",
        soft_wrap=True,
    )
    raise typer.Exit(2)


@app.command()
@run_async
async def rebuild() -> None:
    """Rebuild monitoring's read models by replaying every topic from the beginning.

    Monitoring has no HTTP route for this yet, so it runs the replay here, against the
    database and Kafka of the running stack (DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, else
    those `make run` recorded in its run directory).
    """
    from services.monitoring.config import Settings  # the replay is monitoring's own code
    from services.monitoring.rebuild import rebuild as replay

    load_stack_environment()
    if "DATABASE_URL" not in os.environ:
        raise CommandFailed("No DATABASE_URL set and no running `make run` stack found")
    settings = Settings()
    try:
        with _spinner("replaying the topics into monitoring's read models"):
            counts = await replay(settings)
    except (OSError, SQLAlchemyError) as exc:
        raise CommandFailed(
            f"Postgres is not reachable for the rebuild ({type(exc).__name__}: {exc}). "
            "Start Concord with `make run`."
        ) from None
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing to replay"
    console.print(f"[green]rebuilt[/]: {summary}")


def _period(
    days: int, start: datetime | None = None, end: datetime | None = None
) -> dict[str, str]:
    """The query of an export: `start`/`end` when given, else the last `days` days."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=days)
    return {"start": start.isoformat(), "end": end.isoformat()}


# With a time zone (`2026-11-01T00:00:00+00:00` or `…Z`), as the API requires.
PERIOD_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"]
Start = Annotated[
    datetime | None,
    typer.Option(
        help="Start of the period (ISO 8601 with a time zone); overrides --days",
        formats=PERIOD_FORMATS,
    ),
]
End = Annotated[
    datetime | None,
    typer.Option(help="End of the period (default: now)", formats=PERIOD_FORMATS),
]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")]


@export_app.command("sitrep")
@run_async
async def export_sitrep(
    days: Annotated[int, typer.Option(help="The period: the last N days")] = 7,
    start: Start = None,
    end: End = None,
    html: Annotated[bool, typer.Option("--html", help="A printable HTML page")] = False,
    output: Output = None,
) -> None:
    """The situation report of the last N days (JSON, or HTML with --html)."""
    params = {**_period(days, start, end), "format": "html" if html else "json"}
    async with ConcordClient(timeout=120) as client:
        with _spinner("building the situation report"):
            response = await client.call(
                MONITORING, "GET", "/api/reports/sitrep", role=Role.ops_centre, params=params
            )
    _write(response.content, output)


@export_app.command("3w")
@run_async
async def export_three_w(
    days: Annotated[int, typer.Option(help="The period: the last N days")] = 30,
    start: Start = None,
    end: End = None,
    output: Output = None,
) -> None:
    """The 3W (who does what where) CSV with HXL hashtags, exactly as the API returns it."""
    async with ConcordClient(timeout=300) as client:
        with _spinner("exporting the 3W"):
            response = await client.call(
                MONITORING,
                "GET",
                "/api/reports/3w.csv",
                role=Role.ops_centre,
                params=_period(days, start, end),
            )
    _write(response.content, output)


def _write(body: bytes, output: Path | None) -> None:
    """The response body unchanged: no decoding, no added or removed newline."""
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(body)
    errors.print(f"wrote {output} ({len(body)} bytes)")
