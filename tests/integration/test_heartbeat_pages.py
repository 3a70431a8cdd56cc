"""The heartbeat pages of the dashboard: list, create, edit, detail with the ping URL, the
snippets and the ping log, pause, resume, regenerate the code and delete, through the test
client with real forms and CSRF tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Monitor
from app.services import monitors, pings
from tests.conftest import post_form

LIST = "/heartbeats/"
NEW = "/heartbeats/new"


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def make_heartbeat(client, **fields):
    data = {"kind": "heartbeat", "name": "Nightly backup", "period_sec": 86400}
    return in_app(client, lambda: monitors.create({**data, **fields}).id)


def ping(client, monitor_id, kind="success", body=b"", exit_status=None):
    def send():
        code = monitors.get(monitor_id).code
        pings.record_ping(
            code,
            None if exit_status is not None else kind,
            exit_status,
            "POST",
            "10.0.0.7",
            "curl/8",
            body,
        )

    in_app(client, send)


def heartbeat_count(client) -> int:
    return in_app(client, lambda: db.session.query(Monitor).count())


def test_pages_need_a_signed_in_admin(client, admin):
    for path in (LIST, NEW, "/heartbeats/1", "/heartbeats/1/edit"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_empty_list_says_what_a_heartbeat_is(logged_in):
    page = text(logged_in.get(LIST))
    assert "No heartbeats yet" in page and 'href="/heartbeats/new"' in page
    assert re.search(r'<a href="/heartbeats/" aria-current="page">Heartbeats</a>', page)


def test_the_list_shows_only_heartbeats_by_page(logged_in):
    in_app(logged_in, monitors.create, {"name": "Shop", "url": "https://shop.example.com"})
    for n in range(27):
        make_heartbeat(logged_in, name=f"Beat {n:02d}")
    first = text(logged_in.get(LIST))
    assert "Shop" not in first and "Beat 00" in first and "Beat 25" not in first
    assert "Page 1 of 2 · 27 heartbeats" in first and "every 1 day" in first
    assert "Beat 26" in text(logged_in.get(LIST + "?page=2"))
    assert "No heartbeat matches" in text(logged_in.get(LIST + "?q=zzz"))


def test_the_list_filters_by_search_and_state_and_reloads_in_place(logged_in):
    make_heartbeat(logged_in, name="Nightly backup")
    make_heartbeat(logged_in, name="Invoice run", paused=True)
    page = text(logged_in.get(LIST))
    assert 'hx-target="#heartbeat-list"' in page and '<option value="late">' in page
    paused = text(logged_in.get(LIST + "?state=paused"))
    assert "Invoice run" in paused and "Nightly backup" not in paused
    assert 'href="/heartbeats/"' in paused  # Clear
    found = text(logged_in.get(LIST + "?q=night&state=new"))
    assert "Nightly backup" in found and "Invoice run" not in found
    assert "No heartbeat matches" in text(logged_in.get(LIST + "?q=night&state=paused"))
    fragment = text(
        logged_in.get(
            LIST + "?state=paused", headers={"HX-Request": "true", "HX-Target": "heartbeat-list"}
        )
    )
    assert "<html" not in fragment
    assert '<div id="heartbeat-list">' in fragment and "Invoice run" in fragment
    assert "Nightly backup" not in fragment
    unknown = logged_in.get(LIST + "?state=pending")
    assert unknown.status_code == 400
    assert "such as a page number below 1 or an unknown status" in text(unknown)


def test_create_with_a_period_and_running_time(logged_in):
    response = post_form(
        logged_in,
        NEW,
        {
            "name": "Nightly backup",
            "description": "Runs on db1",
            "group": "Backups",
            "schedule": "period",
            "period": "2",
            "period_unit": "hours",
            "cron_expr": "",
            "timezone": "UTC",
            "grace_period": "10",
            "running_time": "30",
            "running_time_unit": "minutes",
            "min_run_sec": "5",
            "public": "y",
            "manual_resume": "y",
            "reminder_hours": "6",
        },
    )
    assert response.status_code == 302
    beat = in_app(logged_in, lambda: db.session.query(Monitor).one())
    # notify_late was left unticked; a new form offers it ticked.
    assert (beat.notify_late, beat.reminder_hours) == (False, 6)
    assert response.headers["Location"] == f"/heartbeats/{beat.id}"
    assert (beat.kind, beat.period_sec, beat.cron_expr, beat.grace_sec) == (
        "heartbeat",
        7200,
        None,
        600,
    )
    assert (beat.max_run_sec, beat.min_run_sec) == (1800, 5)
    assert beat.public and beat.manual_resume and beat.group.name == "Backups"
    page = text(logged_in.get(response.headers["Location"]))
    assert "Heartbeat Nightly backup created." in page
    assert "every 2 hours" in page and "10 minutes grace" in page and "pill-new" in page
    assert re.search(r'<input[^>]*\bchecked\b[^>]*id="notify_late"', text(logged_in.get(NEW)))


def test_create_with_a_cron_schedule_previews_it(logged_in):
    response = post_form(
        logged_in,
        NEW,
        {
            "name": "Report",
            "schedule": "cron",
            "period": "1",
            "period_unit": "days",
            "cron_expr": "30 5 * * 1",
            "timezone": "Europe/Berlin",
            "grace_period": "5",
            "running_time_unit": "minutes",
        },
    )
    assert response.status_code == 302
    beat = in_app(logged_in, lambda: db.session.query(Monitor).one())
    assert (beat.cron_expr, beat.timezone, beat.period_sec) == ("30 5 * * 1", "Europe/Berlin", None)
    form = text(logged_in.get(f"/heartbeats/{beat.id}/edit"))
    assert "At 05:30 on Monday" in form
    assert re.search(r'<input[^>]*checked[^>]*value="cron"|value="cron"[^>]*checked', form)


def test_check_the_schedule_previews_without_saving(logged_in):
    """Without JavaScript, the form's button shows the next expected pings and saves nothing."""
    data = {"name": "Report", "schedule": "cron", "cron_expr": "30 5 * * 1", "timezone": "UTC"}
    response = post_form(logged_in, NEW, {**data, "check_schedule": "1"})
    assert response.status_code == 200
    page = text(response)
    assert "At 05:30 on Monday" in page and page.count("<li><time") == 5
    assert in_app(logged_in, lambda: db.session.query(Monitor).count()) == 0
    # The two schedules' fields are in separate regions, of which CSS shows the chosen one.
    assert '<div class="schedule-period">' in page and '<div class="schedule-cron">' in page


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"schedule": "period", "period": "0"}, "period", "Enter a period from 1 minute"),
        ({"schedule": "period", "period": ""}, "period", "Enter a period from 1 minute"),
        ({"schedule": "cron", "cron_expr": ""}, "cron_expr", "Enter a cron expression"),
        ({"schedule": "cron", "cron_expr": "0 0 31 2 *"}, "cron_expr", "never runs"),
        ({"grace_period": "90"}, "grace_period", "from 1 to 60"),
        ({"timezone": "Mars/Base", "schedule": "cron", "cron_expr": "@daily"}, "timezone", ""),
        ({"running_time": "2", "min_run_sec": "500"}, "min_run_sec", "Must be shorter"),
        ({"name": ""}, "name", "Enter a name."),
    ],
)
def test_bad_input_is_shown_inline_and_nothing_is_written(logged_in, fields, field, message):
    data = {
        "name": "Beat",
        "schedule": "period",
        "period": "1",
        "period_unit": "days",
        "timezone": "UTC",
        "grace_period": "5",
        "running_time_unit": "minutes",
    }
    response = post_form(logged_in, NEW, data | fields)
    assert response.status_code == 422
    page = text(response)
    assert re.search(rf'<input[^>]*id="{field}"[^>]*aria-invalid="true"', page) or re.search(
        rf'aria-invalid="true"[^>]*id="{field}"', page
    )
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert heartbeat_count(logged_in) == 0


