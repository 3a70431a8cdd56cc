"""Glanceable at a look: beat bars on every list, charts that plot each check with axes and a
caption from the same points, outcomes in words everywhere, times one way, and heartbeat
pages with what monitor pages have. Real SQLite and PostgreSQL, the real app and forms."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, CronExecution, CronJob, Monitor, Ping
from app.services import beats, cron_jobs, history, incidents, monitors, notifications, reasons
from tests.conftest import sql_statements

HTMX = {"HX-Request": "true"}
NOW = datetime.now(UTC).replace(microsecond=0)


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def make_monitor(client, name="Shop") -> int:
    return in_app(client, lambda: monitors.create({"name": name, "url": "https://example.com/"}).id)


def make_heartbeat(client, name="Backup") -> int:
    return in_app(
        client,
        lambda: monitors.create({"name": name, "kind": "heartbeat", "period_sec": 3600}).id,
    )


def make_job(client, name="Nightly") -> int:
    return in_app(
        client,
        lambda: (
            cron_jobs.create(
                {"name": name, "url": "https://example.com/run", "cron_expr": "0 2 * * *"}
            ).id
        ),
    )


def add_checks(client, monitor_id, results):
    """``results``: (seconds ago, outcome, total µs, warning, maintenance) each."""

    def add():
        for seconds, outcome, us, warning, held in results:
            at = NOW - timedelta(seconds=seconds)
            db.session.add(
                CheckResult(
                    monitor_id=monitor_id,
                    planned_at=at,
                    started_at=at,
                    outcome=outcome,
                    status_code=200 if outcome == "ok" else 500,
                    error=None if outcome == "ok" else "HTTP 500, expected 200-399",
                    warning=warning,
                    maintenance=held,
                    total_us=us,
                )
            )
        db.session.commit()

    in_app(client, add)


def ok(seconds, us=1000):
    return (seconds, "ok", us, None, False)


def add_execution(client, job_id, seconds, outcome="ok", error=None, status_code=200):
    def add():
        at = NOW - timedelta(seconds=seconds)
        db.session.add(
            CronExecution(
                cron_job_id=job_id,
                execution_uid=str(uuid.uuid4()),
                planned_at=at,
                started_at=at,
                outcome=outcome,
                status_code=status_code,
                error=error,
                duration_ms=250,
            )
        )
        db.session.commit()

    in_app(client, add)


def add_ping(client, monitor_id, seconds, kind="success", duration_ms=None, exit_status=None):
    def add():
        db.session.add(
            Ping(
                monitor_id=monitor_id,
                created_at=NOW - timedelta(seconds=seconds),
                kind=kind,
                method="POST",
                duration_ms=duration_ms,
                exit_status=exit_status,
            )
        )
        db.session.commit()

    in_app(client, add)


def ticks(svg: str) -> list[str]:
    """The statuses of a beat bar's ticks, left to right."""
    return re.findall(r'<rect class="beat beat-\w+" data-status="(\w+)"', svg)


# --- 1. beat bars --------------------------------------------------------------------------


def test_beats_are_the_last_30_results_oldest_first_with_their_status(logged_in):
    shop = make_monitor(logged_in)
    quiet = make_monitor(logged_in, "Quiet")
    add_checks(logged_in, shop, [ok(100 + n) for n in range(40)])  # older, beyond the 30
    add_checks(
        logged_in,
        shop,
        [
            (4, "failed_http_status", 2000, None, False),
            (3, "ok", 5000, "Answered in 5 ms, slower than 1 ms", False),
            (2, "ok", 900, None, True),
            ok(1, 1500),
        ],
    )
    found = in_app(logged_in, beats.of_monitors, [shop, quiet])
    assert found[quiet] == []
    last = found[shop]
    assert len(last) == 30
    assert [b.at for b in last] == sorted(b.at for b in last)
    assert [b.status for b in last[-4:]] == ["down", "degraded", "maintenance", "up"]
    assert last[-4].reason == "HTTP 500, expected 200-399" and last[-1].us == 1500
    assert last[-1].at == NOW - timedelta(seconds=1)


def test_beats_of_a_page_cost_one_query_whatever_its_length(app, logged_in):
    ids = [make_monitor(logged_in, f"M{n}") for n in range(12)]
    for n, monitor_id in enumerate(ids):
        add_checks(logged_in, monitor_id, [ok(s) for s in range(1, 3 + n * 3)])
    with sql_statements(app) as few:
        found_few = beats.of_monitors(ids[:2])
    with sql_statements(app) as many:
        found = beats.of_monitors(ids)
    assert len(few) == len(many) == 1, many
    assert [len(found[i]) for i in ids] == [min(30, 2 + n * 3) for n in range(12)]
    assert found_few[ids[1]] == found[ids[1]]


