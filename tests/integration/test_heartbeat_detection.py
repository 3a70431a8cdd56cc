"""Heartbeat deadlines end to end: pings → scheduler due set → RQ batch → state, incidents.

The clock is controlled: pings carry their time, the scheduler ticks at a given instant, and a
worker judges a deadline at the instant it was due (never earlier), so each step happens at
exactly the moment the test names.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from rq import Queue

from app.engine import queues
from app.engine import scheduler as sched
from app.engine.scheduler import Scheduler, from_ms, to_ms
from app.extensions import db, redis_client
from app.models import DailyRollup, Incident, Monitor
from app.services import monitors, pings, results
from app.tasks import jobs
from tests.pipeline import run_due, work

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def scheduler(app):
    with app.app_context():
        scheduler = Scheduler(conn=redis_client.conn)
        assert scheduler.hold_lock()  # a leader's start: the due set is built from SQL
        yield scheduler


@pytest.fixture
def t0():
    """A moment just ahead of the real clock, on a whole second."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)


def make(**data) -> Monitor:
    data.setdefault("period_sec", 3600)
    return monitors.create({"kind": "heartbeat", "name": "Backup", **data})


def ping(monitor: Monitor, at: datetime, kind: str | None = "success", exit_status=None):
    pings.record_ping(monitor.code, kind, exit_status, "GET", "127.0.0.1", None, b"", now=at)


def fresh(monitor_id: int) -> Monitor:
    db.session.remove()
    return db.session.get(Monitor, monitor_id)


def due(monitor_id: int) -> datetime | None:
    score = redis_client.conn.zscore(sched.KEY_DUE, f"h:{monitor_id}")
    return None if score is None else from_ms(score)


def incidents(monitor_id: int) -> list[Incident]:
    db.session.remove()
    query = sa.select(Incident).where(Incident.monitor_id == monitor_id).order_by(Incident.id)
    return list(db.session.execute(query).scalars())


def test_late_after_the_period_down_after_the_grace_and_up_on_the_next_ping(scheduler, t0):
    monitor = make(period_sec=600, grace_period=5)
    ping(monitor, t0)
    expected = t0 + 10 * MINUTE
    assert due(monitor.id) == expected

    run_due(scheduler, expected - SECOND)
    assert fresh(monitor.id).state == "up"
    run_due(scheduler, expected)
    late = fresh(monitor.id)
    assert (late.state, late.state_changed_at) == ("late", expected)
    assert incidents(monitor.id) == []
    assert due(monitor.id) == expected + 5 * MINUTE

    run_due(scheduler, expected + 5 * MINUTE - SECOND)
    assert fresh(monitor.id).state == "late"
    run_due(scheduler, expected + 5 * MINUTE)
    down = fresh(monitor.id)
    assert down.state == "down"
    [incident] = incidents(monitor.id)
    assert (incident.status, incident.title) == ("open", "Backup is down")
    assert incident.cause.startswith("No ping since ")
    assert "grace period of 5 minutes has passed" in incident.cause
    assert due(monitor.id) is None  # down: nothing more to wait for

    ping(monitor, expected + 20 * MINUTE)
    assert fresh(monitor.id).state == "up"
    [incident] = incidents(monitor.id)
    assert incident.status == "resolved"
    assert [u.kind for u in incident.updates] == ["started", "resolved"]
    assert due(monitor.id) == expected + 30 * MINUTE


def test_a_ping_in_time_keeps_it_up_and_moves_the_deadline(scheduler, t0):
    monitor = make(period_sec=600)
    ping(monitor, t0)
    ping(monitor, t0 + 9 * MINUTE)
    # A later deadline is not written by the ping: the earlier one fires, finds the
    # heartbeat on time and puts back the next.
    assert due(monitor.id) == t0 + 10 * MINUTE
    run_due(scheduler, t0 + 10 * MINUTE)
    assert fresh(monitor.id).state == "up"
    assert due(monitor.id) == t0 + 19 * MINUTE
    run_due(scheduler, t0 + 19 * MINUTE)
    assert fresh(monitor.id).state == "late"


