"""History: retention settings, clearing, pruning in batches, uptime figures and the logs."""

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, CronExecution, DailyRollup, Ping
from app.models.history import FAILED_HTTP_STATUS, FAILED_TIMEOUT, OK
from app.services import cron_jobs, history, monitors, settings
from app.services.errors import NotFound, ValidationError

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def monitor_id(ctx):
    return monitors.create({"name": "API", "url": "https://example.com/"}).id


@pytest.fixture
def job_id(ctx):
    return cron_jobs.create(
        {"name": "Nightly", "url": "https://example.com/", "cron_expr": "0 2 * * *"}
    ).id


def add_check(monitor_id, started_at, outcome=OK):
    db.session.add(
        CheckResult(
            monitor_id=monitor_id, planned_at=started_at, started_at=started_at, outcome=outcome
        )
    )


def add_execution(job_id, started_at, outcome=OK):
    db.session.add(
        CronExecution(
            cron_job_id=job_id,
            execution_uid=str(uuid.uuid4()),
            planned_at=started_at,
            started_at=started_at,
            outcome=outcome,
        )
    )


def add_ping(monitor_id, created_at):
    db.session.add(Ping(monitor_id=monitor_id, created_at=created_at, kind="success", method="GET"))


def add_rollup(subject_type, subject_id, day, checks, failures=0):
    db.session.add(
        DailyRollup(
            subject_type=subject_type,
            subject_id=subject_id,
            day=day,
            checks=checks,
            failures=failures,
        )
    )


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_settings_are_upserted_as_json(ctx):
    assert settings.get("status_page", {"title": "x"}) == {"title": "x"}
    settings.put("status_page", {"title": "Status", "links": [1, 2]})
    settings.put("status_page", {"title": "Our status"})
    assert settings.get("status_page") == {"title": "Our status"}
    settings.put("flag", False)
    assert settings.get("flag", True) is False


def test_retention_defaults_to_thirty_days(ctx):
    assert history.get_retention() == {"ttl_seconds": 2592000, "unlimited": False}


def test_set_retention_is_partial(ctx):
    assert history.set_retention(ttl_seconds=7 * 86400) == {
        "ttl_seconds": 604800,
        "unlimited": False,
    }
    assert history.set_retention(unlimited="on") == {"ttl_seconds": 604800, "unlimited": True}
    assert history.set_retention(ttl_seconds="3600", unlimited=False) == {
        "ttl_seconds": 3600,
        "unlimited": False,
    }
    assert history.set_retention(ttl_seconds=315360000)["ttl_seconds"] == 315360000


@pytest.mark.parametrize("ttl", [3599, 315360001, "a week", 0, True])
def test_set_retention_bounds(ctx, ttl):
    with pytest.raises(ValidationError) as info:
        history.set_retention(ttl_seconds=ttl, unlimited="sometimes")
    assert info.value.fields == {
        "ttl_seconds": "Must be a whole number of seconds from 3600 (1 hour) "
        "to 315360000 (10 years).",
        "unlimited": "Must be true or false.",
    }
    assert history.get_retention() == {"ttl_seconds": 2592000, "unlimited": False}


def test_clear_all_deletes_every_record_but_keeps_state(ctx, monitor_id, job_id):
    monitor = monitors.get(monitor_id)
    monitor.state = "down"
    db.session.commit()
    for minutes in range(3):
        add_check(monitor_id, NOW - timedelta(minutes=minutes))
    add_execution(job_id, NOW)
    add_ping(monitor_id, NOW)
    add_ping(monitor_id, NOW)
    add_rollup("monitor", monitor_id, TODAY, 3)
    db.session.commit()

    assert history.clear_all() == {
        "check_results": 3,
        "cron_executions": 1,
        "pings": 2,
        "daily_rollups": 1,
    }
    assert [count(m) for m in (CheckResult, CronExecution, Ping, DailyRollup)] == [0, 0, 0, 0]
    assert monitors.get(monitor_id).state == "down"


