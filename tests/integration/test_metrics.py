"""/metrics for real: a check of a loopback target through the scheduler and an RQ worker, an
alert to a webhook and a ping, read back as Prometheus reads them; who may scrape; and the
figures of separate processes (a finished one, gunicorn's workers, the scheduler and the RQ
workers of `upcron up`) added up in one scrape."""

from __future__ import annotations

import ipaddress
import json
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app.processes import die_with_parent
from app.services import api_keys, channels, monitors
from tests.pipeline import work
from tests.processes import PROJECT, Running, create_key, free_port, process_env
from tests.targets import TargetServer

TYPES = {
    "upcron_checks": "counter",
    "upcron_check_duration_seconds": "histogram",
    "upcron_dispatch_lateness_seconds": "histogram",
    "upcron_pings": "counter",
    "upcron_notification_deliveries": "counter",
    "upcron_scheduler_due_items": "gauge",
    "upcron_queue_jobs": "gauge",
    "upcron_incidents_open": "gauge",
}
LABELS = {
    "upcron_checks": {"kind", "outcome"},
    "upcron_check_duration_seconds": {"kind"},
    "upcron_dispatch_lateness_seconds": {"kind"},
    "upcron_pings": {"kind"},
    "upcron_notification_deliveries": {"channel_kind", "result"},
    "upcron_scheduler_due_items": set(),
    "upcron_queue_jobs": {"queue"},
    "upcron_incidents_open": set(),
}


def parse(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def test_a_check_an_alert_and_a_ping_are_counted_with_fixed_names_and_labels(
    scheduler, api, target
):
    key = api.key("metrics:read")

    def scrape() -> tuple[str, dict]:
        response = api.get("/metrics", key)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.get_data(as_text=True)
        return text, parse(text)

    channels.create(
        {"name": "Ops", "kind": "webhook", "url": target.route("/hook"), "is_default": True}
    )
    monitors.create(
        {"name": "Shop front", "url": target.route("/health", status=503), "failure_threshold": 1}
    )
    code = monitors.create({"kind": "heartbeat", "name": "Nightly", "period_sec": 3600}).code
    _, before = scrape()

    scheduler.tick(datetime.now(UTC))  # the check is due at once: in the queue now
    _, queued = scrape()
    assert value(queued, "upcron_queue_jobs", queue="checks") == 1
    assert value(queued, "upcron_scheduler_due_items") == 1  # the monitor, due again later
    lateness = "upcron_dispatch_lateness_seconds_count"
    assert value(queued, lateness, kind="monitor") == value(before, lateness, kind="monitor") + 1

    work()  # the check fails: down, an incident, an alert sent to the webhook
    assert api.client.post(f"/ping/{code}").status_code == 200
    text, after = scrape()

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("upcron_checks_total", kind="http", outcome="failed_http_status") == 1
    assert grew("upcron_check_duration_seconds_count", kind="http") == 1
    assert 0 < grew("upcron_check_duration_seconds_sum", kind="http") < 10
    assert grew("upcron_pings_total", kind="success") == 1
    assert grew("upcron_notification_deliveries_total", channel_kind="webhook", result="sent") == 1
    assert value(after, "upcron_incidents_open") == 1
    assert value(after, "upcron_scheduler_due_items") == 2  # and the heartbeat's deadline
    for queue in ("checks", "notify", "maintenance"):
        assert value(after, "upcron_queue_jobs", queue=queue) == 0

    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {name: f.type for name, f in families.items()} == TYPES
    for name, family in families.items():
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == LABELS[name], sample
    # Nothing that names a monitor: not its name, URL or address.
    assert "Shop front" not in text and target.url("/") not in text
    assert f"127.0.0.1:{target.url('/').rsplit(':', 1)[1]}" not in text


def test_a_scrape_without_a_key_is_refused_with_401(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json == {"error": api_keys.MISSING}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Upcron API"'


def test_a_key_without_the_metrics_scope_is_refused_with_403(api):
    response = api.get("/metrics", api.key("monitors:read", "system:read"))
    assert response.status_code == 403
    assert response.json == {"error": "Insufficient permissions. Required scope: metrics:read"}


@pytest.mark.parametrize("scope", ["metrics:read", "metrics:*", "*"])
def test_a_key_with_the_metrics_scope_scrapes(api, scope):
    # No admin exists yet: /metrics answers all the same (no redirect to the setup page).
    response = api.get("/metrics", api.key(scope))
    assert response.status_code == 200
    assert "# TYPE upcron_checks_total counter" in response.get_data(as_text=True)


def test_the_allowed_addresses_scrape_without_a_key_and_no_others(make_app):
    client = make_app(METRICS_ALLOW=(ipaddress.ip_network("192.0.2.0/24"),)).test_client()
    allowed = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert allowed.status_code == 200
    assert "upcron_incidents_open 0.0" in allowed.get_data(as_text=True)

    other = client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert other.status_code == 401 and other.json == {"error": api_keys.MISSING}
    # A forwarded address counts only from a trusted proxy; there is none here.
    forged = client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "198.51.100.1"},
        headers={"X-Forwarded-For": "192.0.2.7"},
    )
    assert forged.status_code == 401