def test_heartbeat_beats_are_success_and_failure_pings(logged_in):
    backup = make_heartbeat(logged_in)
    add_ping(logged_in, backup, 50, "start")
    add_ping(logged_in, backup, 40, "success", duration_ms=10_000)
    add_ping(logged_in, backup, 30, "log")
    add_ping(logged_in, backup, 20, "fail", exit_status=2)
    found = in_app(logged_in, beats.of_heartbeats, [backup])[backup]
    assert [(b.status, b.us) for b in found] == [("up", 10_000_000), ("down", None)]
    assert found[1].reason == "The job reported a failure (exit status 2)"


def test_cron_job_beats_are_its_runs(logged_in):
    job = make_job(logged_in)
    add_execution(logged_in, job, 20)
    add_execution(logged_in, job, 10, "failed_timeout", None, None)
    found = in_app(logged_in, beats.of_cron_jobs, [job])[job]
    assert [b.status for b in found] == ["up", "down"]
    assert found[1].reason == "Timed out" and found[1].us == 250_000


def test_every_list_and_the_overview_draw_a_beat_bar_per_row(logged_in):
    shop = make_monitor(logged_in)
    add_checks(logged_in, shop, [ok(3), ok(2), (1, "failed_http_status", 800, None, False)])
    backup = make_heartbeat(logged_in)
    add_ping(logged_in, backup, 5, "success", duration_ms=1200)
    job = make_job(logged_in)
    add_execution(logged_in, job, 5)

    for path, name, want in (
        ("/", "Shop", ["up", "up", "down"]),
        ("/monitors/", "Shop", ["up", "up", "down"]),
        ("/heartbeats/", "Backup", ["up"]),
        ("/cron-jobs/", "Nightly", ["up"]),
    ):
        page = text(logged_in.get(path))
        bars = re.findall(r'<svg class="beats".*?</svg>', page)
        [bar] = [b for b in bars if f'aria-label="{name},' in b]
        statuses = ticks(bar)
        assert len(statuses) == beats.LIMIT  # empty slots on the left, newest on the right
        assert statuses[-len(want) :] == want and set(statuses[: -len(want)]) == {"none"}
        assert f'data-ticks="{len(want)}"' in bar
    overview = text(logged_in.get("/"))
    [shop_bar] = re.findall(r'<svg class="beats"[^>]*aria-label="Shop,[^"]*"', overview)
    assert "last 3 checks: 2 up, 1 down; the latest: HTTP 500, expected 200-399" in shop_bar
    # Every tick tells its moment, result and time on hover.
    assert "UTC · HTTP 500, expected 200-399, 0.8 ms</title>" in overview
    assert '<th scope="col">Last 30</th>' in overview


def test_the_overview_poll_brings_a_row_whose_beats_changed(logged_in):
    shop = make_monitor(logged_in)
    add_checks(logged_in, shop, [ok(5)])
    page = text(logged_in.get("/"))
    layout = re.search(r'name="layout" value="([^"]+)"', page).group(1)
    seen = re.findall(r'name="seen" value="([^"]+)"', page)
    poll = {"poll": 1, "layout": layout, "seen": seen}
    assert logged_in.get("/", query_string=poll, headers=HTMX).status_code == 204
    add_checks(logged_in, shop, [ok(1)])
    changed = text(logged_in.get("/", query_string=poll, headers=HTMX))
    [bar] = re.findall(r'<svg class="beats".*?</svg>', changed)
    assert ticks(bar)[-2:] == ["up", "up"] and f'id="row-monitor-{shop}"' in changed


# --- 2. the response-time chart ----------------------------------------------------------------


def test_the_chart_plots_each_check_from_the_first_one_with_a_caption_of_the_same_points(
    logged_in,
):
    shop = make_monitor(logged_in)
    add_checks(
        logged_in,
        shop,
        [ok(30, 900), ok(20, 27_000), ok(10, 4_000), (5, "failed_timeout", None, None, False)],
    )
    page = text(logged_in.get(f"/monitors/{shop}"))
    [chart] = re.findall(r'<svg class="response-chart".*?</svg>', page)
    assert chart.count('class="chart-point') == 4 and chart.count("chart-failed") == 1
    [caption] = re.findall(r'<figcaption class="chart-caption">(.*?)</figcaption>', page, re.S)
    assert "4 checks since the first: mean 11 ms, fastest 0.9 ms, slowest 27 ms" in caption
    assert "1 failed, marked with a red cross" in caption
    # The table below writes the same times the same way.
    assert (
        '<td data-label="Time">0.9 ms</td>' in page and '<td data-label="Time">27 ms</td>' in page
    )
    # Axes: milliseconds up the side, moments along the bottom (shown in the viewer's zone).
    [y_axis] = re.findall(r'<div class="chart-y" aria-hidden="true">(.*?)</div>', page)
    assert y_axis == "<span>27 ms</span><span>14 ms</span><span>0 ms</span>"
    [x_axis] = re.findall(r'<div class="chart-x">(.*?)</div>', page, re.S)
    assert x_axis.count('data-local="datetime"') == 3