def fill(monitor_id, job_id):
    """12 rows past a one-hour retention and 3 within it, in each raw table."""
    history.set_retention(ttl_seconds=3600)
    for n in range(15):
        moment = NOW - timedelta(hours=2, minutes=n) if n < 12 else NOW - timedelta(minutes=n)
        add_check(monitor_id, moment)
        add_execution(job_id, moment)
        add_ping(monitor_id, moment)
    for days in (401, 400, 399, 0):
        add_rollup("monitor", monitor_id, TODAY - timedelta(days=days), 1)
    db.session.commit()


def test_prune_deletes_old_rows_in_bounded_batches(ctx, monitor_id, job_id):
    fill(monitor_id, job_id)
    deletes = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE FROM CHECK_RESULTS"):
            deletes.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        counts = history.prune(NOW, batch_size=5)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert counts == {
        "check_results": 12,
        "cron_executions": 12,
        "pings": 12,
        "notification_log": 0,
        "daily_rollups": 1,
    }
    # 5 + 5 + 2: the short batch shows nothing is left.
    assert len(deletes) == 3
    assert [count(m) for m in (CheckResult, CronExecution, Ping)] == [3, 3, 3]
    cutoff = NOW - timedelta(hours=1)
    assert db.session.scalar(sa.select(sa.func.min(CheckResult.started_at))) > cutoff
    days = db.session.scalars(sa.select(DailyRollup.day).order_by(DailyRollup.day)).all()
    assert days == [TODAY - timedelta(days=400), TODAY - timedelta(days=399), TODAY]
    assert history.prune(NOW, batch_size=5) == dict.fromkeys(counts, 0)


def test_prune_keeps_raw_history_when_unlimited(ctx, monitor_id, job_id):
    fill(monitor_id, job_id)
    history.set_retention(unlimited=True)
    counts = history.prune(NOW, batch_size=5)
    assert counts == {
        "check_results": 0,
        "cron_executions": 0,
        "pings": 0,
        "notification_log": 0,
        "daily_rollups": 1,
    }
    assert [count(m) for m in (CheckResult, CronExecution, Ping)] == [15, 15, 15]


def test_uptime_from_rollups_and_raw_rows(ctx, monitor_id):
    add_rollup("monitor", monitor_id, TODAY, 1000, 10)
    add_rollup("monitor", monitor_id, TODAY - timedelta(days=6), 1000, 20)
    add_rollup("monitor", monitor_id, TODAY - timedelta(days=7), 1000, 30)
    add_rollup("monitor", monitor_id, TODAY - timedelta(days=29), 1000, 40)
    add_rollup("monitor", monitor_id, TODAY - timedelta(days=89), 3000, 3000)
    # Outside every window: before 90 days, in the future, another subject and kind.
    add_rollup("monitor", monitor_id, TODAY - timedelta(days=90), 1000, 1000)
    add_rollup("monitor", monitor_id, TODAY + timedelta(days=1), 1000, 1000)
    add_rollup("monitor", monitor_id + 1, TODAY, 1000, 1000)
    add_rollup("cron_job", monitor_id, TODAY, 1000, 1000)
    # 24 hours: three successes and one failure inside, two failures just outside.
    for minutes, outcome in ((1, OK), (60, OK), (23 * 60, OK), (24 * 60 - 1, FAILED_TIMEOUT)):
        add_check(monitor_id, NOW - timedelta(minutes=minutes), outcome)
    add_check(monitor_id, NOW - timedelta(hours=24), FAILED_TIMEOUT)
    add_check(monitor_id, NOW + timedelta(minutes=1), FAILED_TIMEOUT)
    db.session.commit()

    assert history.uptime("monitor", monitor_id, NOW) == {
        "24h": 75.0,
        "7d": 98.5,  # (2000 - 30) / 2000
        "30d": 97.5,  # (4000 - 100) / 4000
        "90d": 55.714,  # (7000 - 3100) / 7000 = 55.7142…
    }


def test_uptime_without_checks_is_none(ctx, monitor_id):
    add_rollup("monitor", monitor_id, TODAY - timedelta(days=20), 10, 1)
    db.session.commit()
    assert history.uptime("monitor", monitor_id, NOW) == {
        "24h": None,
        "7d": None,
        "30d": 90.0,
        "90d": 90.0,
    }