# --- several processes -----------------------------------------------------------------------


def _scraped_env(tmp_path, **extra) -> dict:
    """process_env, scraped from loopback without a key and writing no access log."""
    return process_env(tmp_path, UPCRON_METRICS_ALLOW="127.0.0.1", UPCRON_ACCESS_LOG="off", **extra)


def _scrape_until(url: str, enough, timeout: float = 60) -> dict:
    """The scrape of ``url`` once ``enough(samples)`` holds (the last one if never)."""
    deadline = time.monotonic() + timeout
    samples: dict = {}
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=10)
        except requests.RequestException:  # not listening yet, or its workers still starting
            response = None
        if response is not None and response.status_code == 200:
            samples = parse(response.text)
            if enough(samples):
                break
        time.sleep(0.2)
    return samples


def test_the_processes_of_a_host_add_up(app, database_url, redis_url, tmp_path):
    """A process that has ended and both gunicorn workers of `upcron web` count into one
    folder; the scrape, answered by either worker, is their sum."""
    folder = tmp_path / "metrics"
    with app.app_context():
        code = monitors.create({"kind": "heartbeat", "name": "Nightly", "period_sec": 3600}).code
    env = _scraped_env(
        tmp_path,
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        UPCRON_DATABASE_URL=database_url,
        UPCRON_REDIS_URL=redis_url,
    )
    # A process that counts three pings and ends before the web server starts.
    subprocess.run(
        [sys.executable, "-c", "from app import metrics; metrics.PINGS.labels('log').inc(3)"],
        cwd=PROJECT,
        env=env,
        check=True,
        timeout=60,
    )
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "app", "web"],
        cwd=PROJECT,
        env={**env, "UPCRON_PORT": str(port), "UPCRON_WEB_WORKERS": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _scrape_until(f"{base}/metrics", lambda s: True), "the web server never answered"
        for _ in range(6):
            # A new connection each time, so both workers get a share.
            response = requests.post(f"{base}/ping/{code}/log", timeout=15)
            assert response.status_code == 200
        samples = _scrape_until(
            f"{base}/metrics", lambda s: value(s, "upcron_pings_total", kind="log") >= 9
        )
        assert value(samples, "upcron_pings_total", kind="log") == 9
        # The finished process's file, and at least one worker's.
        assert len(list(folder.glob("counter_*.db"))) >= 2
    finally:
        web.send_signal(signal.SIGINT)  # gunicorn's quick stop
        web.wait(30)


def test_up_sums_web_scheduler_and_workers_in_a_fresh_folder(tmp_path, target):
    """Under `upcron up` the check is dispatched by the scheduler and made by an RQ worker,
    two processes other than the web worker that answers the scrape; the figures an earlier
    run left in the folder are gone."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"\0" * 64)  # an earlier run's
    port = free_port()
    env = _scraped_env(tmp_path, UPCRON_PORT=str(port))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    up = Running([sys.executable, "-m", "app", "up"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _scrape_until(f"{base}/metrics", lambda s: True), up.output()
        assert not (folder / "counter_1.db").exists()
        secret = create_key(env)
        response = requests.post(
            f"{base}/api/monitors",
            json={"name": "Shop", "url": target.route("/health"), "interval_sec": 30},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=15,
        )
        assert response.status_code == 201, response.text

        def checked(samples: dict) -> bool:
            return value(samples, "upcron_checks_total", kind="http", outcome="ok") >= 1

        samples = _scrape_until(f"{base}/metrics", checked)
        assert checked(samples), up.output()
        assert value(samples, "upcron_dispatch_lateness_seconds_count", kind="monitor") >= 1
        assert value(samples, "upcron_check_duration_seconds_count", kind="http") >= 1
    finally:
        up.stop()


def test_the_grafana_dashboard_reads_only_what_metrics_exposes(api):
    """docs/grafana-dashboard.json, from its expressions: every series it asks for exists."""
    text = api.get("/metrics", api.key("metrics:read")).get_data(as_text=True)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    exposed = {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes[family.type]
    }
    dashboard = json.loads((PROJECT / "docs" / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    asked = {name for expr in expressions for name in re.findall(r"\bupcron_\w+", expr)}
    assert asked and asked <= exposed, asked - exposed
    missing = [family for family in TYPES if not any(n.startswith(family) for n in asked)]
    assert missing == []  # and every metric has its place on it
