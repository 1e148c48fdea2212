"""Start and stop the KRaft broker through `deploy/kafka/kafka.sh`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "kafka" / "kafka.sh"


class LocalKafka:
    def __init__(self, run_dir: Path, *, port: int, nodes: int = 1) -> None:
        self.run_dir = run_dir
        self.port = port
        self.nodes = nodes

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + 2 * i}" for i in range(self.nodes))

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_RUN_DIR": str(self.run_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_NODES": str(self.nodes),
            "PYTHON": sys.executable,
        }

    def start(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "start"], env=self._env(), check=True, timeout=300)

    def stop(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=self._env(), check=False, timeout=120)

    @staticmethod
    def fetch() -> None:
        subprocess.run(["bash", str(SCRIPT), "fetch"], check=True, timeout=1200)