def test_uptime_of_a_cron_job_counts_executions(ctx, job_id):
    add_execution(job_id, NOW - timedelta(hours=1))
    add_execution(job_id, NOW - timedelta(hours=2), FAILED_HTTP_STATUS)
    add_execution(job_id, NOW - timedelta(hours=3), FAILED_HTTP_STATUS)
    add_rollup("cron_job", job_id, TODAY, 3, 2)
    db.session.commit()
    figures = history.uptime("cron_job", job_id, NOW)
    assert figures == {"24h": 33.333, "7d": 33.333, "30d": 33.333, "90d": 33.333}


def test_uptime_needs_a_known_subject_type(ctx):
    with pytest.raises(ValidationError) as info:
        history.uptime("heartbeat", 1, NOW)
    assert list(info.value.fields) == ["subject_type"]


def test_check_history_is_newest_first_and_filtered(ctx, monitor_id):
    other = monitors.create({"name": "Other", "url": "https://example.org/"}).id
    for hours in range(6):
        add_check(monitor_id, NOW - timedelta(hours=hours))
    add_check(other, NOW)
    db.session.commit()

    page = history.check_history(monitor_id, per_page=4)
    assert [r.started_at for r in page.items] == [NOW - timedelta(hours=h) for h in range(4)]
    assert (page.total, page.pages) == (6, 2)
    page = history.check_history(
        monitor_id, start=NOW - timedelta(hours=4), end=(NOW - timedelta(hours=1)).isoformat()
    )
    assert [r.started_at for r in page.items] == [NOW - timedelta(hours=h) for h in (2, 3, 4)]


def test_check_history_validates_its_period(ctx, monitor_id):
    with pytest.raises(ValidationError) as info:
        history.check_history(monitor_id, start=NOW, end=NOW - timedelta(hours=1))
    assert info.value.fields == {"end": "Choose an end after the start."}
    with pytest.raises(ValidationError) as info:
        history.check_history(monitor_id, start="yesterday", end="2026-01-01T00:00:00")
    assert set(info.value.fields) == {"start", "end"}
    with pytest.raises(NotFound, match="Monitor not found$"):
        history.check_history(monitor_id + 100)


def test_executions_and_one_execution(ctx, job_id):
    other = cron_jobs.create(
        {"name": "Other", "url": "https://example.org/", "cron_expr": "@hourly"}
    ).id
    for hours in range(3):
        add_execution(job_id, NOW - timedelta(hours=hours))
    add_execution(other, NOW)
    db.session.commit()

    page = history.executions(job_id, page=1, per_page=2)
    assert [e.started_at for e in page.items] == [NOW, NOW - timedelta(hours=1)]
    assert page.total == 3
    first = page.items[0]
    assert history.execution(job_id, first.id).id == first.id
    foreign = history.executions(other).items[0]
    with pytest.raises(NotFound, match="Execution not found$"):
        history.execution(job_id, foreign.id)
    with pytest.raises(NotFound, match="Cron job not found$"):
        history.executions(job_id + 100)


def test_uptime_days_are_utc_days(ctx, monitor_id):
    # 23:30 UTC on 28 March is already 29 March in Auckland; the rollup of the 28th counts.
    auckland = datetime(2026, 3, 28, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Pacific/Auckland"))
    add_rollup("monitor", monitor_id, date(2026, 3, 22), 4, 1)
    db.session.commit()
    assert history.uptime("monitor", monitor_id, auckland)["7d"] == 75.0


def test_latest_checks_newest_first_within_limit_and_period(ctx, monitor_id):
    for minutes in range(5):
        at = NOW - timedelta(minutes=minutes)
        db.session.add(CheckResult(monitor_id=monitor_id, planned_at=at, started_at=at, outcome=OK))
    db.session.commit()
    latest = history.latest_checks(monitor_id, limit=3)
    assert [r.started_at for r in latest] == [NOW - timedelta(minutes=m) for m in range(3)]
    window = history.latest_checks(monitor_id, NOW - timedelta(minutes=3), NOW, limit="60")
    assert [r.started_at for r in window] == [NOW - timedelta(minutes=m) for m in (1, 2, 3)]
    with pytest.raises(ValidationError) as info:
        history.latest_checks(monitor_id, limit=history.LATEST_MAX + 1)
    assert "limit" in info.value.fields
    with pytest.raises(NotFound):
        history.latest_checks(monitor_id + 100)
