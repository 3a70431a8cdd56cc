"""The degraded state for real: a target on 127.0.0.1 that answers slowly, checked through the
scheduler and an RQ worker; its alerts to a webhook receiver on loopback; uptime, the status
page, badges, the overview and the API's rules."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine.certificates import Certificate
from app.engine.checks import Outcome, Rules, warning
from app.engine.probe import ProbeResult
from app.extensions import db
from app.models import Incident, Monitor
from app.models.history import FAILED_HTTP_STATUS, OK, SUBJECT_MONITOR
from app.services import channels, history, monitors, results
from app.services.errors import ValidationError
from tests.conftest import post_form
from tests.pipeline import check_results, run_due, work
from tests.targets import TargetServer

SLOW_SEC = 0.3  # the slow answer's delay, far above the limit below on any machine
LIMIT_MS = 100
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


@pytest.fixture
def ctx(make_app):
    app = make_app(BASE_URL="https://upcron.example.com")
    with app.app_context():
        yield app


def slow(target: TargetServer) -> None:
    target.route("/health", body="ok", delay=SLOW_SEC)


def fast(target: TargetServer) -> None:
    target.route("/health", body="ok")


def failing(target: TargetServer) -> None:
    target.route("/health", status=503, body="busy")


def web_monitor(target: TargetServer, **fields) -> Monitor:
    return monitors.create(
        {
            "name": "API",
            "url": target.url("/health"),
            "interval_sec": 10,
            "timeout_ms": 2000,
            "degraded_after_ms": LIMIT_MS,
            "failure_threshold": 2,
            **fields,
        }
    )


class Clock:
    """Runs the scheduler's due checks, ten seconds apart."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.at = datetime.now(UTC)

    def tick(self, monitor_id: int) -> Monitor:
        run_due(self.scheduler, self.at)
        self.at += timedelta(seconds=10)
        return db.session.get(Monitor, monitor_id)


def test_checks_warn_only_when_slower_than_the_limit():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    rules = Rules("200-399", degraded_after_ms=1000)
    assert warning(rules, ProbeResult(OK, total_us=2_340_400), now) == (
        "slow",
        "Answered in 2,340 ms, slower than 1,000 ms",
    )
    assert warning(rules, ProbeResult(OK, total_us=1_000_000), now) is None
    assert warning(Rules("200-399"), ProbeResult(OK, total_us=9_000_000), now) is None
    # A ping is judged by its average round trip, not the whole check's pauses between echoes.
    pinged = ProbeResult(OK, total_us=2_500_000, rtt_avg_us=1_200_000)
    assert warning(Rules(None, degraded_after_ms=1000), pinged, now) == (
        "slow",
        "Round trips took 1,200 ms, slower than 1,000 ms",
    )
    pinged.rtt_avg_us = 900_000
    assert warning(Rules(None, degraded_after_ms=1000), pinged, now) is None


def test_an_expiring_certificate_warns_before_slowness():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    expires = now + timedelta(days=5)
    cert = Certificate("CN=shop", "CN=CA", ("shop",), now - timedelta(days=85), expires, "ab")
    slow = ProbeResult(OK, total_us=2_000_000, certificate=cert)
    rules = Rules("200-399", degraded_after_ms=1000, tls_expiry_warn_days=14)
    assert warning(rules, slow, now) == (
        "certificate",
        "The certificate expires on 2026-12-11, in 5 days",
    )
    assert warning(replace(rules, tls_expiry_warn_days=3), slow, now)[0] == "slow"
    assert (
        warning(replace(rules, tls_expiry_warn_days=0, degraded_after_ms=None), slow, now) is None
    )