def test_a_ping_arriving_while_its_deadline_is_queued_wins(scheduler, t0):
    monitor = make(period_sec=600)
    ping(monitor, t0)
    scheduler.tick(t0 + 10 * MINUTE)  # the deadline is dispatched, not yet evaluated
    assert due(monitor.id) is None
    ping(monitor, t0 + 10 * MINUTE - SECOND)
    work()
    assert fresh(monitor.id).state == "up"
    assert due(monitor.id) == t0 + 20 * MINUTE - SECOND


def test_deadlines_ride_in_the_normal_batches(scheduler, t0):
    first, second = make(period_sec=600), make(period_sec=600)
    ping(first, t0)
    ping(second, t0)
    scheduler.tick(t0 + 10 * MINUTE)
    [job] = Queue(queues.CHECKS, connection=redis_client.conn).jobs
    assert sorted((kind, sid) for kind, sid, *_ in job.args[0]) == [
        ("h", first.id),
        ("h", second.id),
    ]
    work()
    assert fresh(first.id).state == fresh(second.id).state == "late"


def test_a_deadline_evaluated_twice_changes_nothing_twice(scheduler, t0):
    monitor = make(period_sec=600, grace_period=1)
    ping(monitor, t0)
    item = ["h", monitor.id, to_ms(t0 + 11 * MINUTE), 0, "recovered"]
    jobs.run_batch([item])
    jobs.run_batch([item])
    assert fresh(monitor.id).state == "down"
    assert len(incidents(monitor.id)) == 1


def test_a_run_longer_than_its_bound_goes_down(scheduler, t0):
    monitor = make(period_sec=86400, running_time=10, running_time_unit="minutes")
    ping(monitor, t0)
    ping(monitor, t0 + MINUTE, "start")
    assert due(monitor.id) == t0 + 11 * MINUTE  # the run's bound comes before the schedule's
    run_due(scheduler, t0 + 11 * MINUTE - SECOND)
    assert fresh(monitor.id).state == "up"
    run_due(scheduler, t0 + 11 * MINUTE)
    assert fresh(monitor.id).state == "down"
    [incident] = incidents(monitor.id)
    assert "did not finish within 10 minutes" in incident.cause

    ping(monitor, t0 + 15 * MINUTE)  # it did finish, late
    stored = fresh(monitor.id)
    assert (stored.state, stored.last_duration_ms, stored.last_start_at) == (
        "up",
        14 * 60 * 1000,
        None,
    )
    assert incidents(monitor.id)[0].status == "resolved"


def test_a_run_that_finishes_in_time_clears_its_bound(scheduler, t0):
    monitor = make(period_sec=3600, max_run_sec=600)
    ping(monitor, t0)
    ping(monitor, t0 + MINUTE, "start")
    assert due(monitor.id) == t0 + 11 * MINUTE  # the run's bound comes sooner: written at once
    ping(monitor, t0 + 2 * MINUTE)
    run_due(scheduler, t0 + 11 * MINUTE)
    assert fresh(monitor.id).state == "up"
    assert due(monitor.id) == t0 + 62 * MINUTE


def test_a_run_shorter_than_the_minimum_goes_down(scheduler, t0):
    monitor = make(period_sec=3600, min_run_sec=60)
    ping(monitor, t0, "start")
    ping(monitor, t0 + 5 * SECOND)
    stored = fresh(monitor.id)
    assert stored.state == "down"
    assert stored.last_error == "The run finished after 5 s, sooner than the minimum of 1 minute."
    [incident] = incidents(monitor.id)
    assert incident.cause == stored.last_error
    ping(monitor, t0 + 10 * MINUTE, "start")
    ping(monitor, t0 + 12 * MINUTE)
    assert fresh(monitor.id).state == "up"


def test_new_paused_and_resumed_heartbeats_have_no_deadline(scheduler, t0):
    monitor = make(period_sec=600)
    run_due(scheduler, t0 + timedelta(days=3))
    assert fresh(monitor.id).state == "new"
    ping(monitor, t0)
    monitors.pause(monitor.id)
    assert due(monitor.id) is None
    run_due(scheduler, t0 + timedelta(days=3))
    assert fresh(monitor.id).state == "paused"
    monitors.resume(monitor.id)
    run_due(scheduler, t0 + timedelta(days=3))
    assert fresh(monitor.id).state == "new"
    ping(monitor, t0 + timedelta(days=3))  # the first ping after resuming starts the clock
    assert due(monitor.id) == t0 + timedelta(days=3) + 10 * MINUTE


