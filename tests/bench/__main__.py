"""`make bench` (`python -m tests.bench [--quick] [--profile DIR] [NAME ...]`).

Self-contained like `make test`: its own Postgres and Kafka in a temporary directory, the four
services as processes (as `make run` starts them), the system figures against them (see
`tests/bench/system.py`), then the services stopped and the growth figures (registry search,
deconfliction, dashboard queries) through the real handlers; everything stopped at the end.
Prints a table and `name=value` lines, and writes `bench/results/latest.json` with the
versions and the Postgres settings it ran with. `--quick` is the short run (<= 3 minutes)
with the same lines; `--profile DIR` records the requests service with py-spy during the
closed-loop intake into DIR. NAMEs pick parts: `system`, `registry`, `planning`,
`monitoring` (`requests` and `backbone`, the old names of what `system` measures, mean it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from deploy.services import ROOT
from deploy.stack import LocalStack
from shared.logging import configure_logging
from tests.bench import bench_monitoring, bench_planning, bench_registry, system
from tests.bench.figures import Figures
from tests.bench.report import environment, write_results

STARTED = time.monotonic()

GROWTH = (
    (bench_registry, "registry_search_growth", "<= 2"),
    (bench_planning, "deconfliction_growth", "<= 2"),
    (bench_monitoring, "kpi_query_growth", "<= 1.5"),
)


def say(line: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {line}", flush=True)


PARTS = ("system", "registry", "planning", "monitoring")
ALIASES = {"requests": "system", "backbone": "system"}


def growth(stack: LocalStack, *, quick: bool, parts: set[str]) -> Figures:
    figures = Figures()
    for module, headline, goal in GROWTH:
        name = module.__name__.rsplit(".", 1)[-1]
        if name.removeprefix("bench_") not in parts:
            continue
        say(f"{name}")
        started = time.monotonic()
        try:
            results = asyncio.run(module.run(stack, quick=quick))
        except Exception as exc:  # one broken part must not cost the run's other figures
            say(f"{name} failed: {exc!r}")
            figures.add(f"{name}_failed", 1, goal="<= 0", note=repr(exc)[:120])
            continue
        for key, value in results.items():
            if key == headline:
                continue
            for kind in (int, float, str):
                try:
                    figures.add(key, kind(value))
                    break
                except ValueError:
                    continue
        figures.add(headline, float(results[headline]), goal=goal)
        if "map_query_growth" in results:
            figures.add("map_query_growth", float(results["map_query_growth"]), goal="<= 1.5")
        say(f"{name} took {time.monotonic() - started:.0f} s")
    return figures


def profiler(
    directory: Path,
) -> Callable[[int, str], Coroutine[Any, Any, Callable[[], Awaitable[None]]]]:
    """py-spy on a service process: collapsed stacks into DIR/<name>.collapsed, from two
    seconds after the start until `stop` (the requests service during the closed loop as
    `intake`, monitoring while its groups drain a backlog as `drain`)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    directory.mkdir(parents=True, exist_ok=True)

    async def start(pid: int, name: str) -> Callable[[], Awaitable[None]]:
        await asyncio.sleep(2)  # past the first connections
        process = await asyncio.create_subprocess_exec(
            py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
            "--nonblocking", "--output", str(directory / f"{name}.collapsed"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        async def stop() -> None:
            process.send_signal(signal.SIGINT)
            await process.wait()

        return stop

    return start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short run (<= 3 minutes)")
    parser.add_argument("names", nargs="*", help=f"parts to run: {', '.join(PARTS)}")
    parser.add_argument("--profile", type=Path, help="py-spy the requests service into DIR")
    args = parser.parse_args()
    parts = {ALIASES.get(n, n) for n in args.names} or set(PARTS)
    if parts - set(PARTS):
        parser.error(f"unknown parts {sorted(parts - set(PARTS))}; choose from {PARTS}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the stack is stopped
    os.environ["CONCORD_ENV"] = "test"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_JSON", "false")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    configure_logging(service="bench", level="WARNING", json=False)
    figures = Figures()
    setting: dict[str, Any] = {}
    # The system part and the growth parts each get a fresh stack: the in-process apps of the
    # growth parts then start on an empty broker and database, as when run alone.
    for stage in ("system", "growth"):
        wanted = "system" in parts if stage == "system" else bool(parts - {"system"})
        if not wanted:
            continue
        # A stack exports its URLs to the environment; the next one must start its own.
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        with tempfile.TemporaryDirectory(prefix=f"concord-bench-{stage}-") as run_dir:
            stack = LocalStack(Path(run_dir))
            try:
                with stack.running():
                    say(f"Postgres and Kafka up for the {stage} part")
                    if not setting:
                        setting = environment(stack)
                        for name in ("fsync", "synchronous_commit", "full_page_writes"):
                            figures.add(f"postgres_{name}", setting["postgres"][name])
                        say(
                            "Postgres {server_version}: fsync={fsync}, synchronous_commit="
                            "{synchronous_commit}, full_page_writes={full_page_writes}".format(
                                **setting["postgres"]
                            )
                        )
                    if stage == "system":
                        say("starting the four services as processes")
                        stack.start_services()
                        sizes = system.QUICK if args.quick else system.FULL
                        bench = system.SystemBench(stack, sizes)
                        if args.profile:
                            bench.profile = profiler(args.profile)
                        figures.update(asyncio.run(bench.run()))
                        stack.stop_services()
                    else:
                        figures.update(growth(stack, quick=args.quick, parts=parts))
            finally:
                logs = Path(run_dir) / "logs"
                if logs.exists():
                    kept = ROOT / "test-artifacts" / "bench-logs"
                    shutil.rmtree(kept, ignore_errors=True)
                    shutil.copytree(logs, kept)
    elapsed = time.monotonic() - STARTED
    print()
    print(figures.table())
    print()
    print(figures.lines())
    print(f"bench_seconds={elapsed:.0f}")
    path = write_results(figures, setting, quick=args.quick, seconds=elapsed)
    say(f"results written to {path.relative_to(ROOT)}")
    return 1 if any(name.endswith("_failed") for name in figures.items) else 0


if __name__ == "__main__":
    sys.exit(main())
