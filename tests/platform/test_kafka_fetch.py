"""`kafka.sh fetch` installs Debian's maven itself when it is missing and it runs as root.

A unit test of the script's decisions: it runs on a PATH that holds only the few tools the
script needs, with stand-ins for `id`, `apt-get` and `mvn` that record how they were called
(the real apt-get and Maven Central are not this test's business; `make kafka-jars` uses them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kafka" / "kafka.sh"
TOOLS = ("dirname", "sed", "rm", "mv", "mkdir", "chmod", "cat")
KAFKA_VERSION = re.search(
    r"<kafka.version>(.+)</kafka.version>", (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
).group(1)  # type: ignore[union-attr]

MVN = """#!/bin/bash
echo "mvn $*" >> "$STUB_LOG"
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}" ;; esac
done
mkdir -p "$out" && : > "$out/kafka_2.13-$STUB_KAFKA_VERSION.jar"
"""

APT_GET = """#!/bin/bash
echo "apt-get $*" >> "$STUB_LOG"
case " $* " in
  *" install "*maven*) cat "$STUB_DIR/mvn.stub" > "$STUB_DIR/installed/mvn"
                       chmod +x "$STUB_DIR/installed/mvn" ;;
esac
"""


def write_tool(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def fetch(tmp_path: Path, *, uid: int, maven_present: bool) -> subprocess.CompletedProcess[str]:
    bin_dir, installed = tmp_path / "bin", tmp_path / "installed"
    bin_dir.mkdir()
    installed.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    write_tool(bin_dir / "id", f"#!/bin/bash\necho {uid}\n")
    write_tool(bin_dir / "apt-get", APT_GET)
    (tmp_path / "mvn.stub").write_text(MVN)
    if maven_present:
        write_tool(installed / "mvn", MVN)
    environment = {
        "PATH": f"{bin_dir}:{installed}",
        "HOME": str(tmp_path),
        "CONCORD_CACHE": str(tmp_path / "cache"),
        "STUB_DIR": str(tmp_path),
        "STUB_LOG": str(tmp_path / "calls.log"),
        "STUB_KAFKA_VERSION": KAFKA_VERSION,
    }
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(SCRIPT), "fetch"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def jar(tmp_path: Path) -> Path:
    return (
        tmp_path / "cache" / f"kafka-{KAFKA_VERSION}" / "libs" / f"kafka_2.13-{KAFKA_VERSION}.jar"
    )


@pytest.mark.skipif(os.name != "posix", reason="a bash script")
def test_as_root_without_maven_it_installs_maven_then_fetches(tmp_path: Path) -> None:
    finished = fetch(tmp_path, uid=0, maven_present=False)
    assert finished.returncode == 0, finished.stderr
    recorded = calls(tmp_path)
    assert recorded[:2] == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends maven",
    ]
    assert recorded[2].startswith("mvn ") and "dependency:copy-dependencies" in recorded[2]
    assert jar(tmp_path).exists()


@pytest.mark.skipif(os.name != "posix", reason="a bash script")
def test_not_root_without_maven_it_says_what_to_install(tmp_path: Path) -> None:
    finished = fetch(tmp_path, uid=1000, maven_present=False)
    assert finished.returncode == 1
    assert "install the Debian package maven" in finished.stderr
    assert calls(tmp_path) == []
    assert not jar(tmp_path).exists()


@pytest.mark.skipif(os.name != "posix", reason="a bash script")
def test_with_maven_present_nothing_is_installed(tmp_path: Path) -> None:
    finished = fetch(tmp_path, uid=0, maven_present=True)
    assert finished.returncode == 0, finished.stderr
    recorded = calls(tmp_path)
    assert len(recorded) == 1 and recorded[0].startswith("mvn ")
    assert jar(tmp_path).exists()
