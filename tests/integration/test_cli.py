"""The `upcron` command, run for real: admins from the shell and the whole stack under `up`."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

from app.cli import LEADER_KEY
from app.engine.scheduler import KEY_LEADER, KEY_STATUS
from app.processes import die_with_parent
from app.services import accounts
from tests.conftest import run_cli
from tests.processes import PROJECT, Running, alive, cmdline, descendants, free_port, process_env


def test_create_admin_from_options(app):
    result = run_cli(
        app, "create-admin", "--email", "ops@example.com", "--password", "a long passphrase"
    )
    assert result.exit_code == 0, result.output
    assert "Admin ops@example.com created." in result.output
    with app.app_context():
        assert accounts.setup_completed()


def test_create_admin_prompts_and_refuses_weak_passwords(app):
    result = run_cli(app, "create-admin", "--email", "ops@example.com", input="short\nshort\n")
    assert result.exit_code == 1
    assert "at least 12" in result.output
    with app.app_context():
        assert not accounts.setup_completed()


def _wait_until_started(redis_socket: Path) -> None:
    """Wait (a minute at the most) until the worker waits for work and the scheduler leads,
    as `up`'s embedded Redis tells."""
    conn = redis.Redis(unix_socket_path=str(redis_socket))
    deadline = time.monotonic() + 60
    try:
        while True:
            workers = conn.smembers("rq:workers")
            states = [conn.hget(w, "state") for w in workers]
            if states == [b"idle"] and conn.hget(KEY_STATUS, "leader"):
                return
            assert time.monotonic() < deadline, f"workers {states}, no scheduler leading"
            time.sleep(0.1)
    finally:
        conn.close()


def test_up_serves_setup_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    up = Running([sys.executable, "-m", "app", "up"], process_env(tmp_path, UPCRON_PORT=str(port)))
    try:
        # The banner's last line: the snapshot below must not catch the banner half-read.
        up.wait_for("upcron    |   stop:       Ctrl-C")
        # A newcomer's console: the banner stays the last thing on screen once every child
        # has started (the worker waits for work, the scheduler leads), and a clean start
        # warns of nothing (the embedded Redis's own lines go to a file).
        _wait_until_started(tmp_path / "redis.sock")
        shown = [line.rstrip() for line in up.lines]
        assert shown[-4:] == [
            f"upcron    | Upcron is running at http://127.0.0.1:{port}",
            f"upcron    |   data:       SQLite database {tmp_path / 'upcron.db'}",
            "upcron    |   access log: on, here (UPCRON_ACCESS_LOG=off or a file path)",
            "upcron    |   stop:       Ctrl-C",
        ], shown
        assert [line for line in shown if "warn" in line.lower()] == []
        assert (tmp_path / "redis.log").exists()
        assert (tmp_path / "redis.sock").exists()
        response = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=15)
        assert response.status_code == 302 and response.headers["Location"] == "/setup"
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=15).json()["redis"] == "ok"
        family = descendants(up.process.pid)
        commands = [cmdline(pid) for pid in family]
        assert any("redis-server" in c for c in commands), commands
        assert any("gunicorn" in c for c in commands), commands
        # An RQ worker retitles itself when the setproctitle module is installed.
        assert any(c.endswith("-m app worker") or c.startswith("rq:worker:") for c in commands), (
            commands
        )
        assert any(c.endswith("-m app scheduler") for c in commands), commands
    finally:
        output = up.stop()
    assert up.process.returncode == 0, output
    # Every child stopped on SIGTERM, none had to be killed; `up` waited for each of them.
    assert [line for line in output.splitlines() if "did not stop" in line] == []
    assert [pid for pid in family if alive(pid)] == []
    assert not (tmp_path / "redis.sock").exists()


def test_bad_settings_stop_start_up_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "up"],
        cwd=PROJECT,
        env=process_env(tmp_path, UPCRON_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "upcron: UPCRON_PORT: expected a whole number, got 'eighty'"


def _web(tmp_path, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "web"],
        cwd=PROJECT,
        env=process_env(tmp_path, UPCRON_PORT=str(free_port()), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


def _worker_cpus(master: int, count: int, settled) -> dict[int, set[int]]:
    """The CPUs each of the master's ``count`` workers may run on, once ``settled`` says so."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        try:
            cpus = {int(pid): os.sched_getaffinity(int(pid)) for pid in pids}
        except ProcessLookupError:
            cpus = {}
        if len(cpus) == count and settled(cpus):
            return cpus
        time.sleep(0.1)
    raise AssertionError(f"workers of {master} never settled: {cpus}")


def _one_each(cpus: dict[int, set[int]]) -> bool:
    return all(len(allowed) == 1 for allowed in cpus.values())


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs or more")
def test_web_workers_keep_to_a_cpu_each_and_a_replacement_takes_the_free_one(tmp_path):
    available = os.sched_getaffinity(0)
    server = _web(tmp_path, UPCRON_WEB_WORKERS=str(len(available)))
    try:
        cpus = _worker_cpus(server.pid, len(available), _one_each)
        assert set().union(*cpus.values()) == available  # dealt out, one CPU per worker

        victim = max(cpus)  # the last one started
        freed = cpus[victim]
        os.kill(victim, signal.SIGKILL)
        cpus = _worker_cpus(server.pid, len(available), lambda c: victim not in c and _one_each(c))
        # The replacement took the CPU its predecessor left, not one a live worker has.
        assert freed in cpus.values() and set().union(*cpus.values()) == available
    finally:
        server.terminate()
        server.wait(30)


def test_web_workers_are_left_to_the_kernel_with_affinity_none(tmp_path):
    available = os.sched_getaffinity(0)
    server = _web(tmp_path, UPCRON_WEB_WORKERS="2", UPCRON_WEB_CPU_AFFINITY="none")
    try:
        cpus = _worker_cpus(server.pid, 2, lambda c: True)
        assert list(cpus.values()) == [available, available]
    finally:
        server.terminate()
        server.wait(30)


def test_up_knows_the_schedulers_leader_key_by_name():
    # `up` spells the key out rather than load the engine to read it.
    assert LEADER_KEY == KEY_LEADER
