"""Log output of real processes: secrets redacted in every line of a real `upcron up` run, the
access log on, off or in a file and without static files and /healthz, and RQ's per-job lines
only at debug level."""

import subprocess
import sys
import time

import redis
import requests
from rq import Queue

from tests.processes import PROJECT, Running, create_key, free_port, process_env

# The default format with two headers added, as an operator may through GUNICORN_CMD_ARGS.
ACCESS_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
    '"%({authorization}i)s" "%({http_x_api_key}e)s"'
)


def test_up_writes_no_secret_in_any_log_line(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(tmp_path, UPCRON_PORT=str(port))
    env["GUNICORN_CMD_ARGS"] = f"--access-logformat '{ACCESS_FORMAT}'"
    up = Running([sys.executable, "-m", "app", "up"], env)
    try:
        up.wait_for(f"Upcron is running at {base}")
        key = create_key(env)  # a real key, valid on this instance
        unknown = "upk_" + "Z" * 43  # shaped like one, valid nowhere
        password = "correct-horse-battery-staple"

        def get(path, **headers):
            return requests.get(base + path, headers=headers, timeout=60)

        assert get(f"/compat/setcronjob/api/cron.list?token={key}").json()["status"] == "success"
        assert get(f"/api/monitors?api_key={unknown}&page=1").status_code == 401
        assert get(f"/api/monitors?APIKEY={password}").status_code == 401
        assert get("/api/monitors", Authorization=f"Bearer {key}").status_code == 200
        assert get("/api/cron-jobs", **{"X-Api-Key": unknown}).status_code == 401
        assert get("/api/incidents", Referer=f"{base}/?key={key}").status_code == 401
        assert get("/static/app.css").status_code == 200
        assert get("/healthz").status_code == 200
    finally:
        output = up.stop()
    assert up.process.returncode == 0, output

    for secret in (key, unknown, password, key[12:], unknown[12:]):
        assert secret not in output
    shown, unknown_shown = f"{key[:12]}…[redacted]", f"{unknown[:12]}…[redacted]"
    access = [line for line in output.splitlines() if line.startswith("web") and '"GET ' in line]
    expected = [
        f"GET /compat/setcronjob/api/cron.list?token={shown} HTTP/1.1",
        f"GET /api/monitors?api_key={unknown_shown}&page=1 HTTP/1.1",
        "GET /api/monitors?APIKEY=[redacted] HTTP/1.1",
        '"GET /api/monitors HTTP/1.1" 200',
        f'"Bearer {shown}"',
        '"GET /api/cron-jobs HTTP/1.1" 401',
        f'"{unknown_shown}"',
        f'"{base}/?key={shown}"',
    ]
    for text in expected:
        assert any(text in line for line in access), (text, access)
    # The access log leaves out static files and health checks (`up` itself polls /healthz).
    assert not [line for line in access if "/static/" in line or "/healthz" in line], access


def _web(tmp_path, **settings) -> tuple[Running, str]:
    port = free_port()
    web = Running(
        [sys.executable, "-m", "app", "web"],
        process_env(tmp_path, UPCRON_PORT=str(port), **settings),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # until gunicorn listens; a worker still loading the app makes us wait
        try:
            requests.get(f"{base}/static/app.css", timeout=60)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, web.output()
            time.sleep(0.1)
    # Routes that answer without a database or Redis: an API call without a key, and the two
    # kinds of request that are never logged.
    assert requests.get(f"{base}/api/monitors", timeout=60).status_code == 401
    requests.get(f"{base}/healthz", timeout=60)
    requests.get(f"{base}/static/app.js", timeout=60)
    return web, base


def test_access_log_off_writes_no_access_line(tmp_path):
    web, _ = _web(tmp_path, UPCRON_ACCESS_LOG="off")
    output = web.stop()
    assert "Booting worker" in output  # gunicorn's own lines are there
    assert "GET /" not in output


def test_access_log_to_a_file(tmp_path):
    path = tmp_path / "access.log"
    web, _ = _web(tmp_path, UPCRON_ACCESS_LOG=str(path))
    output = web.stop()
    assert "GET /" not in output
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and '"GET /api/monitors HTTP/1.1" 401' in lines[0], lines


def _burst_worker(tmp_path, redis_url, database_url, level) -> str:
    """Run one job through a real worker at a log level; RQ's lines about it, as printed."""
    conn = redis.Redis.from_url(redis_url)
    job = Queue("maintenance", connection=conn).enqueue("app.tasks.jobs.send_due_notifications")
    env = process_env(
        tmp_path,
        UPCRON_REDIS_URL=redis_url,
        UPCRON_DATABASE_URL=database_url,
        UPCRON_LOG_LEVEL=level,
    )
    result = subprocess.run(
        [sys.executable, "-m", "app", "worker", "--burst"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    job.refresh()
    assert job.is_finished, result.stdout + result.stderr
    conn.flushdb()
    return result.stdout + result.stderr


def test_rq_job_lines_only_at_debug(tmp_path, redis_url, database_url):
    per_job = ("send_due_notifications() (", "Successfully completed", "Job OK", "result is kept")
    quiet = _burst_worker(tmp_path, redis_url, database_url, "info")
    assert "INFO rq.worker: Worker" in quiet and "started with PID" in quiet  # it does log
    assert not [text for text in per_job if text in quiet], quiet
    chatty = _burst_worker(tmp_path, redis_url, database_url, "debug")
    for text in per_job:
        assert "DEBUG rq.worker: " in chatty and text in chatty, (text, chatty)
    assert [line for line in chatty.splitlines() if "Job OK" in line][0].startswith("DEBUG")