def test_deadlines_are_rebuilt_from_sql_when_redis_loses_them(scheduler, t0):
    late = make(period_sec=600)
    overdue = make(period_sec=600)
    ping(late, t0)
    ping(overdue, t0 - timedelta(hours=2))
    redis_client.conn.flushdb()
    scheduler.tick(t0)
    assert due(late.id) == t0 + 10 * MINUTE
    # Missed while Redis was away: due at once, and judged then.
    assert due(overdue.id) is None
    work()
    assert fresh(overdue.id).state == "down"


def test_a_refresh_with_redis_down_is_repaired_by_the_next_rebuild(make_app, tmp_path, t0):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/gone.sock")
    with app.app_context():
        monitor = make(period_sec=600)
        ping(monitor, t0)  # answered and recorded; its deadline could not be written
        monitor_id = monitor.id
    good = make_app()
    with good.app_context():
        scheduler = Scheduler(conn=redis_client.conn)
        scheduler.rebuild(t0)
        assert due(monitor_id) == t0 + 10 * MINUTE


def _judge(monitor_id: int, at: datetime) -> list:
    """Evaluate a deadline directly, at a fixed instant (for dates far from today)."""
    events = results.record([], at, [(monitor_id, at)])
    db.session.remove()
    return [event for _, _, event in events]


def test_cron_heartbeat_across_the_spring_gap(app):
    with app.app_context():
        # 02:30 Europe/Berlin does not exist on 2026-03-29: the slot is due at 03:00 CEST.
        monitor = make(period_sec=None, cron_expr="30 2 * * *", timezone="Europe/Berlin")
        ping(monitor, datetime(2026, 3, 28, 1, 30, 4, tzinfo=UTC))
        expected = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
        status = monitors.heartbeat_status(monitor.id)
        assert (status["expected_at"], status["deadline_at"]) == (expected, expected)
        assert _judge(monitor.id, expected - SECOND) == []
        assert _judge(monitor.id, expected) == ["late"]
        assert _judge(monitor.id, expected + 5 * MINUTE) == ["down"]


def test_cron_heartbeat_across_the_repeated_autumn_hour(app):
    with app.app_context():
        monitor = make(period_sec=None, cron_expr="30 2 * * *", timezone="Europe/Berlin")
        # Pinged at the first 02:30 (CEST) of 2026-10-25: the second 02:30 (CET), an hour
        # later, is not a slot of its own, so no ping is missing then.
        ping(monitor, datetime(2026, 10, 25, 0, 30, 6, tzinfo=UTC))
        assert _judge(monitor.id, datetime(2026, 10, 25, 1, 36, tzinfo=UTC)) == []
        status = monitors.heartbeat_status(monitor.id)
        assert status["expected_at"] == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
        assert fresh(monitor.id).state == "up"


def rollup(monitor_id: int) -> tuple[int, int]:
    """(checks, failures) over the heartbeat's daily rollups (a test may cross midnight)."""
    db.session.remove()
    query = sa.select(
        sa.func.coalesce(sa.func.sum(DailyRollup.checks), 0),
        sa.func.coalesce(sa.func.sum(DailyRollup.failures), 0),
    ).where(DailyRollup.subject_type == "monitor", DailyRollup.subject_id == monitor_id)
    return tuple(db.session.execute(query).one())


def test_pings_and_missed_deadlines_count_in_the_heartbeats_uptime(scheduler, t0):
    monitor = make(period_sec=600, grace_period=1)
    ping(monitor, t0, kind="start")
    ping(monitor, t0 + SECOND)  # a success
    ping(monitor, t0 + 2 * SECOND, kind="log")  # neither
    assert rollup(monitor.id) == (1, 0)
    ping(monitor, t0 + 3 * SECOND, kind="fail")
    ping(monitor, t0 + 4 * SECOND, exit_status=3)  # still down: a failure again
    assert rollup(monitor.id) == (3, 2)
    ping(monitor, t0 + 5 * SECOND)
    run_due(scheduler, t0 + 5 * SECOND + 10 * MINUTE)  # late: not yet a failure
    assert (fresh(monitor.id).state, rollup(monitor.id)) == ("late", (4, 2))
    run_due(scheduler, t0 + 5 * SECOND + 11 * MINUTE)  # down: the missed deadline counts
    assert (fresh(monitor.id).state, rollup(monitor.id)) == ("down", (5, 3))