def test_a_monitor_with_one_check_draws_a_point_and_the_overview_a_sparkline(logged_in):
    shop = make_monitor(logged_in)
    add_checks(logged_in, shop, [ok(5, 4_200)])
    page = text(logged_in.get(f"/monitors/{shop}"))
    [chart] = re.findall(r'<svg class="response-chart".*?</svg>', page)
    assert chart.count("<circle") == 1 and "1 check since the first: mean 4.2 ms" in page
    overview = text(logged_in.get("/"))
    [spark] = re.findall(r'<svg class="spark".*?</svg>', overview)
    assert "Response time of Shop, last 1 check: mean 4.2 ms" in spark


def test_longer_ranges_draw_a_band_from_the_fastest_to_the_slowest(logged_in):
    shop = make_monitor(logged_in)
    day = 86400
    add_checks(
        logged_in, shop, [ok(3 * day, 200_000), ok(3 * day + 60, 300_000), ok(5 * day, 250_000)]
    )
    add_checks(logged_in, shop, [(4 * day, "failed_connect", None, None, False)])
    page = text(logged_in.get(f"/monitors/{shop}?range=7d"))
    [chart] = re.findall(r'<svg class="response-chart".*?</svg>', page)
    assert '<polygon class="chart-band"' in chart and 'class="chart-failure"' in chart
    assert "Last 7d, 4 checks: mean 250 ms, fastest 200 ms, slowest 300 ms; 1 failed" in page


def test_points_give_way_to_buckets_past_the_cap(logged_in):
    shop = make_monitor(logged_in)
    in_app(logged_in, lambda: None)
    add_checks(logged_in, shop, [ok(20 * n + 1) for n in range(history.POINTS_MAX + 1)])
    assert in_app(logged_in, history.response_points, shop, NOW, timedelta(hours=24)) is None
    page = text(logged_in.get(f"/monitors/{shop}"))
    assert '<polygon class="chart-band"' in page and f"{history.POINTS_MAX + 1} checks" in page


# --- 3. reasons ---------------------------------------------------------------------------------


def test_outcomes_in_words():
    assert reasons.outcome("failed_http_status", status_code=500) == (
        "HTTP 500, not the expected status"
    )
    assert reasons.outcome("failed_timeout", "Timed out after 10000 ms while connecting") == (
        "Timed out after 10000 ms while connecting"
    )
    assert reasons.outcome("ok", warning="Slow") == "Up, with a warning: Slow"
    assert reasons.outcome("failed_dns", maintenance=True) == (
        "The name could not be resolved (during maintenance)"
    )
    assert reasons.outcome(None) == "No result yet"


def test_the_api_gives_every_result_its_reason(api, logged_in):
    key = api.key("*")
    shop = make_monitor(logged_in)
    add_checks(logged_in, shop, [(5, "failed_http_status", 800, None, False)])
    [check] = api.get(f"/api/monitors/{shop}/history", key).get_json()
    assert check["reason"] == "HTTP 500, expected 200-399"
    job = make_job(logged_in)
    add_execution(logged_in, job, 5, "failed_timeout", None, None)
    in_app(
        logged_in,
        lambda: (
            db.session.execute(
                sa.update(CronJob).where(CronJob.id == job).values(last_outcome="failed_timeout")
            ),
            db.session.commit(),
        ),
    )
    [run] = api.get(f"/api/cron-jobs/{job}/executions", key).get_json()
    assert run["reason"] == "Timed out"
    assert api.get(f"/api/cron-jobs/{job}", key).get_json()["last_reason"] == "Timed out"
    backup = make_heartbeat(logged_in)
    add_ping(logged_in, backup, 5, "fail")
    [ping] = api.get(f"/api/monitors/{backup}/pings", key).get_json()
    assert ping["reason"] == "The job reported a failure"