def test_a_slow_target_degrades_the_monitor_and_counts_as_up(ctx, scheduler, target):
    slow(target)
    monitor = web_monitor(target)
    clock = Clock(scheduler)

    # A new monitor is degraded by its first slow answer.
    row = clock.tick(monitor.id)
    assert row.state == "degraded" and row.degraded_kind == "slow"
    assert row.last_warning.startswith("Answered in ")
    assert row.last_warning.endswith(f" ms, slower than {LIMIT_MS} ms")
    [first] = check_results(monitor.id)
    assert first.outcome == OK and first.warning == row.last_warning

    fast(target)
    assert clock.tick(monitor.id).state == "up"  # recovery_threshold 1

    slow(target)
    assert clock.tick(monitor.id).state == "up"  # one warning of the two it takes
    assert clock.tick(monitor.id).state == "degraded"

    failing(target)
    row = clock.tick(monitor.id)
    assert row.state == "degraded" and row.last_warning is None
    assert db.session.execute(sa.select(Incident).filter_by(monitor_id=monitor.id)).all() == []
    row = clock.tick(monitor.id)
    assert row.state == "down" and row.degraded_kind is None  # down wins
    [incident] = db.session.execute(sa.select(Incident).filter_by(monitor_id=monitor.id)).scalars()
    assert incident.title == "API is down"

    outcomes = [(r.outcome, r.warning is not None) for r in check_results(monitor.id)]
    assert outcomes == [
        (OK, True),
        (OK, False),
        (OK, True),
        (OK, True),
        (FAILED_HTTP_STATUS, False),
        (FAILED_HTTP_STATUS, False),
    ]
    # Degraded answers are up: only the two failures count against uptime.
    figures = history.uptime(SUBJECT_MONITOR, monitor.id, clock.at)
    assert figures["24h"] == figures["7d"] == round(4 / 6 * 100, 3)


def test_tcp_and_dns_monitors_take_the_limit_too(ctx):
    tcp = monitors.create(
        {
            "name": "DB",
            "kind": "tcp",
            "host": "db.example.com",
            "port": 5432,
            "degraded_after_ms": 5,
        }
    )
    dns = monitors.create({"name": "Name", "kind": "dns", "host": "example.com"})
    assert tcp.degraded_after_ms == 5 and dns.degraded_after_ms is None
    assert (dns.notify_degraded_slow, dns.notify_degraded_certificate) == (False, True)


# --- alerts --------------------------------------------------------------------------------


def hook_posts(target: TargetServer) -> list[dict]:
    return [json.loads(r.body) for r in target.requests if r.method == "POST"]


def test_slowness_is_announced_only_when_asked_and_its_end_likewise(ctx, scheduler, target):
    hook = target.route("/hook", status=204)
    channels.create({"name": "Ops", "kind": "webhook", "url": hook, "is_default": True})
    quiet = web_monitor(target, name="Quiet", failure_threshold=1)
    loud = web_monitor(target, name="Loud", failure_threshold=1, notify_degraded_slow=True)
    clock = Clock(scheduler)
    fast(target)
    clock.tick(quiet.id)

    slow(target)
    assert clock.tick(quiet.id).state == "degraded"
    assert db.session.get(Monitor, loud.id).state == "degraded"
    fast(target)
    assert clock.tick(quiet.id).state == "up"

    events = [(p["subject"]["name"], p["event"]) for p in hook_posts(target)]
    assert events == [("Loud", "monitor.degraded"), ("Loud", "monitor.up")]
    degraded, up = hook_posts(target)
    assert degraded["severity"] == "warning" and degraded["status"] == "degraded"
    assert degraded["summary"] == "Monitor Loud is degraded"
    assert degraded["detail"].endswith(f"slower than {LIMIT_MS} ms")
    assert degraded["warning"] == {"kind": "slow", "message": degraded["detail"]}
    assert degraded["incident"] is None
    assert (up["status"], up["severity"]) == ("up", "success")
    assert up["detail"] == "It answers without a warning again."


def test_down_after_an_unannounced_degraded_spell_is_announced_both_ways(ctx, scheduler, target):
    hook = target.route("/hook", status=204)
    channels.create({"name": "Ops", "kind": "webhook", "url": hook, "is_default": True})
    monitor = web_monitor(target, failure_threshold=1)
    clock = Clock(scheduler)
    slow(target)
    clock.tick(monitor.id)
    failing(target)
    assert clock.tick(monitor.id).state == "down"
    fast(target)
    assert clock.tick(monitor.id).state == "up"
    assert [p["event"] for p in hook_posts(target)] == ["monitor.down", "monitor.up"]


