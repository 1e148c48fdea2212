"""The `concord` Typer application and what every command shares: one-line errors."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import typer
from aiokafka.errors import KafkaConnectionError, KafkaError
from rich.console import Console

from deploy.demo.client import ServiceError, ServiceUnreachable

P = ParamSpec("P")
T = TypeVar("T")

app = typer.Typer(
    name="concord",
    help="Drive a local Concord: dev tokens, the demo mission, the field simulator, events, "
    "the audit chain and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)  # long lines stay whole: they are read by scripts too
errors = Console(stderr=True)


class CommandFailed(Exception):
    """A command cannot do its job for a reason the user can fix; printed as one line."""


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def run_async(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command; known failures become one red line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))
        except (ServiceUnreachable, ServiceError, CommandFailed) as exc:
            raise fail(str(exc)) from None
        except (KafkaConnectionError, KafkaError) as exc:
            raise fail(f"Kafka is not reachable ({exc}). Start Concord with `make run`.") from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper
