"""The suite never writes into the user's own `make run` directory.

A test that seeds the demo, resets a stack or reads `concord.env` through the default run
directory would otherwise mark the user's data as seeded (so their next `make run` skips
seeding) or drive the user's running stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deploy.demo.runinfo import default_run_dir
from deploy.services import ROOT


def test_the_suites_run_directory_is_not_the_users(
    session_run_dir: Path, user_run_dirs: set[Path]
) -> None:
    in_process = default_run_dir().resolve()
    assert in_process == session_run_dir.resolve()
    assert in_process not in user_run_dirs
    assert not any(in_process.is_relative_to(user) for user in user_run_dirs)


def test_a_concord_subprocess_sees_the_suites_run_directory(
    session_run_dir: Path, user_run_dirs: set[Path]
) -> None:
    # What test_make_run and any CLI test hand their subprocesses: the session's environment.
    printed = subprocess.run(
        [sys.executable, "-c", "from deploy.demo.runinfo import default_run_dir as d; print(d())"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(printed).resolve() == session_run_dir.resolve()
    assert Path(printed).resolve() not in user_run_dirs
