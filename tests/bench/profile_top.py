"""`python -m tests.bench.profile_top FILE [N]`: where a py-spy profile spends its time.

Reads py-spy's collapsed stacks (`--format raw`: one `frame;frame;… count` per line) and
prints the share of samples by package of the innermost frame (self time), and the top
functions by self and by inclusive time.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


FAMILIES = (
    "sqlalchemy", "asyncpg", "pydantic", "fastapi", "starlette", "uvicorn", "h11", "aiokafka",
    "structlog", "prometheus_client", "orjson", "jwt", "greenlet",
)  # fmt: skip


def family_of(frame: str) -> str:
    """What a leaf frame is spent on, in the terms of the profile's discussion."""
    if "selector_events.py" in frame and ".write " in frame:
        return "socket write syscalls (to Postgres, Kafka, clients)"
    for family in FAMILIES:
        if f"{family}/" in frame:
            return family
    if "json/" in frame:
        return "json (stdlib)"
    if "services/" in frame:
        return "services/ (Concord domain code)"
    if "shared/" in frame:
        return "shared/ (Concord platform)"
    if "threading.py" in frame:
        return "other threads waiting"
    if "asyncio/" in frame or "selectors.py" in frame:
        return "asyncio event loop"
    return "other stdlib"


def package_of(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for root in ("services/", "shared/", "tests/"):
        if root in path:
            parts = path.split(root, 1)[1].split("/")
            return root + "/".join(parts[:2] if root == "services/" else parts[:1])
    if "/lib/python3" in path:
        return "stdlib:" + path.rsplit("/", 1)[-1].removesuffix(".py")
    return path


def summarise(path: Path, top: int = 25) -> str:
    self_by_package: Counter[str] = Counter()
    self_by_family: Counter[str] = Counter()
    self_by_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if FRAME.match(f)]
        if not frames:
            continue
        total += count
        leaf = FRAME.match(frames[-1])
        assert leaf is not None
        self_by_package[package_of(leaf["file"])] += count
        self_by_family[family_of(frames[-1])] += count
        self_by_function[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    out = [f"{total} samples", "", "self time by what the innermost frame is:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in self_by_family.most_common(top)]
    out += ["", "self time by module of the innermost frame:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in self_by_package.most_common(top)]
    out += ["", "top functions by self time:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in self_by_function.most_common(top)]
    out += ["", "top functions by inclusive time:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


def main() -> None:
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))


if __name__ == "__main__":
    main()
