"""The `concord` command line: `concord --help` lists the commands.

Installed as a console script by `pip install -e .` (which `make run` and `make test` do).
"""

from __future__ import annotations

from deploy.cli import demo, events, kafka, ops, subscribe
from deploy.cli.base import app
from deploy.demo.runinfo import load_stack_environment
from shared.logging import configure_logging

__all__ = ["app", "demo", "events", "kafka", "main", "ops", "subscribe"]


def main() -> None:
    # From another shell, find the stack `make run` started (its ports, Kafka, Postgres).
    load_stack_environment()
    # The CLI prints what matters itself; structured logs only for warnings and worse.
    configure_logging(service="concord-cli", level="WARNING", json=False)
    app()
