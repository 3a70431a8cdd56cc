"""The Makefile's install split: `make run` installs what running needs, nothing more.

A newcomer's first `make run` waits for every package it installs, so the test extra
(pytest, Playwright, schemathesis…) is left to `make test`.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ["Makefile", "pyproject.toml", "README.md", "worker.py", "wsgi.py", "app"]


def _make(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={sys.executable}", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )


def test_run_installs_the_runtime_only_and_quietly(tmp_path):
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)

    done = _make(tmp_path, ".venv/.run-stamp")

    assert done.returncode == 0, done.stderr
    # Nothing but the one line that says what is going on: no pip or build warnings.
    assert done.stdout.strip() == "Setting up .venv (one time)…"
    assert done.stderr == ""
    python = str(tmp_path / ".venv" / "bin" / "python")
    assert subprocess.run([python, "-c", "import flask, rq, app"], cwd="/").returncode == 0
    assert subprocess.run([python, "-c", "import pytest"], cwd="/").returncode != 0
    assert not (tmp_path / ".venv" / ".test-stamp").exists()

    # Up to date until pyproject.toml changes; then installed again.
    assert _make(tmp_path, "-q", ".venv/.run-stamp").returncode == 0
    later = time.time() + 2
    os.utime(tmp_path / "pyproject.toml", (later, later))
    assert _make(tmp_path, "-q", ".venv/.run-stamp").returncode == 1
