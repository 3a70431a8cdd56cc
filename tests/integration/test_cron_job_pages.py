"""The cron job pages of the dashboard: list, create and edit with the schedule preview,
detail with the execution log, one execution, run now, enable, disable and delete, through
the test client with real forms and CSRF tokens."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.engine import queues
from app.extensions import db
from app.models import CronExecution, CronJob
from app.services import channels, cron_jobs
from tests.conftest import post_form

LIST = "/cron-jobs/"
NEW = "/cron-jobs/new"


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def make_job(client, **fields):
    data = {"name": "Backup", "url": "https://ops.example.com/backup", "cron_expr": "0 2 * * *"}
    return in_app(client, lambda: cron_jobs.create({**data, **fields}).id)


def add_execution(client, job_id, minutes_ago=60, **fields):
    def add():
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
        values = {"jitter_ms": 250, "duration_ms": 42, "outcome": "ok", "status_code": 200}
        row = CronExecution(
            cron_job_id=job_id,
            execution_uid=str(uuid.uuid4()),
            planned_at=started - timedelta(milliseconds=250),
            started_at=started,
            **(values | fields),
        )
        db.session.add(row)
        db.session.commit()
        return row.id

    return in_app(client, add)


def job_count(client) -> int:
    return in_app(client, lambda: db.session.query(CronJob).count())


def test_pages_need_a_signed_in_admin(client, admin):
    for path in (LIST, NEW, "/cron-jobs/preview?cron_expr=*+*+*+*+*", "/cron-jobs/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_empty_list_says_what_a_cron_job_is(logged_in):
    page = text(logged_in.get(LIST))
    assert "No cron jobs yet" in page
    assert 'href="/cron-jobs/new"' in page
    assert re.search(r'<a href="/cron-jobs/" aria-current="page">Cron jobs</a>', page)


def test_the_list_pages_and_searches(logged_in):
    for n in range(27):
        make_job(logged_in, name=f"Job {n:02d}")
    first = text(logged_in.get(LIST))
    assert "Job 00" in first and "Job 24" in first and "Job 25" not in first
    assert "Page 1 of 2 · 27 cron jobs" in first
    second = text(logged_in.get(LIST + "?page=2"))
    assert "Job 25" in second and "Job 26" in second and "Job 00" not in second
    found = text(logged_in.get(LIST + "?q=Job+13"))
    assert "Job 13" in found and "Job 12" not in found
    nothing = text(logged_in.get(LIST + "?q=zzz"))
    assert "No cron job matches" in nothing
    assert logged_in.get(LIST + "?page=0").status_code == 400


def test_the_list_filters_by_search_and_status_and_reloads_in_place(logged_in):
    make_job(logged_in, name="Backup")
    make_job(logged_in, name="Old report", enabled=False)
    page = text(logged_in.get(LIST))
    assert 'hx-target="#cron-job-list"' in page and '<option value="disabled">' in page
    disabled = text(logged_in.get(LIST + "?status=disabled"))
    assert "Old report" in disabled and "Backup" not in disabled
    enabled = text(logged_in.get(LIST + "?status=enabled"))
    assert "Backup" in enabled and "Old report" not in enabled
    assert "No cron job matches" in text(logged_in.get(LIST + "?q=backup&status=disabled"))
    fragment = text(
        logged_in.get(
            LIST + "?status=disabled",
            headers={"HX-Request": "true", "HX-Target": "cron-job-list"},
        )
    )
    assert "<html" not in fragment and '<div id="cron-job-list">' in fragment
    assert "Old report" in fragment and "Backup" not in fragment
    assert logged_in.get(LIST + "?status=sleeping").status_code == 400


def test_the_form_previews_the_default_schedule_and_offers_every_field(logged_in):
    page = text(logged_in.get(NEW))
    for name in (
        "name",
        "description",
        "group",
        "url",
        "method",
        "headers",
        "body",
        "auth_username",
        "auth_password",
        "cron_expr",
        "timezone",
        "timeout_ms",
        "expected_status",
        "redirect_success",
        "expires_at",
        "enabled",
        "save_responses",
        "auto_disable_after",
        "notify_on_failure",
        "notify_failure_after",
        "notify_on_recovery",
        "notify_on_disable",
        "public",
    ):
        assert re.search(rf'<label for="{name}"', page), name
    assert "At 02:00 every day" in page
    [expr] = re.findall(r'<input[^>]*id="cron_expr"[^>]*>', page)
    assert 'data-hx-get="/cron-jobs/preview"' in expr
    assert 'data-hx-trigger="input changed delay:300ms"' in expr


def test_the_preview_fragment_describes_and_lists_five_runs_in_the_zone(logged_in):
    response = logged_in.get(
        "/cron-jobs/preview?cron_expr=30+5+*+*+1&timezone=America/New_York",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = text(response)
    assert "<html" not in fragment and 'id="schedule-preview"' in fragment
    assert "At 05:30 on Monday" in fragment
    runs = re.findall(r'<time datetime="([^"]+)"[^>]*>([^<]+)</time>', fragment)
    assert len(runs) == 5
    zone = ZoneInfo("America/New_York")
    for utc_text, shown in runs:
        local = datetime.fromisoformat(utc_text).astimezone(zone)
        # The shown wall time is 05:30 on a Monday whatever the offset (EST or EDT) that day.
        assert local.strftime("%a %Y-%m-%d %H:%M") == shown.rsplit(" ", 1)[0]
        assert shown.endswith(local.tzname()) and local.strftime("%H:%M") == "05:30"


def test_the_preview_runs_skip_the_spring_gap_once(logged_in):
    # 02:30 does not exist in Berlin on the last Sunday of March: that day runs at 03:00.
    fragment = text(
        logged_in.get("/cron-jobs/preview?cron_expr=30+2+*+3+SUN&timezone=Europe/Berlin")
    )
    runs = re.findall(r'<time datetime="([^"]+)"', fragment)
    assert len(runs) == 5 and len(set(runs)) == 5
    zone = ZoneInfo("Europe/Berlin")
    for utc_text in runs:
        moment = datetime.fromisoformat(utc_text)
        local = moment.astimezone(zone)
        last_sunday = local.day + 7 > 31
        assert local.strftime("%H:%M") == ("03:00" if last_sunday else "02:30")


def test_the_preview_shows_a_bad_expression_or_zone_inline(logged_in):
    fragment = text(logged_in.get("/cron-jobs/preview?cron_expr=61+*+*+*+*&timezone=UTC"))
    assert "minute field: 61 is out of range 0-59" in fragment
    assert 'class="field-error"' in fragment
    fragment = text(logged_in.get("/cron-jobs/preview?cron_expr=0+0+31+2+*&timezone=Mars/Base"))
    assert "This schedule never runs" in fragment and "Unknown time zone" in fragment


def test_create_saves_every_field_and_shows_the_job(logged_in):
    channel = in_app(
        logged_in,
        lambda: channels.create({"name": "Ops", "kind": "email", "addresses": "a@example.com"}).id,
    )
    response = post_form(
        logged_in,
        NEW,
        {
            "name": "Nightly report",
            "description": "Sends the report",
            "group": "Reports",
            "url": "https://example.com/report",
            "method": "POST",
            "headers": "X-Token: abc",
            "body": '{"full": true}',
            "auth_username": "bot",
            "auth_password": "pw",
            "cron_expr": "30 5 * * 1",
            "timezone": "Europe/Berlin",
            "timeout_ms": "5000",
            "expected_status": "200-299,304",
            "redirect_success": "y",
            "expires_at": "2099-01-01T12:00",
            "enabled": "y",
            "save_responses": "y",
            "auto_disable_after": "3",
            "notify_on_failure": "y",
            "notify_failure_after": "2",
            "public": "y",
            "channels": str(channel),
        },
    )
    assert response.status_code == 302
    job = in_app(logged_in, lambda: db.session.query(CronJob).one())
    assert response.headers["Location"] == f"/cron-jobs/{job.id}"
    assert (job.name, job.method, job.headers, job.body) == (
        "Nightly report",
        "POST",
        {"X-Token": "abc"},
        '{"full": true}',
    )
    assert (job.auth_username, job.auth_password, job.timezone) == ("bot", "pw", "Europe/Berlin")
    assert (job.timeout_ms, job.expected_status, job.auto_disable_after) == (5000, "200-299,304", 3)
    assert job.redirect_success and job.save_responses and job.public and job.enabled
    assert job.notify_on_failure and not job.notify_on_recovery and job.notify_failure_after == 2
    # The wall time is read in the job's zone: noon in Berlin in winter is 11:00 UTC.
    assert job.expires_at == datetime(2099, 1, 1, 11, 0, tzinfo=UTC)
    page = text(logged_in.get(response.headers["Location"]))
    assert "Cron job Nightly report created." in page
    assert "30 5 * * 1" in page and "Reports" in page and "Ops" in page
    assert "No executions yet" in page


def test_a_bad_expression_is_shown_inline_and_nothing_is_written(logged_in):
    response = post_form(
        logged_in,
        NEW,
        {"name": "Broken", "url": "ftp://x", "cron_expr": "0 25 * * *", "timezone": "UTC"},
    )
    assert response.status_code == 422
    page = text(response)
    [expr] = re.findall(r'<input[^>]*id="cron_expr"[^>]*>', page)
    assert 'aria-invalid="true"' in expr and 'value="0 25 * * *"' in expr
    assert 'id="cron_expr-error"' in page and "hour field: 25 is out of range 0-23" in page
    assert 'id="url-error"' in page
    assert 'value="Broken"' in page
    assert job_count(logged_in) == 0


def test_missing_fields_are_named(logged_in):
    response = post_form(logged_in, NEW, {"name": "", "url": "", "cron_expr": ""})
    assert response.status_code == 422
    page = text(response)
    assert "Enter a name." in page and "Enter the URL to call." in page
    assert job_count(logged_in) == 0


def test_check_schedule_refreshes_the_preview_without_saving(logged_in):
    response = post_form(
        logged_in,
        NEW,
        {"name": "X", "url": "https://e.com", "cron_expr": "*/5 * * * *", "check_schedule": "1"},
    )
    assert response.status_code == 200 and "Every 5 minutes" in text(response)
    assert job_count(logged_in) == 0


def test_edit_keeps_the_password_unless_changed_and_refuses_bad_input(logged_in):
    job_id = make_job(logged_in, auth_username="bot", auth_password="secret")
    edit = f"/cron-jobs/{job_id}/edit"
    form = text(logged_in.get(edit))
    assert 'value="Backup"' in form and "secret" not in form
    assert "A password is stored" in form
    response = post_form(
        logged_in,
        edit,
        {"name": "Backup 2", "url": "https://ops.example.com/b", "cron_expr": "0 3 * * *"},
    )
    assert response.status_code == 302
    job = in_app(logged_in, cron_jobs.get, job_id)
    assert (job.name, job.cron_expr, job.auth_password) == ("Backup 2", "0 3 * * *", "secret")
    # Unchecked boxes are a "no": the form was sent without "enabled".
    assert not job.enabled

    response = post_form(
        logged_in,
        edit,
        {"name": "Backup 3", "url": "https://e.com", "cron_expr": "0 3 * * *", "timeout_ms": "5"},
    )
    assert response.status_code == 422 and "Must be a whole number from 100 to 300000" in text(
        response
    )
    assert in_app(logged_in, cron_jobs.get, job_id).name == "Backup 2"

    response = post_form(
        logged_in,
        edit,
        {
            "name": "Backup 2",
            "url": "https://e.com",
            "cron_expr": "0 3 * * *",
            "remove_password": "y",
        },
    )
    assert response.status_code == 302
    assert in_app(logged_in, cron_jobs.get, job_id).auth_password is None


def test_detail_lists_executions_by_page_and_refreshes_them_by_htmx(logged_in):
    job_id = make_job(logged_in, timezone="Europe/Berlin")
    for n in range(30):
        add_execution(logged_in, job_id, minutes_ago=n + 1)
    page = text(logged_in.get(f"/cron-jobs/{job_id}"))
    assert "At 02:00 every day" not in page  # the detail shows the expression itself
    assert page.count("/executions/") == 25
    assert "Page 1 of 2 · 30 executions" in page and 'hx-trigger="every 5s"' in page
    assert "CET" in page  # the next runs, on Berlin's wall clock
    second = text(logged_in.get(f"/cron-jobs/{job_id}?page=2"))
    assert second.count("/executions/") == 5 and 'hx-trigger="every 5s"' not in second
    fragment = text(
        logged_in.get(
            f"/cron-jobs/{job_id}", headers={"HX-Request": "true", "HX-Target": "executions"}
        )
    )
    assert "<html" not in fragment and fragment.count("/executions/") == 25


def test_the_polling_log_is_replaced_only_when_a_run_came_in(logged_in):
    job_id = make_job(logged_in)
    htmx = {"HX-Request": "true", "HX-Target": "executions"}
    poll = re.compile(r'hx-get="(/cron-jobs/\d+\?seen=[^"]+)"')
    empty = poll.search(text(logged_in.get(f"/cron-jobs/{job_id}"))).group(1)
    unchanged = logged_in.get(empty, headers=htmx)
    assert unchanged.status_code == 204 and unchanged.data == b""

    first = add_execution(logged_in, job_id, minutes_ago=2)
    response = logged_in.get(empty, headers=htmx)
    assert response.status_code == 200 and f"/executions/{first}" in text(response)
    now = poll.search(text(response)).group(1)
    assert now != empty and logged_in.get(now, headers=htmx).status_code == 204

    # A newer run with the count unchanged (an old one pruned meanwhile) still shows.
    in_app(
        logged_in,
        lambda: (db.session.delete(db.session.get(CronExecution, first)), db.session.commit()),
    )
    newer = add_execution(logged_in, job_id, minutes_ago=1)
    response = logged_in.get(now, headers=htmx)
    assert response.status_code == 200 and f"/executions/{newer}" in text(response)
    # Without the marker (a pager link, a first load) the log always comes back.
    assert logged_in.get(f"/cron-jobs/{job_id}", headers=htmx).status_code == 200


def test_execution_details_show_timings_jitter_and_the_saved_response(logged_in):
    job_id = make_job(logged_in, save_responses=True)
    execution_id = add_execution(
        logged_in,
        job_id,
        dns_us=1000,
        connect_us=3000,
        tls_us=9000,
        first_byte_us=30000,
        total_us=42000,
        response_headers={"content-type": "text/plain"},
        response_body="backup done",
    )
    page = text(logged_in.get(f"/cron-jobs/{job_id}/executions/{execution_id}"))
    assert "HTTP 200" in page and "250 ms" in page
    for label, took in (
        ("DNS lookup", "1.0 ms"),
        ("Connect", "2.0 ms"),
        ("TLS handshake", "6.0 ms"),
        ("Waiting (first byte)", "21.0 ms"),
        ("Download", "12.0 ms"),
    ):
        assert re.search(rf"{re.escape(label)}</td><td>[0-9.]+ ms</td><td>{took}</td>", page)
    assert page.count('<rect class="phase') == 5
    assert "content-type" in page and "backup done" in page

    other = make_job(logged_in, name="Other")
    assert logged_in.get(f"/cron-jobs/{other}/executions/{execution_id}").status_code == 404
    assert logged_in.get(f"/cron-jobs/{job_id}/executions/999999").status_code == 404


def test_a_failed_execution_without_timings_says_so(logged_in):
    job_id = make_job(logged_in)
    execution_id = add_execution(
        logged_in, job_id, outcome="failed_connect", status_code=None, error="Connection refused"
    )
    page = text(logged_in.get(f"/cron-jobs/{job_id}/executions/{execution_id}"))
    assert "failed: connect" in page and "Connection refused" in page
    assert "No timings were recorded" in page and "does not save responses" in page


def test_run_now_enqueues_a_manual_execution(logged_in):
    job_id = make_job(logged_in)
    detail = f"/cron-jobs/{job_id}"
    response = post_form(logged_in, f"{detail}/run", {}, form_path=detail)
    assert response.status_code == 302 and response.headers["Location"] == detail
    assert "Backup is starting now" in text(logged_in.get(detail))
    assert in_app(logged_in, lambda: queues.queue(queues.CHECKS).count) == 1


def test_disable_and_enable(logged_in):
    job_id = make_job(logged_in)
    detail = f"/cron-jobs/{job_id}"
    assert post_form(logged_in, f"{detail}/disable", {}, form_path=detail).status_code == 302
    page = text(logged_in.get(detail))
    assert "Backup disabled" in page and ">Enable</button>" in page
    assert not in_app(logged_in, cron_jobs.get, job_id).enabled
    assert post_form(logged_in, f"{detail}/enable", {}, form_path=detail).status_code == 302
    assert in_app(logged_in, cron_jobs.get, job_id).enabled


def test_delete_asks_first_and_removes_the_job(logged_in):
    job_id = make_job(logged_in)
    detail = f"/cron-jobs/{job_id}"
    assert 'data-confirm="Delete the cron job Backup' in text(logged_in.get(detail))
    response = post_form(logged_in, f"{detail}/delete", {}, form_path=detail)
    assert response.status_code == 302 and response.headers["Location"] == LIST
    assert "Cron job Backup deleted" in text(logged_in.get(LIST))
    assert job_count(logged_in) == 0
    assert logged_in.get(detail).status_code == 404


@pytest.mark.parametrize("action", ["run", "enable", "disable", "delete"])
def test_actions_need_the_csrf_token(logged_in, action):
    job_id = make_job(logged_in)
    assert logged_in.post(f"/cron-jobs/{job_id}/{action}").status_code == 400
    assert job_count(logged_in) == 1


def test_unknown_jobs_are_404(logged_in):
    for path in ("/cron-jobs/999", "/cron-jobs/999/edit"):
        assert logged_in.get(path).status_code == 404


def test_an_interval_job_is_made_edited_and_shown_from_the_form(logged_in):
    data = {"name": "Poll", "url": "https://example.com/poll", "timezone": "UTC"}
    response = post_form(logged_in, NEW, {**data, "schedule": "interval", "interval_sec": "900"})
    assert response.status_code == 302
    job = in_app(logged_in, lambda: db.session.query(CronJob).one())
    assert (job.cron_expr, job.interval_sec) == (None, 900)
    page = text(logged_in.get(response.headers["Location"]))
    assert "every 900 seconds" in page
    assert "every 900 s" in text(logged_in.get("/cron-jobs/"))
    form = text(logged_in.get(f"/cron-jobs/{job.id}/edit"))
    [radio] = re.findall(r'<input[^>]*value="interval"[^>]*>', form)
    assert "checked" in radio
    # Too short an interval is named at its field; nothing changes.
    edit = {**data, "schedule": "interval", "interval_sec": "5"}
    refused = post_form(logged_in, f"/cron-jobs/{job.id}/edit", edit)
    assert refused.status_code == 422 and 'id="interval_sec-error"' in text(refused)
    # Back to a cron expression: the interval goes.
    edit = {**data, "schedule": "cron", "cron_expr": "0 3 * * *", "interval_sec": "900"}
    assert post_form(logged_in, f"/cron-jobs/{job.id}/edit", edit).status_code == 302
    job = in_app(logged_in, lambda: db.session.query(CronJob).one())
    assert (job.cron_expr, job.interval_sec) == ("0 3 * * *", None)