def test_edit_switches_the_schedule_and_keeps_the_code(logged_in):
    beat_id = make_heartbeat(logged_in, running_time=90, running_time_unit="minutes")
    code = in_app(logged_in, lambda: monitors.get(beat_id).code)
    edit = f"/heartbeats/{beat_id}/edit"
    form = text(logged_in.get(edit))
    assert 'value="Nightly backup"' in form
    [period] = re.findall(r'<input[^>]*id="period"[^>]*>', form)
    [running] = re.findall(r'<input[^>]*id="running_time"[^>]*>', form)
    assert 'value="1"' in period and 'value="90"' in running, (period, running)
    response = post_form(
        logged_in,
        edit,
        {
            "name": "Nightly",
            "schedule": "cron",
            "period": "1",
            "period_unit": "days",
            "cron_expr": "0 3 * * *",
            "timezone": "UTC",
            "grace_period": "5",
            "running_time": "",
            "running_time_unit": "minutes",
        },
    )
    assert response.status_code == 302
    beat = in_app(logged_in, monitors.get, beat_id)
    assert (beat.name, beat.cron_expr, beat.period_sec, beat.max_run_sec) == (
        "Nightly",
        "0 3 * * *",
        None,
        None,
    )
    assert beat.code == code


def test_detail_shows_the_ping_url_snippets_and_status(logged_in):
    beat_id = make_heartbeat(logged_in)
    code = in_app(logged_in, lambda: monitors.get(beat_id).code)
    page = text(logged_in.get(f"/heartbeats/{beat_id}"))
    url = f"http://127.0.0.1:5000/ping/{code}"
    assert f'id="ping-url" class="mono" type="text" readonly value="{url}"' in page
    assert 'data-copy="ping-url"' in page
    assert (
        f"*/10 * * * * /path/to/job.sh &amp;&amp; curl -fsS -m 10 --retry 5 -o /dev/null {url}"
        in page
    )
    assert "&#34;$PING_URL/start&#34;" in page and "&#34;$PING_URL/$?&#34;" in page
    assert "--data-binary &#34;$output&#34;" in page
    assert "urllib.request.urlopen(PING_URL" in page
    assert f"Invoke-RestMethod -Uri &#34;{url}&#34;" in page
    assert "pill-new" in page and "after the first ping" in page
    assert "No pings yet" in page
    assert 'data-confirm="Give Nightly backup a new ping URL and push URL?' in page
    assert 'data-confirm="Delete the heartbeat Nightly backup' in page