def test_a_certificate_spell_is_announced_by_its_thresholds_and_its_end(ctx, target):
    """A certificate warning makes the monitor degraded through the same Outcome fields; the
    certificate's threshold alerts announce it (not a second "degraded"), and its end, the
    renewed certificate, is announced while notify_degraded_certificate is on."""
    hook = target.route("/hook", status=204)
    channels.create({"name": "Ops", "kind": "webhook", "url": hook, "is_default": True})
    monitor = monitors.create({"name": "Shop", "url": "https://shop.example.com/"})
    earlier, now = datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC)
    sentence = "The certificate expires on 2026-12-11, in 5 days"

    def checked(at: datetime, warned: bool) -> Outcome:
        return Outcome(
            kind="m",
            subject_id=monitor.id,
            planned_at=at,
            started_at=at,
            trigger="schedule",
            missed=0,
            outcome=OK,
            error=None,
            result=ProbeResult(OK, total_us=40_000, status_code=200),
            warning=sentence if warned else None,
            warning_kind="certificate" if warned else None,
        )

    assert results.record([checked(earlier, True)], earlier) == [
        ("monitor", monitor.id, "degraded")
    ]
    work()
    assert hook_posts(target) == []
    assert results.record([checked(now, False)], now) == [("monitor", monitor.id, "up")]
    work()
    [alert] = hook_posts(target)
    assert alert["event"] == "monitor.up"
    assert alert["detail"] == "It answers without a warning again."


# --- what people see -----------------------------------------------------------------------


def test_status_page_badge_and_overview_show_degraded(scheduler, target, logged_in):
    client = logged_in
    slow(target)
    monitor = web_monitor(target, public=True)
    Clock(scheduler).tick(monitor.id)
    row = db.session.get(Monitor, monitor.id)
    assert row.state == "degraded"

    page = client.get("/status").get_data(as_text=True)
    assert "Degraded performance" in page
    assert 'class="pill pill-degraded">Degraded performance<' in page
    assert "banner-degraded" in page
    assert client.get("/api/status").get_json()["services"][0]["status"] == "degraded"
    assert client.get("/api/status").get_json()["overall"] == "degraded"
    badge = client.get(f"/badge/{row.slug}/status.svg")
    assert ET.fromstring(badge.data).find(f"{SVG}title").text == "API: degraded"
    assert "#dfb317" in badge.get_data(as_text=True)  # the badges' amber

    overview = client.get("/?status=degraded").get_data(as_text=True)
    assert ">API</a>" in overview and 'class="pill pill-degraded"' in overview
    assert f'<span class="warning-note">{row.last_warning}</span>' in overview
    assert ">API</a>" not in client.get("/?status=up").get_data(as_text=True)
    detail = client.get(f"/monitors/{monitor.id}").get_data(as_text=True)
    assert f'<dd class="warning-note">{row.last_warning}</dd>' in detail
    assert 'class="pill pill-degraded">degraded<' in detail  # the check history's row too
    assert 'class="chart-limit"' in detail and f"degraded above {LIMIT_MS} ms" in detail


# --- the API and the form --------------------------------------------------------------------


@pytest.fixture
def key(api):
    return api.key("monitors:*")


