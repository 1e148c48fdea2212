"""`concord topics` and `concord tail`: the event catalog and the live event stream."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Annotated

import typer
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from rich.table import Table

from deploy.cli.base import CommandFailed, app, console, run_async
from shared.events.envelope import CloudEvent
from shared.events.kafka import create_consumer, topic_partitions
from shared.events.schemas import CATALOG

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def default_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)


def resolve_topic(name: str) -> str:
    """A catalog topic by full name, or by a fragment naming exactly one (`offer`, `ngo.v1`)."""
    names = sorted(t.name for t in CATALOG.topics())
    if name in names:
        return name
    # `ngo` names concord.ngo_registry.ngo.v1, though `ngo` also occurs in the agreement topic.
    by_entity = [n for n in names if n.split(".")[2:3] == [name]]
    if len(by_entity) == 1:
        return by_entity[0]
    matches = [n for n in names if name in n]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandFailed(f"No topic {name!r} in the catalog; `concord topics` lists them")
    raise CommandFailed(f"{name!r} matches several topics: {', '.join(matches)}")


@app.command()
def topics() -> None:
    """List the catalog's topics, who may read each, and its event types."""
    table = Table(title="Concord topics (the event catalog)")
    table.add_column("topic", style="cyan", no_wrap=True)
    table.add_column("audience")
    table.add_column("event types")
    for topic in sorted(CATALOG.topics(), key=lambda t: t.name):
        types = sorted(e.name for e in CATALOG if e.topic.name == topic.name)
        short = [t.removeprefix("concord.").split(".", 1)[1] for t in types]
        table.add_row(topic.name, topic.audience.value, ", ".join(short) or "-")
    console.print(table)


def render(event: CloudEvent, *, raw: bool) -> None:
    if raw:
        console.print_json(event.to_json().decode())
        return
    data = event.data
    status = data.get("status") or data.get("vetting_status") or ""
    summary = {
        k: data[k]
        for k in ("name", "title", "sector", "urgency", "incident_type", "severity", "ngo_id")
        if k in data and data[k] is not None
    }
    console.print(
        f"[dim]{event.time:%H:%M:%S}[/] [bold cyan]{event.type}[/] "
        f"[yellow]{event.subject}[/] {status}",
        highlight=False,
    )
    if summary:
        console.print("    " + json.dumps(summary, ensure_ascii=False), highlight=False)


async def _tail(
    topic: str,
    *,
    bootstrap: str,
    from_beginning: bool,
    type_filter: str | None,
    limit: int | None,
    timeout: float | None,
    raw: bool,
) -> int:
    consumer = create_consumer(bootstrap_servers=bootstrap, group_id=None, request_timeout_ms=8000)
    # aiokafka logs every failed connection attempt; the one-line error below says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(consumer.start(), 10)
    except (TimeoutError, KafkaError):
        await consumer.stop()
        raise CommandFailed(
            f"Kafka is not reachable at {bootstrap}. Start Concord with `make run` or pass "
            "--bootstrap."
        ) from None
    shown = 0
    try:
        partitions = await topic_partitions(consumer, topic, attempts=2)
        if not partitions:
            raise CommandFailed(f"Topic {topic} does not exist on {bootstrap} yet")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        if from_beginning:
            await consumer.seek_to_beginning(*assigned)
        else:
            await consumer.seek_to_end(*assigned)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while limit is None or shown < limit:
            if deadline is not None and loop.time() > deadline:
                break
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    if message.value is None:
                        continue
                    try:
                        event = CloudEvent.from_json(message.value)
                    except ValueError:
                        console.print(f"[red]not a CloudEvent at offset {message.offset}[/]")
                        continue
                    if type_filter and type_filter not in event.type:
                        continue
                    render(event, raw=raw)
                    shown += 1
                    if limit is not None and shown >= limit:
                        return shown
    finally:
        await consumer.stop()
    return shown


@app.command()
@run_async
async def tail(
    topic: Annotated[str, typer.Argument(help="Topic name or a unique part of it (`offer`)")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest event")
    ] = False,
    event_type: Annotated[
        str | None,
        typer.Option("--type", help="Only events whose type contains this (`accepted`)"),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            help="Kafka bootstrap servers [env KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092]"
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    raw: Annotated[bool, typer.Option("--json", help="Print whole CloudEvents as JSON")] = False,
) -> None:
    """Print a topic's CloudEvents as they arrive (Ctrl-C stops)."""
    name = resolve_topic(topic)
    bootstrap = bootstrap or default_bootstrap()
    console.print(f"[dim]tailing {name} on {bootstrap} …[/]")
    shown = await _tail(
        name,
        bootstrap=bootstrap,
        from_beginning=from_beginning,
        type_filter=event_type,
        limit=limit,
        timeout=timeout,
        raw=raw,
    )
    console.print(f"[dim]{shown} event(s)[/]")
