"""The cron-job service: field rules, schedules, enabling, run now, previews and the list."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CronJob, DailyRollup
from app.models.history import SUBJECT_CRON_JOB
from app.services import cron_jobs, incidents
from app.services.errors import NotFound, Unavailable, ValidationError

URL = "https://example.com/nightly"
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def make(name="Nightly", **data):
    return cron_jobs.create({"name": name, "url": URL, "cron_expr": "0 2 * * *", **data})


def errors_of(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    return info.value.fields


def test_create_applies_the_defaults(ctx):
    job = cron_jobs.create({"name": " Nightly ", "url": URL, "cron_expr": "  0   2 * * * "})
    assert (job.name, job.url, job.slug) == ("Nightly", URL, "nightly")
    assert (job.cron_expr, job.timezone) == ("0 2 * * *", "UTC")
    assert (job.method, job.headers, job.timeout_ms) == ("GET", {}, 30000)
    assert job.expected_status == "200-299"
    assert (job.enabled, job.disabled_reason, job.expires_at) == (True, None, None)
    assert (job.auto_disable_after, job.notify_failure_after) == (15, 1)
    assert (job.redirect_success, job.save_responses, job.public) == (False, False, False)


def test_create_stores_every_field(ctx):
    expires = datetime.now(UTC) + timedelta(days=30)
    job = cron_jobs.create(
        {
            "name": "Report",
            "description": "Monthly report",
            "group": "Batch",
            "url": "https://example.com/report",
            "method": "put",
            "headers": {"Authorization": "Bearer x"},
            "body": "{}",
            "auth_username": "u",
            "auth_password": "p",
            "cron_expr": "@DAILY",
            "timezone": "europe/berlin",
            "timeout_ms": 300000,
            "expected_status": "200,204",
            "redirect_success": True,
            "enabled": False,
            "expires_at": expires.isoformat(),
            "save_responses": True,
            "auto_disable_after": 0,
            "notify_on_failure": False,
            "notify_failure_after": 1000,
            "notify_on_recovery": False,
            "notify_on_disable": False,
            "public": True,
        }
    )
    db.session.expire_all()
    stored = db.session.get(CronJob, job.id)
    assert stored.group.name == "Batch"
    assert (stored.method, stored.headers, stored.body) == (
        "PUT",
        {"Authorization": "Bearer x"},
        "{}",
    )
    assert (stored.auth_username, stored.auth_password) == ("u", "p")
    assert (stored.cron_expr, stored.timezone) == ("@daily", "Europe/Berlin")
    assert (stored.timeout_ms, stored.expected_status) == (300000, "200,204")
    assert stored.expires_at == expires
    assert (stored.enabled, stored.redirect_success, stored.save_responses) == (False, True, True)
    assert (stored.auto_disable_after, stored.notify_failure_after) == (0, 1000)
    assert not (stored.notify_on_failure or stored.notify_on_recovery or stored.notify_on_disable)
    assert stored.public is True


def test_required_fields_are_reported_together(ctx):
    errors = errors_of(cron_jobs.create, {"description": "nothing else"})
    assert set(errors) == {"name", "url", "cron_expr"}
    assert "cron expression" in errors["cron_expr"]


def test_cron_errors_name_the_field_at_fault(ctx):
    errors = errors_of(make, cron_expr="61 * * * *")
    assert list(errors) == ["cron_expr"]
    assert errors["cron_expr"].startswith("minute field")
    assert "0-59" in errors["cron_expr"]
    assert "day-of-week" in errors_of(make, cron_expr="0 0 * * FUNDAY")["cron_expr"]
    assert "never runs" in errors_of(make, cron_expr="0 0 31 2 *")["cron_expr"]
    assert "5 fields" in errors_of(make, cron_expr="* * * *")["cron_expr"]
    assert "cron expression" in errors_of(make, cron_expr="  ")["cron_expr"]
    assert errors_of(make, cron_expr=5) == {"cron_expr": "Must be text."}


def test_timezone_errors(ctx):
    errors = errors_of(make, timezone="Mars/Olympus_Mons")
    assert list(errors) == ["timezone"]
    assert "Unknown time zone" in errors["timezone"]
    assert "time zone" in errors_of(make, timezone="")["timezone"]
    assert make(timezone="america/new_york").timezone == "America/New_York"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timeout_ms", 99, "Must be a whole number from 100 to 300000."),
        ("timeout_ms", 300001, "Must be a whole number from 100 to 300000."),
        ("auto_disable_after", -1, "Must be a whole number from 0 to 1000."),
        ("auto_disable_after", 1001, "Must be a whole number from 0 to 1000."),
        ("notify_failure_after", 0, "Must be a whole number from 1 to 1000."),
        ("url", "mailto:ops@example.com", "http:// or https://"),
        ("method", "TRACE", "Choose one of GET"),
        ("headers", {"Bad Name": "x"}, "not a valid header name"),
        ("enabled", "yes please", "Must be true or false."),
        ("notify_on_disable", "maybe", "Must be true or false."),
        ("expires_at", "2030-01-01T00:00:00", "UTC offset"),
        ("expires_at", "tomorrow", "UTC offset"),
        ("expires_at", datetime(2030, 1, 1), "UTC offset"),
        ("expires_at", "2020-01-01T00:00:00+00:00", "in the future"),
        ("name", "", "Enter a name."),
        ("position", 1, "Unknown field."),
    ],
)
def test_create_rejects_each_invalid_field(ctx, field, value, message):
    errors = errors_of(make, **{field: value})
    assert list(errors) == [field]
    assert message in errors[field]
    assert db.session.scalar(sa.select(sa.func.count(CronJob.id))) == 0


def test_form_strings_are_coerced(ctx):
    job = make(
        timeout_ms="1500",
        enabled="",
        save_responses="on",
        auto_disable_after="0",
        expires_at="2099-06-01T10:00:00+02:00",
        headers="X-Job: nightly",
    )
    assert (job.timeout_ms, job.enabled, job.save_responses, job.auto_disable_after) == (
        1500,
        False,
        True,
        0,
    )
    assert job.expires_at == datetime(2099, 6, 1, 8, 0, tzinfo=UTC)
    assert job.headers == {"X-Job": "nightly"}
    assert make(expires_at="").expires_at is None


def test_a_past_expiry_is_refused_only_on_create(ctx):
    job = make()
    past = datetime.now(UTC) - timedelta(days=1)
    job = cron_jobs.update(job.id, {"expires_at": past, "name": "Renamed"})
    assert (job.expires_at, job.name, job.slug) == (past, "Renamed", "nightly")
    assert cron_jobs.update(job.id, {"expires_at": None}).expires_at is None


def test_update_is_partial_and_atomic(ctx):
    job = make(timezone="Europe/Paris")
    job = cron_jobs.update(job.id, {"cron_expr": "*/15 9-17 * * MON-FRI"})
    assert (job.cron_expr, job.timezone) == ("*/15 9-17 * * MON-FRI", "Europe/Paris")
    errors = errors_of(cron_jobs.update, job.id, {"name": "x", "cron_expr": "0 25 * * *"})
    assert list(errors) == ["cron_expr"]
    assert errors["cron_expr"].startswith("hour field")
    db.session.expire_all()
    assert cron_jobs.get(job.id).name == "Nightly"


def test_slugs_are_unique(ctx):
    assert [make().slug for _ in range(3)] == ["nightly", "nightly-2", "nightly-3"]
    assert make("???").slug == "cron-job"


def test_disable_and_enable(ctx):
    job = make()
    job.consecutive_failures = 15
    db.session.commit()
    job = cron_jobs.disable(job.id, reason="  Target retired.  ")
    assert (job.enabled, job.disabled_reason) == (False, "Target retired.")
    assert cron_jobs.disable(job.id).disabled_reason is None
    job = cron_jobs.enable(job.id)
    assert (job.enabled, job.disabled_reason, job.consecutive_failures) == (True, None, 0)
    assert errors_of(cron_jobs.disable, job.id, reason=5) == {"reason": "Must be text."}


def test_disabling_a_job_resolves_its_open_incident(ctx):
    job = make()
    incident = incidents.open_incident(
        title="Backup is failing", cause="HTTP 500", now=datetime.now(UTC), cron_job_id=job.id
    )
    db.session.commit()

    cron_jobs.disable(job.id)
    incident = incidents.get(incident.id)
    assert incident.status == "resolved"
    assert incident.updates[-1].message == cron_jobs.DISABLED_RESOLUTION


def test_update_can_enable_and_disable(ctx):
    job = make()
    job.consecutive_failures, job.enabled, job.disabled_reason = 3, False, "Auto"
    db.session.commit()
    job = cron_jobs.update(job.id, {"enabled": "on"})
    assert (job.enabled, job.disabled_reason, job.consecutive_failures) == (True, None, 0)
    assert cron_jobs.update(job.id, {"enabled": "0"}).enabled is False


def test_run_now_returns_the_planned_time(ctx):
    job = make(enabled=False)
    before = datetime.now(UTC)
    planned = cron_jobs.run_now(job.id)
    assert before - timedelta(seconds=1) <= planned <= datetime.now(UTC)
    cron_jobs.delete(job.id)
    with pytest.raises(NotFound, match="Cron job not found$"):
        cron_jobs.run_now(job.id)


def test_run_now_is_refused_while_redis_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        job = make()
        with pytest.raises(Unavailable, match="try again in a minute"):
            cron_jobs.run_now(job.id)


def test_missing_jobs_are_not_found(ctx):
    for call in (cron_jobs.get, cron_jobs.enable, cron_jobs.disable, cron_jobs.delete):
        with pytest.raises(NotFound, match="Cron job not found$"):
            call(404)
    with pytest.raises(NotFound):
        cron_jobs.update(404, {"name": "x"})
    with pytest.raises(NotFound):
        cron_jobs.next_runs(404)


def test_delete_removes_the_job_and_its_rollups(ctx):
    job = make()
    db.session.add(
        DailyRollup(subject_type=SUBJECT_CRON_JOB, subject_id=job.id, day=date(2026, 1, 1))
    )
    db.session.add(DailyRollup(subject_type="monitor", subject_id=job.id, day=date(2026, 1, 1)))
    db.session.commit()
    cron_jobs.delete(job.id)
    assert db.session.scalars(sa.select(DailyRollup.subject_type)).all() == ["monitor"]


def test_next_runs_follow_the_schedule_in_the_job_timezone(ctx):
    job = make(cron_expr="30 9 * * *", timezone="America/New_York")
    runs = cron_jobs.next_runs(job.id, count=3, now=NOW)
    # 28 March 2026 is after the US switch to summer time: 09:30 EDT is 13:30 UTC.
    assert runs == [
        datetime(2026, 3, 28, 13, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 13, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 13, 30, tzinfo=UTC),
    ]
    assert len(cron_jobs.next_runs(job.id, now=NOW)) == 5
    assert len(cron_jobs.next_runs(job.id, count="20", now=NOW)) == 20


@pytest.mark.parametrize("count", [0, 21, "five", None, 2.5])
def test_next_runs_count_bounds(ctx, count):
    job = make()
    assert errors_of(cron_jobs.next_runs, job.id, count=count) == {
        "count": "Must be a whole number from 1 to 20."
    }


def test_next_runs_stop_when_disabled_or_expired(ctx):
    job = make(cron_expr="0 * * * *")
    job.expires_at = NOW + timedelta(hours=2, minutes=30)
    db.session.commit()
    assert cron_jobs.next_runs(job.id, count=5, now=NOW) == [
        datetime(2026, 3, 28, 13, 0, tzinfo=UTC),
        datetime(2026, 3, 28, 14, 0, tzinfo=UTC),
    ]
    assert cron_jobs.next_runs(job.id, now=NOW + timedelta(hours=3)) == []
    cron_jobs.disable(job.id)
    assert cron_jobs.next_runs(job.id, now=NOW) == []


def test_preview(ctx):
    result = cron_jobs.preview("0 2 * * *", "Europe/Berlin", count=2, now=NOW)
    assert result["description"] == "At 02:00 every day"
    # 02:00 on 29 March 2026 does not exist in Berlin (clocks jump to 03:00 CEST).
    assert result["next_runs"] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 0, tzinfo=UTC),
    ]
    assert len(cron_jobs.preview("*/5 * * * *", now=NOW)["next_runs"]) == 5


def test_preview_reports_every_bad_input(ctx):
    errors = errors_of(cron_jobs.preview, "61 * * * *", "Nowhere/Town", count=50)
    assert set(errors) == {"cron_expr", "timezone", "count"}
    assert errors["cron_expr"].startswith("minute field")


def names(page) -> list[str]:
    return [item.name for item in page.items]


def test_list_filters_and_pages(ctx):
    make("Backup", group="Ops", description="Nightly dump")
    make("Cleanup", group="ops")
    make("Report", enabled=False)
    make("Warm cache", description="keeps the BACKUP warm")

    assert names(cron_jobs.list_cron_jobs()) == ["Backup", "Cleanup", "Report", "Warm cache"]
    assert names(cron_jobs.list_cron_jobs(enabled=False)) == ["Report"]
    assert names(cron_jobs.list_cron_jobs(enabled="true")) == ["Backup", "Cleanup", "Warm cache"]
    assert names(cron_jobs.list_cron_jobs(enabled="")) == names(cron_jobs.list_cron_jobs())
    assert names(cron_jobs.list_cron_jobs(group="OPS")) == ["Backup", "Cleanup"]
    assert names(cron_jobs.list_cron_jobs(search="backup")) == ["Backup", "Warm cache"]
    assert names(cron_jobs.list_cron_jobs(search="_")) == []
    page = cron_jobs.list_cron_jobs(page=2, per_page=3)
    assert (names(page), page.total, page.pages) == (["Warm cache"], 4, 2)
    assert set(errors_of(cron_jobs.list_cron_jobs, enabled="sometimes")) == {"enabled"}
    assert set(errors_of(cron_jobs.list_cron_jobs, per_page=500)) == {"per_page"}
