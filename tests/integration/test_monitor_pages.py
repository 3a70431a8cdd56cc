"""The overview and the uptime monitor pages of the dashboard, through the test client with
real forms and CSRF tokens, plus the service functions they read."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, CronExecution, CronJob, Monitor
from app.services import channels, cron_jobs, history, incidents, monitors, overview
from app.services.errors import ValidationError
from tests.conftest import csrf_token, post_form, sql_statements

FORM = {
    "name": "Shop",
    "url": "https://shop.example.com/health",
    "method": "GET",
    "kind": "http",
    "interval_sec": "30",
    "timeout_ms": "5000",
    "expected_status": "200-299",
    "max_redirects": "5",
    "failure_threshold": "2",
    "recovery_threshold": "1",
    "follow_redirects": "y",
}
HTMX = {"HX-Request": "true"}


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def create(client, **data):
    return in_app(client, lambda: monitors.create({"url": "https://example.com/", **data}).id)


def add_checks(client, monitor_id, results):
    """``results``: (minutes ago, outcome, total ms) each; timings recorded like the probe's."""
    now = datetime.now(UTC).replace(microsecond=0)

    def add():
        for minutes, outcome, ms in results:
            at = now - timedelta(minutes=minutes)
            db.session.add(
                CheckResult(
                    monitor_id=monitor_id,
                    planned_at=at,
                    started_at=at,
                    outcome=outcome,
                    status_code=200 if outcome == "ok" else 503,
                    error=None if outcome == "ok" else "HTTP 503 Service Unavailable",
                    dns_us=1000,
                    connect_us=3000,
                    tls_us=9000,
                    first_byte_us=ms * 1000 - 500,
                    total_us=ms * 1000,
                )
            )
        db.session.commit()

    in_app(client, add)


def set_state(client, monitor_id, **values):
    def apply():
        db.session.execute(sa.update(Monitor).where(Monitor.id == monitor_id).values(**values))
        db.session.commit()

    in_app(client, apply)


# --- access and empty states --------------------------------------------------------------