def test_api_reads_and_writes_the_fields(api, key):
    created = api.post(
        "/api/monitors",
        key,
        json={"name": "API", "url": "https://example.com/", "degraded_after_ms": 800},
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["degraded_after_ms"] == 800 and body["last_warning"] is None
    assert (body["notify_degraded_slow"], body["notify_degraded_certificate"]) == (False, True)
    path = f"/api/monitors/{body['id']}"
    changed = api.put(
        path,
        key,
        json={
            "degraded_after_ms": None,
            "notify_degraded_slow": True,
            "notify_degraded_certificate": False,
        },
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["degraded_after_ms"] is None
    assert (changed.json["notify_degraded_slow"], changed.json["notify_degraded_certificate"]) == (
        True,
        False,
    )
    assert api.get("/api/monitors?state=degraded", key).json == []


RANGE = "Must be a whole number from 1 to 59999."


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"degraded_after_ms": 0}, "degraded_after_ms", RANGE),
        ({"degraded_after_ms": "fast"}, "degraded_after_ms", RANGE),
        ({"degraded_after_ms": 1.5}, "degraded_after_ms", RANGE),
        ({"degraded_after_ms": True}, "degraded_after_ms", RANGE),
        ({"degraded_after_ms": 2000}, "degraded_after_ms",
         "Must be below the timeout (2,000 ms): slower answers are failures."),
        ({"notify_degraded_slow": "yes"}, "notify_degraded_slow", "Must be true or false."),
    ],
)  # fmt: skip
def test_api_names_the_field_of_a_bad_value(api, key, body, field, message):
    base = {"name": "API", "url": "https://example.com/", "timeout_ms": 2000}
    response = api.post("/api/monitors", key, json=base | body)
    assert response.status_code == 422
    assert response.json["fields"] == {field: message}


def test_a_shorter_timeout_than_the_limit_is_refused_naming_the_timeout(api, key):
    created = api.post(
        "/api/monitors",
        key,
        json={"name": "API", "url": "https://example.com/", "degraded_after_ms": 5000},
    )
    response = api.put(f"/api/monitors/{created.json['id']}", key, json={"timeout_ms": 3000})
    assert response.status_code == 422
    assert response.json["fields"] == {
        "timeout_ms": "Must be above degraded_after_ms (5,000 ms), or clear that first."
    }


def test_heartbeats_have_no_degraded_fields(ctx):
    with pytest.raises(ValidationError) as refused:
        monitors.create(
            {"name": "Backup", "kind": "heartbeat", "period_sec": 3600, "degraded_after_ms": 100}
        )
    assert refused.value.fields == {"degraded_after_ms": "Not used by heartbeat monitors."}


def test_the_form_saves_the_limit_and_the_toggles(logged_in):
    response = post_form(
        logged_in,
        "/monitors/new",
        {
            "name": "Shop",
            "kind": "http",
            "url": "https://shop.example.com/",
            "method": "GET",
            "interval_sec": "60",
            "timeout_ms": "5000",
            "expected_status": "200-399",
            "failure_threshold": "2",
            "recovery_threshold": "1",
            "degraded_after_ms": "1500",
            "notify_degraded_slow": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with logged_in.application.app_context():
        monitor = db.session.execute(sa.select(Monitor).filter_by(name="Shop")).scalar_one()
    assert monitor.degraded_after_ms == 1500
    # An unticked box is false: the form shows the certificate toggle ticked when new.
    assert (monitor.notify_degraded_slow, monitor.notify_degraded_certificate) == (True, False)
    form = logged_in.get(f"/monitors/{monitor.id}/edit").get_data(as_text=True)
    assert 'name="degraded_after_ms"' in form and 'value="1500"' in form

    bad = post_form(
        logged_in,
        "/monitors/new",
        {"name": "Bad", "kind": "tcp", "host": "db.example.com", "port": "5432",
         "timeout_ms": "1000", "degraded_after_ms": "1000"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "Must be below the timeout (1,000 ms)" in bad.get_data(as_text=True)


def test_the_migration_goes_down_and_up_with_the_defaults_for_existing_monitors(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        kept = monitors.create({"name": "Old", "url": "https://example.com/"})
        db.session.remove()
        downgrade(revision="0011")  # before this migration
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("monitors")}
        assert not columns & {"degraded_after_ms", "last_warning", "notify_degraded_slow"}
        assert "warning" not in {
            c["name"] for c in sa.inspect(db.engine).get_columns("check_results")
        }
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        old = monitors.get(kept.id)
        assert (old.degraded_after_ms, old.last_warning, old.consecutive_warnings) == (
            None,
            None,
            0,
        )
        assert (old.notify_degraded_slow, old.notify_degraded_certificate) == (False, True)
