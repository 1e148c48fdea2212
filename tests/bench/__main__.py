"""`python -m tests.bench [NAME ...]`: run the benchmarks (all, or those named)."""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

import tests.bench as package
from deploy.stack import LocalStack
from shared.logging import configure_logging


def main() -> None:
    os.environ.setdefault("CONCORD_ENV", "test")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_JSON", "false")
    configure_logging(service="bench", level="WARNING", json=False)
    wanted = set(sys.argv[1:])
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if m.name.startswith("bench_") and (not wanted or m.name.removeprefix("bench_") in wanted)
    )
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as run_dir:
        # The figures in docs/benchmarks.md are measured without durability (fsync off) and
        # say so; a benchmark of the durable server is a separate, named run.
        stack = LocalStack(Path(run_dir), postgres_durable=False)
        with stack.running():
            print("# postgres durability off (fsync, synchronous_commit, full_page_writes)")
            for name in names:
                module = importlib.import_module(f"tests.bench.{name}")
                print(f"# {name}", flush=True)
                started = time.perf_counter()
                results = asyncio.run(module.run(stack))
                for key, value in results.items():
                    print(f"{key}={value}", flush=True)
                print(f"# {name} took {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
