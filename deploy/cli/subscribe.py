"""`concord subscribe`: an NGO's reference client for its topics (docs/ngo-integration.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import httpx
import typer

from deploy.cli.base import CommandFailed, app, errors, run_async
from deploy.cli.events import default_bootstrap, resolve_topic
from deploy.cli.subscription import (
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    ForwardSink,
    KafkaConnection,
    PrintSink,
    RecentIds,
    Sink,
    Subscription,
    SubscriptionError,
    check_group,
    default_state_file,
    ngo_topics,
    parse_time,
)


def logs_to_stderr() -> None:
    """Stdout carries the events alone: the platform's log handler writes to stdout."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def log(message: str) -> None:
    errors.print(f"[dim]{message}[/]", highlight=False, soft_wrap=True)


def _bad(name: str, message: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint=f"'{name}'")


def _connection(
    bootstrap: str,
    protocol: str,
    mechanism: str,
    username: str | None,
    password: str | None,
    cafile: Path | None,
) -> KafkaConnection:
    try:
        return KafkaConnection(
            bootstrap=bootstrap,
            protocol=protocol.upper(),
            mechanism=mechanism.upper(),
            username=username or None,
            password=password or None,
            cafile=str(cafile) if cafile else None,
        )
    except ValueError as exc:
        raise _bad("--security-protocol", str(exc)) from None


def _topics(requested: list[str] | None) -> list[str]:
    if not requested:
        return ngo_topics()
    try:
        return sorted({resolve_topic(name) for name in requested})
    except CommandFailed as exc:
        raise _bad("--topic", str(exc)) from None


def _forward_url(url: str | None) -> str | None:
    if url is None:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _bad("--forward", f"{url!r} is not an http(s) URL")
    return url


@app.command()
@run_async
async def subscribe(
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            help="A topic to follow (full name or a unique part); repeat for more "
            "[default: every topic an NGO may read]",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start at this time (ISO 8601, UTC unless it says, e.g. 2026-12-01T00:00Z). "
            "With --group, only where the group has no committed position yet",
        ),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="Your consumer group, ngo.<ngo_id>.<purpose>: resume from its committed "
            "position and commit what was delivered (a new group starts at the beginning)"
        ),
    ] = None,
    forward: Annotated[
        str | None,
        typer.Option(help="POST each event to this URL (retried until it answers 2xx)"),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="File of the ids delivered last, so a restart repeats none "
            "[default with --group: ~/.local/state/concord/subscribe/<group>.ids]",
            dir_okay=False,
        ),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            help="Kafka bootstrap servers [env KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092]"
        ),
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(
            envvar=["CONCORD_KAFKA_USERNAME", "KAFKA_SASL_USERNAME"],
            help="Your NGO's Kafka principal",
        ),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar=["CONCORD_KAFKA_PASSWORD", "KAFKA_SASL_PASSWORD"],
            help="Its password",
            show_default=False,
        ),
    ] = None,
    security_protocol: Annotated[
        str,
        typer.Option(
            envvar=["CONCORD_KAFKA_SECURITY_PROTOCOL", "KAFKA_SECURITY_PROTOCOL"],
            help=f"One of {', '.join(SECURITY_PROTOCOLS)}",
        ),
    ] = "PLAINTEXT",
    sasl_mechanism: Annotated[
        str, typer.Option(help=f"One of {', '.join(SASL_MECHANISMS)}")
    ] = "SCRAM-SHA-512",
    ca_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            envvar=["CONCORD_KAFKA_CAFILE", "KAFKA_SSL_CAFILE"],
            help="The mission's CA certificate (with SASL_SSL)",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after delivering this many events")
    ] = None,
) -> None:
    """Follow your topics and print each event as a JSON line (or forward it), exactly once.

    Offsets are committed only after an event is delivered; a restart with the same --group
    goes on where it stopped, repeating nothing (ids are also deduplicated). Ctrl-C stops."""
    logs_to_stderr()
    connection = _connection(
        bootstrap or default_bootstrap(),
        security_protocol,
        sasl_mechanism,
        username,
        password,
        ca_file,
    )
    topics = _topics(topic)
    try:
        moment = parse_time(start) if start is not None else None
    except ValueError as exc:
        raise _bad("--from", str(exc)) from None
    try:
        group = check_group(group) if group is not None else None
    except ValueError as exc:
        raise _bad("--group", str(exc)) from None
    url = _forward_url(forward)
    state_file = state or (default_state_file(group) if group else None)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    where = f"group {group}" if group else "no group (nothing committed)"
    since = (
        f"from {moment:%Y-%m-%dT%H:%M:%SZ}"
        if moment
        else ("from its position" if group else "from now")
    )
    log(f"following {', '.join(topics)} on {connection.bootstrap}, {where}, {since}")
    async with contextlib.AsyncExitStack() as resources:
        sink: Sink = PrintSink()
        if url is not None:
            client = await resources.enter_async_context(httpx.AsyncClient(timeout=10.0))
            sink = ForwardSink(url, client, stop, log=log)
        subscription = Subscription(
            connection,
            topics,
            sink,
            group=group,
            start=moment,
            recent=RecentIds(state_file),
            limit=limit,
            log=log,
        )
        try:
            delivered = await subscription.run(stop)
        except SubscriptionError as exc:
            raise CommandFailed(str(exc)) from None
    log(f"{delivered} event(s) delivered")