def test_the_ping_url_follows_the_base_url(make_app, admin, logged_in):
    beat_id = make_heartbeat(logged_in)
    logged_in.application.config["BASE_URL"] = "https://upcron.example.com"
    page = text(logged_in.get(f"/heartbeats/{beat_id}"))
    assert 'value="https://upcron.example.com/ping/' in page


def test_the_status_region_refreshes_and_asks_for_the_log_when_pings_arrive(logged_in):
    beat_id = make_heartbeat(logged_in)
    detail = f"/heartbeats/{beat_id}"
    htmx = {"HX-Request": "true", "HX-Target": "heartbeat-status"}
    response = logged_in.get(detail + "?seen=0", headers=htmx)
    fragment = text(response)
    assert "<html" not in fragment and 'id="heartbeat-status"' in fragment
    assert "pill-new" in fragment and "HX-Trigger" not in response.headers

    ping(logged_in, beat_id, body=b"backup ok: 3 GB")
    response = logged_in.get(detail + "?seen=0", headers=htmx)
    assert "pill-up" in text(response) and response.headers["HX-Trigger"] == "pings-changed"
    assert "seen=1" in text(response)
    log = text(logged_in.get(detail, headers={"HX-Request": "true", "HX-Target": "pings"}))
    assert "<html" not in log and 'id="pings"' in log
    assert "backup ok: 3 GB" in log and "10.0.0.7" in log and "curl/8" in log


