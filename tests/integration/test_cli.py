"""The `upcron` command, run for real: admins from the shell and the whole stack under `up`."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from click.testing import CliRunner
from flask.cli import ScriptInfo

from app.cli import cli
from app.processes import die_with_parent
from app.services import accounts

PROJECT = Path(__file__).resolve().parents[2]


def run_cli(app, *args, input=None):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
    env.update(UPCRON_INSTANCE_DIR=str(tmp_path), UPCRON_WORKERS="1", **extra)
    return env


def test_up_serves_setup_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "up"],
        cwd=PROJECT,
        env=_env(tmp_path, UPCRON_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )
    # Read the output all along, as a terminal would: a full pipe would stall every child.
    output, running = [], threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            if f"Upcron is running at http://127.0.0.1:{port}" in line:
                running.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert running.wait(60), "".join(output)
        assert (tmp_path / "redis.sock").exists()
        response = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=15)
        assert response.status_code == 302 and response.headers["Location"] == "/setup"
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=15).json()["redis"] == "ok"
        family = _descendants(process.pid)
        commands = [_cmdline(pid) for pid in family]
        assert any("redis-server" in c for c in commands), commands
        assert any("gunicorn" in c for c in commands), commands
        assert any(c.endswith("-m app worker") for c in commands), commands
        assert any(c.endswith("-m app scheduler") for c in commands), commands
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(10)
        process.stdout.close()
    assert process.returncode == 0, "".join(output)
    time.sleep(0.2)
    assert [pid for pid in family if _alive(pid)] == []
    assert not (tmp_path / "redis.sock").exists()


def test_bad_settings_stop_start_up_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "up"],
        cwd=PROJECT,
        env=_env(tmp_path, UPCRON_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "upcron: UPCRON_PORT: expected a whole number, got 'eighty'"
