"""The import contracts in `.importlinter` hold on the real tree, and each one can fail.

Each case writes a small violation into a copy of the tree (only the Python files: that is all
`lint-imports` reads) and runs `lint-imports` on the copy with the real configuration. The
case passes only if exactly its own contract breaks, so a contract whose module expressions
stopped matching anything (a rename, a typo) cannot pass silently.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
PACKAGES = ("shared", "services", "deploy")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# A domain folder that exists only in the copy: each violation lives in it (or points at it),
# so it cannot break a contract by also touching the real code's imports.
LEAK = "services/ngo_registry/leak"
LEAK_PACKAGE = {f"{LEAK}/__init__.py": ""}

VIOLATIONS: dict[str, dict[str, str]] = {
    "services-independent": {
        f"{LEAK}/service.py": "import services.monitoring.config\n",
    },
    "shared-is-the-platform": {
        "shared/leak.py": "import services.ngo_registry.config\n",
    },
    "services-not-deploy": {
        f"{LEAK}/service.py": "import deploy\n",
    },
    "routers-do-not-query": {
        f"{LEAK}/router.py": "from services.ngo_registry.leak import repository\n",
        f"{LEAK}/repository.py": "",
    },
    "services-below-entry-points": {
        f"{LEAK}/service.py": "from services.ngo_registry.leak import router\n",
        f"{LEAK}/router.py": "",
    },
    "repositories-below-services": {
        f"{LEAK}/repository.py": "from services.ngo_registry.leak import service\n",
        f"{LEAK}/service.py": "",
    },
    "schemas-are-leaves": {
        f"{LEAK}/schemas.py": "from services.ngo_registry.leak import service\n",
        f"{LEAK}/service.py": "",
    },
    "errors-are-leaves": {
        f"{LEAK}/errors.py": "from services.ngo_registry.leak import schemas\n",
        f"{LEAK}/schemas.py": "",
    },
    "models-are-the-bottom": {
        "services/ngo_registry/db/models/leak.py": (
            "from services.ngo_registry.leak import errors\n"
        ),
        f"{LEAK}/errors.py": "",
    },
    "common-below-domains": {
        "services/ngo_registry/common/__init__.py": "",
        "services/ngo_registry/common/leak.py": "from services.ngo_registry.leak import service\n",
        f"{LEAK}/service.py": "",
    },
    "no-cycles": {
        f"{LEAK}/first.py": "from services.ngo_registry.leak import second\n",
        f"{LEAK}/second.py": "from services.ngo_registry.leak import first\n",
    },
}


def contract_names() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return {
        section.removeprefix(prefix): parser[section]["name"]
        for section in parser.sections()
        if section.startswith(prefix)
    }


def copy_tree(destination: Path) -> None:
    def not_python(directory: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name == "__pycache__"
            or (not name.endswith(".py") and not (Path(directory) / name).is_dir())
        }

    for package in PACKAGES:
        shutil.copytree(ROOT / package, destination / package, ignore=not_python)


def lint_imports(tree: Path) -> tuple[int, dict[str, str]]:
    """Run `lint-imports` on `tree`; return its exit code and each contract's verdict."""
    environment = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "1000", "NO_COLOR": "1"}
    finished = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache"],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    keys = {name: key for key, name in contract_names().items()}
    verdicts = {}
    for line in finished.stdout.splitlines():
        match = re.fullmatch(r"(.+) (KEPT|BROKEN)(?: \(\d+ ignored imports?\))?", line.strip())
        if match and match.group(1) in keys:
            verdicts[keys[match.group(1)]] = match.group(2)
    assert set(verdicts) == set(keys.values()), finished.stdout + finished.stderr
    return finished.returncode, verdicts


def test_every_contract_has_a_violation_that_proves_it() -> None:
    assert set(VIOLATIONS) == set(contract_names())


def test_the_real_tree_keeps_every_contract(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    code, verdicts = lint_imports(tmp_path)
    assert set(verdicts.values()) == {"KEPT"}
    assert code == 0


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_violation_breaks_its_contract(tmp_path: Path, contract: str) -> None:
    copy_tree(tmp_path)
    for relative, source in {**LEAK_PACKAGE, **VIOLATIONS[contract]}.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(source)
    code, verdicts = lint_imports(tmp_path)
    assert {key for key, verdict in verdicts.items() if verdict == "BROKEN"} == {contract}
    assert code != 0
