"""The lock files are complete, hash every package, and follow the pins they are compiled from.

`requirements.txt` / `requirements-dev.txt` name the direct dependencies; `make lock` compiles
them into `requirements.lock` / `requirements-dev.lock` with every transitive dependency pinned
and hashed, and `make venv` and the image install only the locks, with `--require-hashes`.
A pin changed without `make lock` fails here instead of being silently ignored by `make venv`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            pins.update(direct_pins(path.parent / line.removeprefix("-r ").strip()))
        elif line and not line.startswith("#"):
            match = PIN.match(line)
            assert match, f"{path.name}: not pinned with ==: {line}"
            pins[normalized(match.group(1))] = match.group(3)
    return pins


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """Each locked package: its version and how many hashes it carries."""
    packages: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash=sha256:"):
            assert current, f"{path.name}: a hash before any package"
            version, hashes = packages[current]
            packages[current] = (version, hashes + 1)
            continue
        match = PIN.match(stripped)
        assert match, f"{path.name}: not an exact pin: {stripped}"
        current = normalized(match.group(1))
        packages[current] = (match.group(3), 0)
    return packages


@pytest.mark.parametrize(
    ("pins", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_the_lock_follows_the_pins_and_hashes_every_package(pins: str, lock: str) -> None:
    packages = locked(ROOT / lock)
    assert packages
    unhashed = sorted(name for name, (_, hashes) in packages.items() if hashes == 0)
    assert not unhashed, f"{lock}: packages without a hash: {unhashed}"
    for name, version in direct_pins(ROOT / pins).items():
        assert name in packages, f"{name} is pinned in {pins} but missing from {lock}: make lock"
        assert packages[name][0] == version, (
            f"{name}=={version} in {pins} but {packages[name][0]} in {lock}: make lock"
        )


def test_the_dev_lock_keeps_the_runtime_versions() -> None:
    runtime = locked(ROOT / "requirements.lock")
    development = locked(ROOT / "requirements-dev.lock")
    for name, (version, _) in runtime.items():
        assert development.get(name, (None, 0))[0] == version, name


def test_make_and_the_image_install_only_the_locks_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements-dev.lock" in makefile
    assert re.search(r"pip install .*-r requirements(-dev)?\.txt", makefile) is None
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
