"""JSON logs through structlog, with the request id and trace id of the current unit of work.

Log events are named `"<domain>.<action>"` with keyword fields:
`log.info("outbox.published", count=12)`. The standard library's loggers (uvicorn, aiokafka,
sqlalchemy) go through the same renderer, so one line is one JSON object whoever wrote it,
and through the scrubber (`shared.logscrub`), so no line carries personal data or SQL
parameters whoever wrote it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import structlog

from shared.logscrub import scrub_processor

_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    """Route structlog and the standard library through one renderer, once per process."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            # Last before rendering, so the traceback text is scrubbed too (shared.logscrub).
            scrub_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka narrates every reconnect at INFO; its warnings are what matter.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)


HANDLER_NAME = "concord"


class _LineList(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(self.format(record).splitlines())


@contextlib.contextmanager
def capture_log_lines(level: str | None = None) -> Iterator[list[str]]:
    """Every line the process logs meanwhile, rendered exactly as `configure_logging`'s
    handler renders it (scrubber included): what a log scan reads. The list fills as lines
    are logged. `level` lowers (or raises) the root level meanwhile, e.g. to scan what a
    deployment logging at INFO would write."""
    root = logging.getLogger()
    previous = root.level
    if level is not None:
        root.setLevel(level.upper())
    ours = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if ours is None or ours.formatter is None:
        raise RuntimeError("configure_logging has not run in this process")
    lines: list[str] = []
    capture = _LineList(lines)
    capture.setFormatter(ours.formatter)
    root.addHandler(capture)
    try:
        yield lines
    finally:
        root.removeHandler(capture)
        root.setLevel(previous)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
