"""The monitor service for kind heartbeat: fields, schedules, codes, pause/resume, status."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine import scheduler as sched
from app.extensions import db, redis_client
from app.models import Monitor
from app.services import monitors, pings
from app.services.errors import Conflict, NotFound, ValidationError


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def make(name="Backup", **data):
    data.setdefault("period_sec", 3600)
    return monitors.create({"kind": "heartbeat", "name": name, **data})


def errors_of(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    return info.value.fields


def fresh(monitor_id: int) -> Monitor:
    db.session.remove()  # pings write with Core statements; read the row anew
    return db.session.get(Monitor, monitor_id)


def due(monitor_id: int) -> datetime | None:
    score = redis_client.conn.zscore(sched.KEY_DUE, f"h:{monitor_id}")
    return None if score is None else sched.from_ms(score)


def test_create_applies_the_defaults(ctx):
    monitor = monitors.create({"kind": "heartbeat", "name": " Backup ", "period_sec": 3600})
    assert (monitor.kind, monitor.name, monitor.state) == ("heartbeat", "Backup", "new")
    assert str(uuid.UUID(monitor.code)) == monitor.code
    assert (monitor.period_sec, monitor.cron_expr, monitor.timezone) == (3600, None, "UTC")
    assert (monitor.grace_sec, monitor.max_run_sec, monitor.min_run_sec) == (300, None, None)
    assert (monitor.manual_resume, monitor.paused, monitor.public) == (False, False, False)
    assert monitor.url is None
    assert monitor.slug == "backup"
    # Never pinged: nothing to wait for yet.
    assert due(monitor.id) is None


def test_create_stores_every_field(ctx):
    monitor = monitors.create(
        {
            "kind": "heartbeat",
            "name": "Nightly",
            "description": "pg_dump",
            "group": "Jobs",
            "cron_expr": " 30  2 * * * ",
            "timezone": "europe/berlin",
            "grace_period": 15,
            "running_time": 2,
            "running_time_unit": "hours",
            "min_run_sec": 60,
            "manual_resume": "on",
            "public": True,
        }
    )
    db.session.expire_all()
    stored = db.session.get(Monitor, monitor.id)
    assert (stored.cron_expr, stored.timezone, stored.period_sec) == (
        "30 2 * * *",
        "Europe/Berlin",
        None,
    )
    assert (stored.grace_sec, stored.max_run_sec, stored.min_run_sec) == (900, 7200, 60)
    assert (stored.manual_resume, stored.public, stored.group.name) == (True, True, "Jobs")
    assert stored.description == "pg_dump"


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"),
    [
        (45, "seconds", 45),
        (10, "minutes", 600),
        (3, "hours", 10800),
        (2, "days", 172800),
        (1, "weeks", 604800),
        ("20", None, 1200),
    ],
)
def test_running_time_units(ctx, amount, unit, seconds):
    data = {"running_time": amount} | ({"running_time_unit": unit} if unit else {})
    assert make(**data).max_run_sec == seconds


def test_grace_can_be_given_in_seconds(ctx):
    assert make(grace_sec=120).grace_sec == 120


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("period_sec", 59, "from 60 to 31536000"),
        ("period_sec", "hourly", "from 60 to 31536000"),
        ("cron_expr", "61 * * * *", "minute"),
        ("cron_expr", "0 0 31 2 *", "never"),
        ("timezone", "Mars/Olympus", "Unknown time zone"),
        ("grace_period", 0, "minutes from 1 to 60"),
        ("grace_period", 61, "minutes from 1 to 60"),
        ("grace_sec", 30, "seconds from 60 to 3600"),
        ("running_time", 0, "from 1 to"),
        ("running_time", 53, "at most 365 days"),
        ("running_time_unit", "fortnights", "Choose one of seconds, minutes, hours, days, weeks"),
        ("max_run_sec", -5, "from 1 to"),
        ("min_run_sec", "soon", "from 1 to"),
        ("manual_resume", "maybe", "Must be true or false."),
    ],
)
def test_create_rejects_each_invalid_field(ctx, field, value, message):
    data = {"running_time_unit": "weeks"} if field == "running_time" else {}
    errors = errors_of(make, "Backup", **data, **{field: value})
    assert list(errors) == [field]
    assert message in errors[field]
    assert db.session.scalar(sa.select(sa.func.count(Monitor.id))) == 0


def test_the_schedule_is_a_period_or_a_cron_expression(ctx):
    errors = errors_of(monitors.create, {"kind": "heartbeat", "name": "B"})
    assert errors == {"period_sec": monitors._SCHEDULE_MISSING}
    errors = errors_of(make, "B", cron_expr="* * * * *")
    assert errors == {"cron_expr": "Give a period or a cron expression, not both."}
    # What a form sends: both fields, one of them blank.
    monitor = make(period_sec="", cron_expr="*/5 * * * *")
    assert (monitor.period_sec, monitor.cron_expr) == (None, "*/5 * * * *")
    # An edit that sets one replaces the other.
    monitor = monitors.update(monitor.id, {"period_sec": 600})
    assert (monitor.period_sec, monitor.cron_expr) == (600, None)
    monitor = monitors.update(monitor.id, {"cron_expr": "0 * * * *"})
    assert (monitor.period_sec, monitor.cron_expr) == (None, "0 * * * *")
    assert errors_of(monitors.update, monitor.id, {"cron_expr": ""}) == {
        "period_sec": monitors._SCHEDULE_MISSING
    }


def test_conflicting_spellings_are_refused(ctx):
    assert set(errors_of(make, "B", grace_period=5, grace_sec=300)) == {"grace_sec"}
    assert set(errors_of(make, "B", running_time=5, max_run_sec=300)) == {"max_run_sec"}
    assert set(errors_of(make, "B", running_time_unit="hours")) == {"running_time"}


def test_minimum_running_time_must_be_below_the_bound(ctx):
    errors = errors_of(make, "B", max_run_sec=60, min_run_sec=60)
    assert errors == {"min_run_sec": "Must be shorter than the longest running time."}
    monitor = make(max_run_sec=600, min_run_sec=30)
    assert set(
        errors_of(monitors.update, monitor.id, {"running_time": 20, "running_time_unit": "seconds"})
    ) == {"min_run_sec"}
    # Clearing the bound is allowed; the minimum then stands alone.
    assert monitors.update(monitor.id, {"running_time": ""}).max_run_sec is None


def test_fields_of_the_other_family_are_refused(ctx):
    errors = errors_of(make, "B", url="https://example.com/", interval_sec=60)
    assert errors == {
        "url": "Not used by heartbeat monitors.",
        "interval_sec": "Not used by heartbeat monitors.",
    }
    errors = errors_of(
        monitors.create, {"name": "Site", "url": "https://example.com/", "period_sec": 60}
    )
    assert errors == {"period_sec": "Only heartbeat monitors use this field."}


def test_the_kind_cannot_change_between_uptime_and_heartbeat(ctx):
    heartbeat = make()
    assert set(errors_of(monitors.update, heartbeat.id, {"kind": "http"})) == {"kind"}
    site = monitors.create({"name": "Site", "url": "https://example.com/"})
    assert set(errors_of(monitors.update, site.id, {"kind": "heartbeat"})) == {"kind"}


def test_update_changes_the_fields_given_and_keeps_the_code(ctx):
    monitor = make()
    code = monitor.code
    monitor = monitors.update(monitor.id, {"name": "Renamed", "grace_period": 2})
    assert (monitor.name, monitor.grace_sec, monitor.code, monitor.period_sec) == (
        "Renamed",
        120,
        code,
        3600,
    )


def test_regenerate_code_replaces_the_ping_url(ctx):
    monitor = make()
    old = monitor.code
    new = monitors.regenerate_code(monitor.id).code
    assert new != old and str(uuid.UUID(new)) == new
    with pytest.raises(NotFound):
        pings.record_ping(old, "success", None, "GET", "127.0.0.1", None, b"")
    assert pings.record_ping(new, "success", None, "GET", "127.0.0.1", None, b"") == monitor.id
    site = monitors.create({"name": "Site", "url": "https://example.com/"})
    with pytest.raises(Conflict):
        monitors.regenerate_code(site.id)


def test_get_by_code_finds_heartbeats_only(ctx):
    monitor = make()
    assert monitors.get_by_code(monitor.code).id == monitor.id
    old = monitor.code
    monitors.regenerate_code(monitor.id)
    for code in (old, str(uuid.uuid4()), "", "not-a-code"):
        with pytest.raises(NotFound):
            monitors.get_by_code(code)


def test_pause_and_resume_a_heartbeat(ctx):
    monitor = make()
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"")
    assert fresh(monitor.id).state == "up"
    assert due(monitor.id) is not None

    monitor = monitors.pause(monitor.id)
    assert (monitor.paused, monitor.state) == (True, "paused")
    assert due(monitor.id) is None

    monitor = monitors.resume(monitor.id)
    # Resumed heartbeats wait for their next ping instead of counting the pause as silence.
    assert (monitor.paused, monitor.state) == (False, "new")
    assert due(monitor.id) is None
    assert monitors.update(monitor.id, {"paused": True}).state == "paused"
    assert monitors.update(monitor.id, {"paused": False}).state == "new"


def test_a_heartbeat_can_start_paused(ctx):
    monitor = make(paused=True)
    assert (monitor.paused, monitor.state) == (True, "paused")


def test_a_schedule_change_moves_the_deadline(ctx):
    monitor = make(period_sec=3600)
    now = datetime.now(UTC)
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"", now=now)
    assert due(monitor.id) == sched.from_ms(sched.to_ms(now + timedelta(hours=1)))
    monitors.update(monitor.id, {"period_sec": 7200})
    assert due(monitor.id) == sched.from_ms(sched.to_ms(now + timedelta(hours=2)))


def test_a_late_heartbeat_given_a_longer_period_is_up_again(ctx):
    monitor = make(period_sec=60)
    pings.record_ping(
        monitor.code,
        "success",
        None,
        "GET",
        None,
        None,
        b"",
        now=datetime.now(UTC) - timedelta(seconds=90),
    )
    stored = fresh(monitor.id)
    stored.state = "late"
    db.session.commit()
    assert monitors.update(monitor.id, {"period_sec": 3600}).state == "up"


def test_delete_takes_the_deadline_away(ctx):
    monitor = make()
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"")
    assert due(monitor.id) is not None
    monitors.delete(monitor.id)
    assert due(monitor.id) is None
    with pytest.raises(NotFound):
        monitors.get(monitor.id)


def test_list_filters_heartbeats(ctx):
    make("Backup")
    monitors.create({"name": "Site", "url": "https://example.com/"})
    assert [m.name for m in monitors.list_monitors(kind="heartbeat").items] == ["Backup"]
    assert [m.name for m in monitors.list_monitors(state="new").items] == ["Backup"]


def test_status_of_a_period_heartbeat(ctx):
    monitor = make(period_sec=3600, grace_period=10, max_run_sec=600)
    status = monitors.heartbeat_status(monitor.id)
    assert (status["state"], status["expected_at"], status["deadline_at"]) == ("new", None, None)

    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"", now=t0)
    pings.record_ping(
        monitor.code, "start", None, "GET", None, None, b"", now=t0 + timedelta(minutes=50)
    )
    db.session.remove()
    status = monitors.heartbeat_status(monitor.id, now=t0 + timedelta(minutes=51))
    assert status == {
        "state": "up",
        "last_ping_at": t0,
        "last_duration_ms": None,
        "expected_at": t0 + timedelta(hours=1),
        "grace_ends_at": t0 + timedelta(minutes=70),
        "running_since": t0 + timedelta(minutes=50),
        "run_deadline": t0 + timedelta(minutes=60),
        "deadline_at": t0 + timedelta(minutes=60),
    }


def test_status_of_a_cron_heartbeat_never_pinged_is_its_next_slot(ctx):
    monitor = make(period_sec=None, cron_expr="0 6 * * *", timezone="Asia/Tokyo")
    status = monitors.heartbeat_status(monitor.id, now=datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    assert status["expected_at"] == datetime(2026, 5, 1, 21, 0, tzinfo=UTC)  # 06:00 JST
    assert status["deadline_at"] is None  # but no alarm before the first ping


def test_status_and_pings_are_for_heartbeats_only(ctx):
    site = monitors.create({"name": "Site", "url": "https://example.com/"})
    for call in (monitors.heartbeat_status, pings.list_pings):
        with pytest.raises(NotFound, match="Heartbeat monitor not found."):
            call(site.id)
        with pytest.raises(NotFound):
            call(404)
