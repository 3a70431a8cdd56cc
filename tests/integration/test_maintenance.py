"""Maintenance windows end to end: a real target and webhook receiver on 127.0.0.1, the real
batch job and notify queue, heartbeat deadlines, pings, the status page and the schedule
math across daylight saving time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine import scheduler as sched
from app.engine.scheduler import to_ms
from app.extensions import db, redis_client
from app.models import CheckResult, DailyRollup, Incident, MaintenanceWindow, Monitor
from app.services import channels, cron_jobs, groups, maintenance, monitors, pings, results
from app.tasks import jobs
from tests.pipeline import work
from tests.targets import TargetServer

MINUTE = timedelta(minutes=1)
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


@pytest.fixture
def ctx(make_app):
    app = make_app(NOTIFY_RETRY_DELAYS=(0, 0, 0, 0))
    with app.app_context():
        yield app


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def check(monitor_id: int, at: datetime) -> None:
    jobs.run_batch([["m", monitor_id, to_ms(at), 0, "schedule"]])
    work()


def events_at(server: TargetServer) -> list[str]:
    return [json.loads(r.body)["event"] for r in server.requests if r.target == "/hook"]


def window_now(**targets) -> MaintenanceWindow:
    now = datetime.now(UTC)
    return maintenance.create(
        {"title": "Upgrade", "starts_at": now - MINUTE, "ends_at": now + timedelta(hours=1)}
        | targets
    )


def end(window_id: int) -> None:
    """The window ends: its end moves to a moment just past (as time would)."""
    db.session.remove()
    db.session.get(MaintenanceWindow, window_id).ends_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()


def fresh(model, item_id: int):
    db.session.remove()
    return db.session.get(model, item_id)


def test_a_failing_monitor_alerts_only_once_its_window_ends(ctx, target):
    channels.create(
        {"name": "Ops", "kind": "webhook", "url": target.route("/hook"), "is_default": True}
    )
    health = target.route("/health", body="fine")
    monitor = monitors.create({"name": "API", "url": health, "failure_threshold": 2})
    check(monitor.id, T0)
    assert fresh(Monitor, monitor.id).state == "up"
    window = window_now(monitor_ids=[monitor.id])

    target.route("/health", status=503)
    check(monitor.id, T0 + MINUTE)
    check(monitor.id, T0 + 2 * MINUTE)
    # Checked and stored, marked; counted, but no state moved and nothing was sent.
    rows = db.session.execute(
        sa.select(CheckResult.outcome, CheckResult.maintenance)
        .filter_by(monitor_id=monitor.id)
        .order_by(CheckResult.planned_at)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("ok", False),
        ("failed_http_status", True),
        ("failed_http_status", True),
    ]
    held = fresh(Monitor, monitor.id)
    assert (held.state, held.consecutive_failures) == ("up", 2)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0
    assert events_at(target) == []
    assert maintenance.covered().monitors.keys() == {monitor.id}

    # Its next check is the window's end, not its next interval after it.
    member = f"m:{monitor.id}"
    redis_client.conn.zadd(sched.KEY_DUE, {member: to_ms(T0 + timedelta(days=1))})
    check(monitor.id, T0 + 2 * MINUTE)  # the same slot again: recorded once, moves it
    ends_at = fresh(MaintenanceWindow, window.id).ends_at
    assert redis_client.conn.zscore(sched.KEY_DUE, member) == to_ms(ends_at)
    redis_client.conn.zadd(sched.KEY_DUE, {member: to_ms(T0)})
    check(monitor.id, T0 + 2 * MINUTE)
    assert redis_client.conn.zscore(sched.KEY_DUE, member) == to_ms(T0)  # never later

    end(window.id)
    check(monitor.id, T0 + 3 * MINUTE)  # still failing: down now, with its alert
    assert fresh(Monitor, monitor.id).state == "down"
    assert events_at(target) == ["monitor.down"]
    # Uptime: the two checks under maintenance are counted apart.
    rollup = db.session.execute(
        sa.select(DailyRollup.checks, DailyRollup.failures, DailyRollup.maintenance_checks).where(
            DailyRollup.subject_id == monitor.id, DailyRollup.subject_type == "monitor"
        )
    ).all()
    assert [sum(col) for col in zip(*rollup, strict=True)] == [2, 1, 2]


def test_a_recovery_inside_a_window_is_announced_after_it(ctx, target):
    channels.create(
        {"name": "Ops", "kind": "webhook", "url": target.route("/hook"), "is_default": True}
    )
    health = target.route("/health", status=500)
    monitor = monitors.create({"name": "API", "url": health, "failure_threshold": 1})
    check(monitor.id, T0)
    group = groups.create("Databases")
    window = window_now(group_ids=[group.id])
    # Put in the group after the window was made: covered all the same.
    monitors.update(monitor.id, {"group": "Databases"})
    target.route("/health", body="fine")
    check(monitor.id, T0 + MINUTE)
    assert fresh(Monitor, monitor.id).state == "down"
    assert events_at(target) == ["monitor.down"]
    end(window.id)
    check(monitor.id, T0 + 2 * MINUTE)
    assert fresh(Monitor, monitor.id).state == "up"
    assert events_at(target) == ["monitor.down", "monitor.up"]


def test_a_cron_job_under_maintenance_counts_no_failure(ctx, target):
    job = cron_jobs.create(
        {"name": "Sync", "url": target.route("/sync", status=500), "cron_expr": "* * * * *"}
    )
    window_now(cron_job_ids=[job.id])
    jobs.run_batch([["c", job.id, to_ms(T0), 0, "schedule"]])
    job = fresh(type(job), job.id)
    assert (job.last_outcome, job.consecutive_failures) == ("failed_http_status", 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def heartbeat(**data) -> Monitor:
    return monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 600} | data)


def ping(monitor: Monitor, at: datetime, kind: str = "success") -> None:
    pings.record_ping(monitor.code, kind, None, "GET", "127.0.0.1", None, b"", now=at)


def test_a_heartbeat_deadline_waits_for_the_window_to_end(ctx):
    now = datetime.now(UTC).replace(microsecond=0)
    monitor = heartbeat(grace_sec=60)
    ping(monitor, now - timedelta(minutes=30))
    window = window_now(monitor_ids=[monitor.id])
    deadline = now - timedelta(minutes=19)  # expected + grace: long past
    assert results.record([], now, [(monitor.id, deadline)]) == []
    assert fresh(Monitor, monitor.id).state == "up"

    # Through the batch job: the deadline is put back to the window's end, not to now.
    redis_client.conn.zrem(sched.KEY_DUE, f"h:{monitor.id}")
    jobs.run_batch([["h", monitor.id, to_ms(deadline), 0, "deadline"]])
    score = redis_client.conn.zscore(sched.KEY_DUE, f"h:{monitor.id}")
    assert score == to_ms(fresh(MaintenanceWindow, window.id).ends_at)

    # At the end, judged afresh: down, with its incident.
    ends_at = fresh(MaintenanceWindow, window.id).ends_at
    events = results.record([], ends_at, [(monitor.id, ends_at)])
    assert [e for _, _, e in events] == ["down"]
    assert fresh(Monitor, monitor.id).state == "down"


def test_a_failure_ping_inside_a_window_moves_nothing(ctx):
    now = datetime.now(UTC).replace(microsecond=0)
    monitor = heartbeat()
    ping(monitor, now - timedelta(minutes=2))
    window_now(monitor_ids=[monitor.id])
    ping(monitor, datetime.now(UTC), "fail")
    held = fresh(Monitor, monitor.id)
    assert held.state == "up"
    assert held.last_error == "The job reported a failure."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_recurring_periods_follow_the_wall_clock_across_dst(ctx):
    window = MaintenanceWindow(cron_expr="30 2 * * *", duration_min=60, timezone="Europe/Berlin")
    # 02:30 does not exist in Berlin on 2026-03-29: that period starts at 03:00 CEST.
    spring = maintenance.periods(window, datetime(2026, 3, 27, 12, tzinfo=UTC), 3)
    assert [start for start, _ in spring] == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 CEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST
    ]
    assert all(end - start == timedelta(hours=1) for start, end in spring)
    # 02:30 happens twice on 2026-10-25: the window starts once.
    autumn = maintenance.periods(window, datetime(2026, 10, 24, 12, tzinfo=UTC), 2)
    assert [start for start, _ in autumn] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the first 02:30 (CEST)
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    # Active in its period only, and the period in progress comes first.
    inside = datetime(2026, 3, 29, 1, 59, tzinfo=UTC)
    assert maintenance.status(window, inside) == "active"
    assert maintenance.periods(window, inside, 1)[0][0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert maintenance.status(window, datetime(2026, 3, 29, 2, 0, tzinfo=UTC)) == "scheduled"


def test_a_recurring_window_covers_its_items_only_inside_its_periods(ctx):
    monitor = monitors.create({"name": "DB", "url": "https://db.example.com/"})
    maintenance.create(
        {
            "title": "Nightly vacuum",
            "cron_expr": "30 2 * * *",
            "duration_min": 60,
            "timezone": "Europe/Berlin",
            "monitor_ids": [monitor.id],
        }
    )
    inside = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert maintenance.covered(inside).monitors == {
        monitor.id: datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    }
    assert maintenance.covered(datetime(2026, 3, 29, 2, 0, tzinfo=UTC)).monitors == {}


def test_the_status_page_badge_and_feed_show_maintenance(ctx, client):
    monitor = monitors.create({"name": "Shop", "url": "https://shop.example.com/", "public": True})
    hidden = monitors.create({"name": "Secret", "url": "https://in.example.com/"})
    now = datetime.now(UTC)
    window_now(monitor_ids=[monitor.id], message="Moving to <new> racks")
    maintenance.create(
        {
            "title": "Next week",
            "starts_at": now + timedelta(days=3),
            "ends_at": now + timedelta(days=3, hours=1),
            "monitor_ids": [monitor.id],
        }
    )
    maintenance.create(
        {
            "title": "Far off",
            "starts_at": now + timedelta(days=9),
            "ends_at": now + timedelta(days=9, hours=1),
            "monitor_ids": [monitor.id],
        }
    )
    maintenance.create(
        {
            "title": "Private work",
            "starts_at": now,
            "ends_at": now + timedelta(hours=1),
            "monitor_ids": [hidden.id],
        }
    )
    page = client.get("/status").get_data(as_text=True)
    assert "Upgrade" in page and "In progress" in page
    assert "Next week" in page and "Scheduled" in page
    assert "Far off" not in page and "Private work" not in page
    assert "Moving to &lt;new&gt; racks" in page
    assert 'pill pill-maintenance">Maintenance<' in page
    badge = client.get(f"/badge/{monitor.slug}/shields.json").get_json()
    assert (badge["message"], badge["color"]) == ("maintenance", "blue")
    feed = client.get("/status/feed.atom").get_data(as_text=True)
    assert "[Maintenance now] Upgrade" in feed and "[Scheduled maintenance] Next week" in feed
    assert "Private work" not in feed


def test_a_day_of_maintenance_only_is_drawn_as_maintenance(ctx, client):
    from app.services import status_page

    monitor = monitors.create({"name": "Shop", "url": "https://shop.example.com/", "public": True})
    today = datetime.now(UTC).date()
    for days_ago, checks, failures, held in ((3, 100, 0, 0), (2, 0, 0, 1440), (1, 50, 50, 10)):
        db.session.add(
            DailyRollup(
                subject_type="monitor",
                subject_id=monitor.id,
                day=today - timedelta(days=days_ago),
                checks=checks,
                failures=failures,
                maintenance_checks=held,
            )
        )
    db.session.add(
        DailyRollup(
            subject_type="monitor", subject_id=monitor.id, day=today, checks=0, maintenance_checks=9
        )
    )
    db.session.commit()
    [item] = status_page.page().items
    levels = {bar.first_day: bar.level for bar in item.bars if bar.length == 1}
    assert levels[today - timedelta(days=2)] == "maintenance"
    assert levels[today - timedelta(days=1)] == "down"
    assert levels[today] == "maintenance"
    assert item.uptime_90d == round(100 / 150 * 100, 3)  # maintenance counted out
    db.session.remove()  # ends the read (on SQLite it holds the write lock)
    page = client.get("/status").get_data(as_text=True)
    assert page.count("bar bar-maintenance") == 2
    assert f"{today - timedelta(days=2)} · maintenance" in page
