"""Import-boundary check: services never import each other; `shared` imports no service.

`python -m deploy.boundaries` exits non-zero and names every offending import. Services talk
over Kafka; a Python import across that line would be a hidden synchronous coupling.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def violations(root: Path = ROOT) -> list[str]:
    found: list[str] = []
    for path in sorted((root / "services").rglob("*.py")):
        owner = path.relative_to(root / "services").parts[0]
        for line, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "services" and len(parts) > 1 and parts[1] != owner:
                found.append(f"{path.relative_to(root)}:{line}: {owner} imports {module}")
            # A service's tests may use the local stack; the service itself may not.
            in_tests = "tests" in path.relative_to(root / "services").parts
            if parts[0] == "deploy" and not in_tests:
                found.append(f"{path.relative_to(root)}:{line}: a service imports {module}")
    for path in sorted((root / "shared").rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".")[0] in ("services", "deploy"):
                found.append(f"{path.relative_to(root)}:{line}: shared imports {module}")
    return found


def main() -> None:
    found = violations()
    for line in found:
        print(line)
    if found:
        sys.exit(f"{len(found)} import(s) cross a service boundary")
    print("boundaries: services import only themselves and shared")


if __name__ == "__main__":
    main()