def test_pages_need_a_signed_in_admin(client, admin):
    for path in ("/monitors/", "/monitors/new", "/monitors/1", "/monitors/1/edit"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    # Signed out, / is the public status page, not the overview.
    assert "Overview" not in text(client.get("/"))


def test_empty_overview_and_list_say_so_and_link_to_create(logged_in):
    page = text(logged_in.get("/"))
    assert "No monitors yet — create one" in page
    for href in ("/monitors/new", "/heartbeats/", "/cron-jobs/"):
        assert f'href="{href}"' in page
    page = text(logged_in.get("/monitors/"))
    assert "No monitors yet — create one" in page and 'href="/monitors/new"' in page


# --- create, validate, edit ---------------------------------------------------------------


def test_create_a_monitor_with_every_field(logged_in):
    channel = in_app(
        logged_in,
        lambda: channels.create({"name": "Ops", "kind": "email", "addresses": "o@example.com"}).id,
    )
    form = text(logged_in.get("/monitors/new"))
    assert re.search(r'<label for="interval_sec">Check every \(seconds\)</label>', form)
    assert 'hx-post="/monitors/validate/url"' in form and "Ops" in form
    response = post_form(
        logged_in,
        "/monitors/new",
        {
            **FORM,
            "kind": "keyword",
            "method": "POST",
            "keyword": "healthy",
            "headers": "X-Token: abc\nAccept: text/plain",
            "body": '{"ping": 1}',
            "auth_username": "bot",
            "auth_password": "s3cret",
            "reminder_hours": "6",
            "group": "Production",
            "public": "y",
            "channels": str(channel),
        },
    )
    assert response.status_code == 302
    [monitor] = in_app(logged_in, lambda: monitors.list_monitors().items)
    assert response.headers["Location"] == f"/monitors/{monitor.id}"
    saved = in_app(logged_in, lambda: _described(monitor.id))
    assert saved == {
        "kind": "keyword",
        "method": "POST",
        "interval_sec": 30,
        "timeout_ms": 5000,
        "expected_status": "200-299",
        "headers": {"X-Token": "abc", "Accept": "text/plain"},
        "auth_password": "s3cret",
        "group": "Production",
        "public": True,
        "follow_redirects": True,
        "max_redirects": 5,
        "reminder_hours": 6,
        "channels": ["Ops"],
        "state": "pending",
    }
    page = text(logged_in.get(response.headers["Location"]))
    assert "Monitor Shop created" in page and "s3cret" not in page


def _described(monitor_id):
    m = monitors.get(monitor_id)
    return {
        "kind": m.kind,
        "method": m.method,
        "interval_sec": m.interval_sec,
        "timeout_ms": m.timeout_ms,
        "expected_status": m.expected_status,
        "headers": m.headers,
        "auth_password": m.auth_password,
        "group": m.group.name,
        "public": m.public,
        "follow_redirects": m.follow_redirects,
        "max_redirects": m.max_redirects,
        "reminder_hours": m.reminder_hours,
        "channels": [c.name for c in m.channels],
        "state": m.state,
    }


def test_bad_input_is_shown_inline_with_422_and_nothing_is_saved(logged_in):
    response = post_form(
        logged_in,
        "/monitors/new",
        {**FORM, "url": "ftp://example.com/", "interval_sec": "5", "headers": "no colon"},
    )
    assert response.status_code == 422
    page = text(response)
    [url_input] = re.findall(r'<input[^>]*id="url"[^>]*>', page)
    assert 'aria-invalid="true"' in url_input and 'value="ftp://example.com/"' in url_input
    assert 'id="url-error"' in page and "Enter a full http:// or https:// address" in page
    assert 'id="interval_sec-error"' in page and "from 10 to 86400" in page
    assert "Write each header as" in page
    assert 'value="Shop"' in page  # what was typed is kept
    assert in_app(logged_in, lambda: monitors.list_monitors().total) == 0


def test_a_keyword_check_needs_its_keyword(logged_in):
    response = post_form(logged_in, "/monitors/new", {**FORM, "kind": "keyword"})
    assert response.status_code == 422
    assert 'id="keyword-error"' in text(response)


def test_a_field_is_judged_as_it_is_left(logged_in):
    token = csrf_token(logged_in, "/monitors/new")
    response = logged_in.post(
        "/monitors/validate/interval_sec",
        data={**FORM, "interval_sec": "abc"},
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert response.status_code == 200
    fragment = text(response)
    assert "<html" not in fragment and fragment.strip().startswith('<div class="field has-error">')
    assert "Must be a whole number from 10 to 86400." in fragment
    assert 'hx-post="/monitors/validate/interval_sec"' in fragment  # still live after the swap

    # The same field, now right: no error, though another field is still wrong.
    response = logged_in.post(
        "/monitors/validate/interval_sec",
        data={**FORM, "url": "nope"},
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert "field-error" not in text(response) and 'value="30"' in text(response)
    assert in_app(logged_in, lambda: monitors.list_monitors().total) == 0
    assert logged_in.post("/monitors/validate/auth_password", headers=HTMX).status_code in (
        400,
        404,
    )


def test_edit_keeps_the_password_when_left_empty(logged_in):
    monitor_id = create(logged_in, name="API", auth_username="bot", auth_password="s3cret")
    edit = f"/monitors/{monitor_id}/edit"
    page = text(logged_in.get(edit))
    assert 'value="API"' in page and "A password is set" in page and "s3cret" not in page
    response = post_form(logged_in, edit, {**FORM, "name": "API v2", "auth_username": "bot"})
    assert response.status_code == 302
    monitor = in_app(logged_in, monitors.get, monitor_id)
    assert (monitor.name, monitor.auth_password, monitor.interval_sec) == ("API v2", "s3cret", 30)

    response = post_form(logged_in, edit, {**FORM, "timeout_ms": "99999999"})
    assert response.status_code == 422 and 'id="timeout_ms-error"' in text(response)
    assert in_app(logged_in, monitors.get, monitor_id).timeout_ms == 5000


def test_heartbeats_have_no_monitor_pages(logged_in):
    heartbeat = in_app(
        logged_in,
        lambda: monitors.create({"name": "Backup", "kind": "heartbeat", "period_sec": 3600}).id,
    )
    assert logged_in.get(f"/monitors/{heartbeat}").status_code == 404
    assert logged_in.get(f"/monitors/{heartbeat}/edit").status_code == 404
    assert logged_in.get("/monitors/999").status_code == 404
    assert "Backup" not in text(logged_in.get("/monitors/"))


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_status_uptime_chart_timings_history_and_incidents(logged_in):
    monitor_id = create(logged_in, name="Shop")
    add_checks(logged_in, monitor_id, [(5, "ok", 120), (15, "failed_http_status", 900)])
    add_checks(logged_in, monitor_id, [(60 * n, "ok", 100 + n) for n in range(1, 23)])
    set_state(logged_in, monitor_id, state="down", last_error="HTTP 503 Service Unavailable")

    def open_incident():
        incident = incidents.open_incident(
            monitor_id=monitor_id, title="Shop is down", cause="HTTP 503", now=datetime.now(UTC)
        )
        db.session.commit()
        return incident.id

    incident_id = in_app(logged_in, open_incident)
    page = text(logged_in.get(f"/monitors/{monitor_id}"))
    assert '<span class="pill pill-down">down</span>' in page
    # The incident has its own badge and how long it has lasted, not the monitor's state.
    assert '<span class="pill pill-open">open</span>' in page and "open for " in page
    assert "95.83%" in page  # 23 of 24 checks in the last 24 hours
    assert f'href="/incidents/{incident_id}"' in page and "Shop is down" in page
    [chart] = re.findall(r'<svg class="response-chart".*?</svg>', page)
    assert 'role="img"' in chart and "Response time of Shop. Last 24h, 24 checks" in chart
    # Each check is a point; the failed one a red cross on the base line.
    assert chart.count('class="chart-point') == 24 and chart.count("chart-failed") == 1
    assert "<polyline" in chart
    assert 'aria-current="true">24h</a>' in page
    assert "Timing of recent checks" in page and 'class="timing"' in page
    assert "TLS 6.0 ms" in page  # 9 ms at the TLS mark minus 3 ms at connect
    assert "HTTP 503 Service Unavailable" in page and "failed_http_status" not in page
    assert 'data-confirm="Delete the monitor Shop' in page


def test_the_chart_range_and_its_htmx_fragment(logged_in):
    monitor_id = create(logged_in, name="Shop")
    add_checks(logged_in, monitor_id, [(60 * 24 * 3, "ok", 200), (60 * 24 * 5, "ok", 250)])
    page = text(logged_in.get(f"/monitors/{monitor_id}?range=7d"))
    assert 'aria-current="true">7d</a>' in page
    assert "Last 7d, 2 checks: mean 225 ms, fastest 200 ms, slowest 250 ms" in page
    fragment = text(
        logged_in.get(
            f"/monitors/{monitor_id}?range=30d", headers={**HTMX, "HX-Target": "response-chart"}
        )
    )
    assert fragment.lstrip().startswith('<section id="response-chart"') and "<html" not in fragment
    assert "Last 30d" in fragment
    # An unknown range falls back to 24 hours.
    assert 'aria-current="true">24h</a>' in text(logged_in.get(f"/monitors/{monitor_id}?range=x"))
    status = text(
        logged_in.get(f"/monitors/{monitor_id}", headers={**HTMX, "HX-Target": "monitor-status"})
    )
    assert status.lstrip().startswith('<section id="monitor-status"')
    assert 'hx-trigger="every 10s"' in status


def test_check_history_is_paginated(logged_in):
    monitor_id = create(logged_in, name="Shop")
    add_checks(logged_in, monitor_id, [(n, "ok", 100) for n in range(1, 31)])
    first = text(logged_in.get(f"/monitors/{monitor_id}"))
    assert "Page 1 of 2 · 30 checks" in first
    assert f'href="/monitors/{monitor_id}?page=2&amp;range=24h"' in first
    second = text(logged_in.get(f"/monitors/{monitor_id}?page=2&range=24h"))
    assert "Page 2 of 2" in second and second.count('data-label="Reason"') == 5
    assert "Timing of recent checks" not in second
    assert logged_in.get(f"/monitors/{monitor_id}?page=zero").status_code == 400


# --- pause, resume, delete -------------------------------------------------------------------


def test_pause_resume_and_delete(logged_in):
    monitor_id = create(logged_in, name="Shop")
    detail = f"/monitors/{monitor_id}"
    response = post_form(logged_in, f"{detail}/pause", {}, form_path=detail)
    assert response.status_code == 302 and response.headers["Location"] == detail
    assert in_app(logged_in, monitors.get, monitor_id).paused is True
    page = text(logged_in.get(detail))
    assert "Monitor Shop paused" in page and ">Resume</button>" in page

    post_form(logged_in, f"{detail}/resume", {}, form_path=detail)
    monitor = in_app(logged_in, monitors.get, monitor_id)
    assert (monitor.paused, monitor.state) == (False, "pending")
    assert "Monitor Shop resumed" in text(logged_in.get(detail))

    assert logged_in.post(f"{detail}/delete").status_code == 400  # no CSRF token
    assert in_app(logged_in, monitors.get, monitor_id)
    response = post_form(logged_in, f"{detail}/delete", {}, form_path=detail)
    assert response.headers["Location"] == "/monitors/"
    assert in_app(logged_in, lambda: monitors.list_monitors().total) == 0
    assert "Monitor Shop deleted" in text(logged_in.get("/monitors/"))


# --- the list --------------------------------------------------------------------------------


def test_monitor_list_pages_searches_and_filters(logged_in):
    def seed():
        for n in range(27):
            monitors.create({"name": f"Service {n:02}", "url": "https://example.com/"})
        monitors.create({"name": "Payments", "url": "https://pay.example.com/", "paused": True})

    in_app(logged_in, seed)
    first = text(logged_in.get("/monitors/"))
    assert "Page 1 of 2 · 28 monitors" in first and 'href="/monitors/?page=2"' in first
    assert "Payments" in first and "Service 23" in first and "Service 24" not in first
    assert "Service 26" in text(logged_in.get("/monitors/?page=2"))

    found = text(logged_in.get("/monitors/?q=pay"))
    assert "Payments" in found and "Service" not in found
    paused = text(logged_in.get("/monitors/?state=paused"))
    assert "Payments" in paused and "Service 01" not in paused
    nothing = text(logged_in.get("/monitors/?q=zzz"))
    assert "No monitor matches" in nothing
    htmx_list = {**HTMX, "HX-Target": "monitor-list"}
    fragment = text(logged_in.get("/monitors/?q=pay", headers=htmx_list))
    assert fragment.lstrip().startswith('<div id="monitor-list">') and "<html" not in fragment
    assert logged_in.get("/monitors/?state=sleepy").status_code == 400


def test_the_list_draws_a_sparkline_of_the_last_checks(logged_in):
    monitor_id = create(logged_in, name="Shop")
    add_checks(logged_in, monitor_id, [(60 * n + 5, "ok", 100 + 10 * n) for n in range(6)])
    page = text(logged_in.get("/monitors/"))
    [spark] = re.findall(r'<svg class="spark".*?</svg>', page)
    assert "<polyline" in spark
    assert "Response time of Shop, last 6 checks: mean 125 ms, fastest 100 ms" in spark
    assert "100%" in page


# --- the overview ----------------------------------------------------------------------------


@pytest.fixture
def mixed(logged_in):
    """An uptime monitor with checks, a heartbeat and a failing cron job, in two groups."""

    def seed():
        shop = monitors.create({"name": "Shop", "url": "https://shop.example/", "group": "Web"})
        monitors.create({"name": "Backup", "kind": "heartbeat", "period_sec": 3600})
        job = cron_jobs.create(
            {
                "name": "Export",
                "url": "https://ops.example/export",
                "cron_expr": "0 2 * * *",
                "group": "Ops",
            }
        )
        db.session.execute(
            sa.update(CronJob)
            .where(CronJob.id == job.id)
            .values(last_outcome="failed_timeout", consecutive_failures=1)
        )
        db.session.add(
            CronExecution(
                cron_job_id=job.id,
                execution_uid=str(uuid.uuid4()),
                planned_at=datetime.now(UTC) - timedelta(hours=2),
                started_at=datetime.now(UTC) - timedelta(hours=2),
                outcome="failed_timeout",
            )
        )
        db.session.commit()
        return shop.id, job.id

    shop_id, job_id = in_app(logged_in, seed)
    add_checks(logged_in, shop_id, [(10, "ok", 80), (70, "ok", 120)])
    set_state(logged_in, shop_id, state="up", last_checked_at=datetime.now(UTC))
    return {"shop": shop_id, "job": job_id}


def test_overview_lists_everything_by_group_with_status_uptime_and_sparkline(logged_in, mixed):
    page = text(logged_in.get("/"))
    names = re.findall(r'<tr id="row-([a-z_]+-\d+)"', page)
    assert names == [f"cron_job-{mixed['job']}", f"monitor-{mixed['shop']}", names[2]]
    assert names[2].startswith("heartbeat-")
    groups = re.findall(r'<th colspan="6" scope="colgroup">([^<]+)</th>', page)
    assert groups == ["Ops", "Web", "Not grouped"]
    assert '<span class="pill pill-up">up</span>' in page
    assert '<span class="pill pill-down">down</span>' in page  # the failing job
    assert '<span class="pill pill-pending">pending</span>' in page  # the new heartbeat
    # The job's failure in words, never as its raw code.
    assert '<span class="problem">Timed out</span>' in page and "failed_timeout" not in page
    assert "0.00%" in page and "100%" in page
    assert page.count('<svg class="spark"') == 1  # only the monitor has response times
    assert f'href="/monitors/{mixed["shop"]}"' in page


def test_overview_search_and_status_filter_work_without_javascript(logged_in, mixed):
    page = text(logged_in.get("/?q=exp"))
    assert "Export" in page and "Shop" not in page and 'value="exp"' in page
    page = text(logged_in.get("/?status=up"))
    assert "Shop" in page and "Export" not in page and "Backup" not in page
    page = text(logged_in.get("/?status=paused"))
    assert "Nothing matches" in page and "No monitors yet" not in page
    assert logged_in.get("/?status=sleepy").status_code == 400
    fragment = text(logged_in.get("/?q=shop", headers={**HTMX, "HX-Target": "overview-list"}))
    assert fragment.lstrip().startswith('<div id="overview-list"') and "<html" not in fragment
    assert 'hx-get="/?poll=1&amp;page=1&amp;q=shop"' in fragment  # the poll keeps the filter


def _poll_inputs(page: str) -> list[tuple[str, str]]:
    """What the browser sends with the poll: the list's hidden inputs."""
    return re.findall(r'<input type="hidden" name="(layout|seen)" value="([^"]+)">', page)


def test_the_poll_answers_only_what_changed(logged_in, mixed):
    page = text(logged_in.get("/"))
    sent = _poll_inputs(page)
    assert len(sent) == 4  # the layout and three rows

    def poll():
        query = "&".join(f"{name}={value}" for name, value in sent)
        return logged_in.get(f"/?poll=1&page=1&{query}", headers=HTMX)

    assert poll().status_code == 204  # nothing changed

    set_state(logged_in, mixed["shop"], state="down", last_error="connection refused")
    response = poll()
    assert response.status_code == 200
    fragment = text(response)
    assert re.findall(r'<tr id="row-([a-z_]+-\d+)"', fragment) == [f"monitor-{mixed['shop']}"]
    assert re.search(r'<template>\s*<tr id="row-monitor-\d+" [^>]*hx-swap-oob="true"', fragment)
    assert "connection refused" in fragment and "overview-list" not in fragment

    in_app(logged_in, lambda: monitors.create({"name": "New", "url": "https://n.example/"}))
    fragment = text(poll())  # another row: the whole list comes back
    assert fragment.lstrip().startswith('<div id="overview-list"')
    assert 'hx-swap-oob="true"' in fragment and "New" in fragment


def test_overview_pages_past_fifty_items(logged_in):
    def seed():
        for n in range(52):
            monitors.create({"name": f"Site {n:02}", "url": "https://example.com/"})

    in_app(logged_in, seed)
    page = text(logged_in.get("/"))
    assert "Page 1 of 2 · 52 items" in page and page.count('class="overview-row"') == 50
    second = text(logged_in.get("/?page=2"))
    assert second.count('class="overview-row"') == 2 and "Site 51" in second


# --- the services behind the pages ---------------------------------------------------------


def test_response_times_are_bucketed_per_subject_in_one_query(app):
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    with app.app_context():
        a = monitors.create({"name": "A", "url": "https://a.example/"}).id
        b = monitors.create({"name": "B", "url": "https://b.example/"}).id
        for minutes, outcome, us in [(30, "ok", 100_000), (40, "ok", 300_000), (90, "x", None)]:
            at = now - timedelta(minutes=minutes)
            db.session.add(
                CheckResult(
                    monitor_id=a, planned_at=at, started_at=at, outcome=outcome, total_us=us
                )
            )
        old = now - timedelta(hours=25)
        db.session.add(CheckResult(monitor_id=a, planned_at=old, started_at=old, outcome="ok"))
        db.session.commit()
        with sql_statements(app) as statements:
            series = history.response_times("monitor", [a, b], now, timedelta(hours=24), 24)
        assert len(statements) == 1, statements
        assert [len(series[a]), len(series[b])] == [24, 24]
        last, before = series[a][-1], series[a][-2]
        assert (last.start, last.checks, last.failures, last.mean_ms) == (
            now - timedelta(hours=1),
            2,
            0,
            200,
        )
        assert (before.checks, before.failures, before.mean_ms) == (1, 1, None)
        assert sum(bucket.checks for bucket in series[a]) == 3  # the 25-hour-old one is out
        assert history.series_uptime(series[a]) == pytest.approx(66.667)
        assert history.series_uptime(series[b]) is None
        with pytest.raises(ValidationError):
            history.response_times("ping", [a], now, timedelta(hours=1), 4)


def test_overview_statuses_of_cron_jobs(app):
    with app.app_context():
        spec = {"url": "https://x.example/", "cron_expr": "0 2 * * *"}
        states = {
            "never run": ({}, "pending"),
            "ran fine": ({"last_outcome": "ok"}, "up"),
            "failing": ({"last_outcome": "failed_dns", "consecutive_failures": 2}, "down"),
            # Below its alert threshold a failing job is degraded, as on the status page.
            "failing once": (
                {
                    "last_outcome": "failed_dns",
                    "consecutive_failures": 1,
                    "notify_failure_after": 2,
                },
                "degraded",
            ),
            "switched off": ({"enabled": False}, "paused"),
            # Its disabled_reason says why it is off, not its counters.
            "switched off failing": (
                {
                    "enabled": False,
                    "last_outcome": "failed_dns",
                    "consecutive_failures": 15,
                    "disabled_reason": "Disabled automatically after 15 consecutive failures.",
                },
                "down",
            ),
            "switched off by hand while failing": (
                {"enabled": False, "last_outcome": "failed_dns", "consecutive_failures": 15},
                "paused",
            ),
        }
        for name, (values, _) in states.items():
            job = cron_jobs.create({"name": name, **spec})
            if values:
                db.session.execute(sa.update(CronJob).where(CronJob.id == job.id).values(**values))
        db.session.commit()
        rows = overview.list_items().items
        assert {row.name: row.status for row in rows} == {
            name: status for name, (_, status) in states.items()
        }
        assert [row.name for row in overview.list_items(status="down").items] == [
            "failing",
            "switched off failing",
        ]


def test_check_judges_without_saving_and_list_takes_several_kinds(app):
    with app.app_context():
        with pytest.raises(ValidationError) as caught:
            monitors.check({"name": "A", "url": "nope"})
        assert set(caught.value.fields) == {"url"}
        monitors.check({"name": "A", "url": "https://a.example/"})
        assert monitors.list_monitors().total == 0
        monitors.create({"name": "K", "kind": "keyword", "keyword": "ok", "url": "https://k/"})
        monitors.create({"name": "H", "kind": "heartbeat", "period_sec": 3600})
        uptime = monitors.list_monitors(kind=monitors.UPTIME_KINDS).items
        assert [m.name for m in uptime] == ["K"]
        assert monitors.list_monitors(kind="").total == 2