def test_the_ping_log_shows_kinds_exit_statuses_and_pages(logged_in):
    beat_id = make_heartbeat(logged_in)
    ping(logged_in, beat_id, kind="start")
    ping(logged_in, beat_id, exit_status=3, body=b"disk full")
    for _ in range(25):
        ping(logged_in, beat_id, kind="log")
    first = text(logged_in.get(f"/heartbeats/{beat_id}"))
    assert "Page 1 of 2 · 27 pings" in first and "pill-down" in first
    second = text(logged_in.get(f"/heartbeats/{beat_id}?page=2"))
    assert "exit 3" in second and "disk full" in second and ">start<" in second
    assert 'hx-trigger="pings-changed from:body"' not in second


def test_pause_and_resume(logged_in):
    beat_id = make_heartbeat(logged_in)
    detail = f"/heartbeats/{beat_id}"
    assert post_form(logged_in, f"{detail}/pause", {}, form_path=detail).status_code == 302
    page = text(logged_in.get(detail))
    assert "Nightly backup paused" in page and "pill-paused" in page and ">Resume</button>" in page
    assert post_form(logged_in, f"{detail}/resume", {}, form_path=detail).status_code == 302
    beat = in_app(logged_in, monitors.get, beat_id)
    assert not beat.paused and beat.state == "new"


def test_regenerate_gives_a_new_code(logged_in):
    beat_id = make_heartbeat(logged_in)
    detail = f"/heartbeats/{beat_id}"
    old = in_app(logged_in, lambda: monitors.get(beat_id).code)
    assert post_form(logged_in, f"{detail}/regenerate", {}, form_path=detail).status_code == 302
    new = in_app(logged_in, lambda: monitors.get(beat_id).code)
    page = text(logged_in.get(detail))
    assert new != old and new in page and old not in page and "has a new ping URL" in page


def test_delete_removes_the_heartbeat(logged_in):
    beat_id = make_heartbeat(logged_in)
    detail = f"/heartbeats/{beat_id}"
    response = post_form(logged_in, f"{detail}/delete", {}, form_path=detail)
    assert response.status_code == 302 and response.headers["Location"] == LIST
    assert "Heartbeat Nightly backup deleted" in text(logged_in.get(LIST))
    assert heartbeat_count(logged_in) == 0


@pytest.mark.parametrize("action", ["pause", "resume", "regenerate", "delete"])
def test_actions_need_the_csrf_token(logged_in, action):
    beat_id = make_heartbeat(logged_in)
    assert logged_in.post(f"/heartbeats/{beat_id}/{action}").status_code == 400
    assert heartbeat_count(logged_in) == 1


def test_uptime_monitors_and_unknown_ids_are_404(logged_in):
    shop = in_app(logged_in, lambda: monitors.create({"name": "Shop", "url": "https://e.com"}).id)
    for path in (f"/heartbeats/{shop}", f"/heartbeats/{shop}/edit", "/heartbeats/999"):
        assert logged_in.get(path).status_code == 404


def test_an_edit_keeps_a_grace_time_in_seconds_it_did_not_change(logged_in):
    beat_id = make_heartbeat(logged_in, grace_sec=90)
    edit = f"/heartbeats/{beat_id}/edit"
    data = {
        "name": "Nightly backup",
        "schedule": "period",
        "period": "1",
        "period_unit": "days",
        "timezone": "UTC",
        "running_time_unit": "minutes",
    }
    assert post_form(logged_in, edit, data | {"grace_period": "1"}).status_code == 302
    assert in_app(logged_in, monitors.get, beat_id).grace_sec == 90
    assert post_form(logged_in, edit, data | {"grace_period": "3"}).status_code == 302
    assert in_app(logged_in, monitors.get, beat_id).grace_sec == 180


def test_a_long_run_is_shown_in_hours_and_minutes(logged_in):
    beat_id = make_heartbeat(logged_in)
    started = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

    def send(kind, now):
        code = monitors.get(beat_id).code
        pings.record_ping(code, kind, None, "GET", "10.0.0.7", "curl/8", b"", now=now)

    in_app(logged_in, send, "start", started)
    in_app(logged_in, send, "success", started + timedelta(hours=2, minutes=5, seconds=3))
    page = text(logged_in.get(f"/heartbeats/{beat_id}"))
    assert "<dt>Last run took</dt><dd>2 h 5 min</dd>" in page
    assert '<td data-label="Run took">2 h 5 min</td>' in page
