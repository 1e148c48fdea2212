"""`concord seed`, `concord reset` and `concord simulate`: the demo mission."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from deploy.cli.base import CommandFailed, app, console, run_async
from deploy.demo.client import REGISTRY, REQUESTS, ConcordClient
from deploy.demo.runinfo import SEEDED_MARKER, default_run_dir
from deploy.demo.seed import seed as seed_demo
from deploy.demo.simulate import SimulationStats, Simulator


@app.command()
@run_async
async def seed() -> None:
    """Seed the demo mission through the services' APIs (safe to repeat).

    NGOs in every vetting state, agreements (some expiring soon), and a history of aid
    requests, incidents, offers and deliveries. What already exists is left alone."""
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done)

        async with ConcordClient() as client:
            result = await seed_demo(client, report)
    marker = default_run_dir() / SEEDED_MARKER
    if marker.parent.exists():
        marker.touch()
    console.print(f"[green]demo mission seeded[/]: {result.summary()}", soft_wrap=True)


@app.command()
@run_async
async def reset(
    run_dir: Annotated[
        Path | None, typer.Option(help="The run directory of `make run` (default: the cache)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete the local stack's data so the next `make run` seeds a fresh mission.

    Removes the run directory (Postgres, Kafka, logs). Stop `make run` first.

    Events are facts: nothing is deleted through the APIs; the whole local mission goes.
    """
    directory = run_dir or default_run_dir()
    async with ConcordClient(timeout=2) as client:
        for service in (REGISTRY, REQUESTS):
            if await client.is_up(service):
                raise CommandFailed(
                    "Concord is still running: stop `make run` (Ctrl-C) before a reset"
                )
    if not directory.exists():
        console.print(f"nothing to reset: {directory} does not exist")
        return
    if not yes and not typer.confirm(f"Delete {directory} and everything in it?"):
        raise typer.Exit(1)
    shutil.rmtree(directory)
    console.print(f"[green]reset[/]: removed {directory}; `make run` seeds a fresh mission")


def _stats_table(stats: SimulationStats, elapsed: float, duration: float) -> Table:
    table = Table(title=f"field simulator — {elapsed:5.1f} s of {duration:.0f} s", expand=False)
    table.add_column("")
    table.add_column("count", justify="right")
    for kind, count in sorted(stats.sent.items()):
        table.add_row(f"[cyan]sent[/] {kind}", str(count))
    for kind, count in sorted(stats.outcomes.items()):
        table.add_row(f"[green]back[/] {kind}", str(count))
    for reason, count in sorted(stats.retried.items()):
        table.add_row(f"[yellow]retried[/] {reason}", str(count))
    for reason, count in sorted(stats.gave_up.items()):
        table.add_row(f"[red]gave up[/] {reason}", str(count))
    return table


@app.command()
@run_async
async def simulate(
    rate: Annotated[float, typer.Option(min=0.05, max=50, help="Field reports per second")] = 1.0,
    duration: Annotated[
        float, typer.Option(min=1, max=24 * 3600, help="Seconds of reporting")
    ] = 60.0,
    seed: Annotated[int | None, typer.Option(help="Random seed, to replay a run")] = None,
) -> None:
    """Play field units and NGOs against the local stack, with a live view.

    Field units post aid requests and incidents, with bursts, retries and offline batches;
    NGOs accept, decline or let offers expire, then deliver. Like a field unit, it retries a
    5xx, a 503 (after its Retry-After) or a dropped connection with the same Idempotency-Key
    and a jittered backoff, keeps running through an outage, and counts what it retried."""
    async with ConcordClient() as client:
        for service in (REQUESTS,):
            if not await client.is_up(service):
                await client.get_json(service, "/readyz")  # raises the one-line error
        simulator = Simulator(client, rate=rate, duration=duration, seed=seed)
        with Live(_stats_table(simulator.stats, 0, duration), console=console) as live:

            def tick(stats: SimulationStats, elapsed: float) -> None:
                live.update(_stats_table(stats, elapsed, duration))

            await simulator.run(tick)
        if not console.is_terminal:
            console.line()  # a piped Live view ends without its newline
    stats = simulator.stats
    retried = ", ".join(f"{reason} {n}" for reason, n in sorted(stats.retried.items()))
    gave_up = ", ".join(f"{reason} {n}" for reason, n in sorted(stats.gave_up.items()))
    console.print(
        f"[green]simulation done[/]: {len(stats.request_ids)} requests touched; "
        f"{sum(stats.retried.values())} retries ({retried or 'none'}); "
        f"gave up on {sum(stats.gave_up.values())} ({gave_up or 'none'})",
        soft_wrap=True,
    )
