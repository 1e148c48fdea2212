"""Where `make run` keeps its state, and how other commands find the stack it started.

The stack writes `concord.env` (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS and the service ports)
into its run directory; `concord rebuild` and `concord reset` read it back, so they work from
any shell without exporting anything.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_FILE = "concord.env"
SEEDED_MARKER = "demo-seeded"


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "concord"
    return Path(os.environ.get("CONCORD_CACHE", default))


def default_run_dir() -> Path:
    return Path(os.environ.get("CONCORD_RUN_DIR", cache_dir() / "run"))


def write_stack_environment(run_dir: Path, values: dict[str, str]) -> None:
    lines = [f"{key}={value}" for key, value in sorted(values.items())]
    path = run_dir / ENV_FILE
    # It holds the Kafka admin's password: readable by its owner only.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_stack_environment(run_dir: Path | None = None) -> dict[str, str]:
    path = (run_dir or default_run_dir()) / ENV_FILE
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def load_stack_environment(run_dir: Path | None = None) -> None:
    """Fill in what the environment does not set from the running stack's `concord.env`."""
    for key, value in read_stack_environment(run_dir).items():
        os.environ.setdefault(key, value)


def clear_stack_environment(run_dir: Path) -> None:
    (run_dir / ENV_FILE).unlink(missing_ok=True)