def test_a_failing_cron_job_is_told_in_words_on_its_pages_and_in_its_alert(logged_in):
    job = make_job(logged_in)
    add_execution(logged_in, job, 5, "failed_http_status", None, 502)

    def fail():
        row = db.session.get(CronJob, job)
        row.last_outcome, row.consecutive_failures = "failed_http_status", 1
        db.session.commit()
        alert = notifications._subject_alert(row, "failed", None, NOW)
        return alert

    transition, payload = in_app(logged_in, fail)
    assert payload["detail"] == "Unexpected HTTP status"
    for path in ("/", "/cron-jobs/", f"/cron-jobs/{job}"):
        page = text(logged_in.get(path))
        assert "failed_http_status" not in page and "http status" not in page
    assert "HTTP 502, not the expected status" in text(logged_in.get(f"/cron-jobs/{job}"))


# --- 4. one way to show time ------------------------------------------------------------------


def test_times_in_sentences_and_lists_are_shown_the_one_way(logged_in):
    backup = make_heartbeat(logged_in)

    def open_incident():
        incident = incidents.open_incident(
            monitor_id=backup,
            title="Backup is late",
            cause="No ping since 2026-12-06 08:45:00 UTC.",
            now=NOW,
        )
        db.session.commit()
        return incident.id

    incident_id = in_app(logged_in, open_incident)
    moment = (
        '<time datetime="2026-12-06T08:45:00Z" title="2026-12-06 08:45:00 UTC" '
        'data-local="datetime">2026-12-06 08:45:00 UTC</time>'
    )
    for path in (f"/incidents/{incident_id}", "/incidents/", f"/heartbeats/{backup}"):
        assert f"No ping since {moment}." in text(logged_in.get(path)), path
    add_ping(logged_in, backup, 90)
    in_app(
        logged_in,
        lambda: (
            db.session.execute(
                sa.update(Monitor)
                .where(Monitor.id == backup)
                .values(last_ping_at=NOW - timedelta(seconds=90))
            ),
            db.session.commit(),
        ),
    )
    page = text(logged_in.get("/heartbeats/"))
    [last] = re.findall(r'<td data-label="Last ping">(.*?)</td>', page)
    assert 'data-local="relative"' in last and "UTC" in last  # "3 min ago", exact on hover


def test_the_delivery_log_shows_times_like_every_page(logged_in):
    page = text(logged_in.get("/notifications/log"))
    assert "When (UTC)" not in page


# --- 5. heartbeat pages -----------------------------------------------------------------------


def test_a_heartbeat_page_has_uptime_incidents_beats_and_a_run_time_chart(logged_in):
    backup = make_heartbeat(logged_in)
    add_ping(logged_in, backup, 7200, "start")
    add_ping(logged_in, backup, 7100, "success", duration_ms=100_000)
    add_ping(logged_in, backup, 3700, "start")
    add_ping(logged_in, backup, 3600, "success", duration_ms=98_000)
    add_ping(logged_in, backup, 60, "fail")
    assert in_app(logged_in, history.uptime, "monitor", backup, NOW)["24h"] == 66.667
    page = text(logged_in.get(f"/heartbeats/{backup}"))
    assert re.search(
        r'<span class="uptime-value">66\.66%</span> <span class="uptime-name">24h', page
    )
    [bar] = re.findall(r'<svg class="beats".*?</svg>', page)
    assert ticks(bar)[-3:] == ["up", "up", "down"]
    [chart] = re.findall(r'<svg class="response-chart".*?</svg>', page)
    assert chart.count('class="chart-point') == 3 and "Run time of Backup" in chart
    assert "3 runs since the first: mean 99,000 ms, fastest 98,000 ms, slowest 100,000 ms" in page
    assert "No incidents: it has not gone down." in page
    fragment = text(
        logged_in.get(
            f"/heartbeats/{backup}?range=7d", headers={**HTMX, "HX-Target": "response-chart"}
        )
    )
    assert fragment.lstrip().startswith("<section") and "Last 7d, 3 runs" in fragment


def test_the_uptime_api_counts_a_heartbeats_pings(api, logged_in):
    backup = make_heartbeat(logged_in)
    add_ping(logged_in, backup, 60, "success")
    add_ping(logged_in, backup, 30, "fail")
    figures = api.get(f"/api/monitors/{backup}/uptime", api.key("*")).get_json()
    assert figures["24h"] == 50.0


def test_monitor_rows_in_the_beats_tables_are_not_heartbeats(logged_in):
    backup = make_heartbeat(logged_in)
    assert in_app(logged_in, lambda: db.session.get(Monitor, backup).kind) == "heartbeat"
    page = text(logged_in.get("/monitors/"))
    assert "Backup" not in page
