"""The scheduler against real Redis and a real database: due set, leadership, rebuilds."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from rq import Queue

from app.engine import schedule
from app.engine import scheduler as sched
from app.engine.scheduler import Scheduler, from_ms, to_ms
from app.extensions import db, redis_client
from app.models import CronJob, Monitor
from app.services import monitors


def add_monitor(**fields) -> int:
    monitor = Monitor(
        kind="http",
        name="m",
        slug=f"m-{time.monotonic_ns()}",
        url="http://127.0.0.1:9/",
        **fields,
    )
    db.session.add(monitor)
    db.session.commit()
    sched.refresh("monitor", monitor.id)
    return monitor.id


def add_cron(**fields) -> int:
    fields.setdefault("cron_expr", "*/5 * * * *")
    job = CronJob(name="c", slug=f"c-{time.monotonic_ns()}", url="http://127.0.0.1:9/", **fields)
    db.session.add(job)
    db.session.commit()
    sched.refresh("cron_job", job.id)
    return job.id


def due(member: str) -> datetime | None:
    score = redis_client.conn.zscore(sched.KEY_DUE, member)
    return None if score is None else from_ms(score)


def queued_items() -> list:
    queue = Queue("checks", connection=redis_client.conn)
    return [item for job in queue.jobs for item in job.args[0]]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def scheduler(ctx):
    """A scheduler that has done its start-up rebuild (of an empty database)."""
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.rebuild()
    return scheduler


def test_new_monitor_is_due_at_once_then_on_its_phase_from_its_planned_time(scheduler):
    before = datetime.now(UTC)
    monitor_id = add_monitor(interval_sec=60)
    member = f"m:{monitor_id}"
    planned = due(member)
    assert before - timedelta(seconds=1) <= planned <= datetime.now(UTC)
    # On time: a late tick may find the phase's first slot already past and skip it (the
    # skip has its own test), which would make this one depend on the clock.
    scheduler.tick(planned)
    # The first check was off its phase (at once): the next is the first slot of its phase,
    # and from then on every interval from the planned time: no drift.
    second = to_ms(due(member))
    assert second % 60_000 == schedule.phase(monitor_id, 60_000)
    assert to_ms(planned) < second <= to_ms(planned) + 60_000
    scheduler.tick(from_ms(second + 3000))
    assert to_ms(due(member)) == second + 60_000
    assert queued_items() == [
        ["m", monitor_id, to_ms(planned), 0, "schedule"],
        ["m", monitor_id, second, 0, "schedule"],
    ]


def test_pause_and_delete_remove_the_item_and_resume_restores_it(ctx):
    monitor_id = add_monitor()
    monitor = db.session.get(Monitor, monitor_id)
    monitor.paused = True
    db.session.commit()
    sched.refresh("monitor", monitor_id)
    assert due(f"m:{monitor_id}") is None
    monitor.paused = False
    db.session.commit()
    sched.refresh("monitor", monitor_id)
    assert due(f"m:{monitor_id}") is not None
    db.session.delete(monitor)
    db.session.commit()
    sched.refresh("monitor", monitor_id)
    assert due(f"m:{monitor_id}") is None


def test_disabled_and_expired_cron_jobs_are_not_scheduled(ctx):
    disabled = add_cron(enabled=False)
    expired = add_cron(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    active = add_cron(cron_expr="0 3 * * *", timezone="Europe/Berlin")
    assert due(f"c:{disabled}") is None
    assert due(f"c:{expired}") is None
    next_due = due(f"c:{active}")
    assert next_due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).hour == 3


def test_a_slot_is_dispatched_once_even_if_requeued_to_the_same_time(scheduler):
    monitor_id = add_monitor()
    planned = due(f"m:{monitor_id}")
    scheduler.tick(planned)
    # Someone puts the item back at the already-dispatched planned time.
    redis_client.conn.zadd(sched.KEY_DUE, {f"m:{monitor_id}": to_ms(planned)})
    scheduler.tick(planned)
    assert len(queued_items()) == 1


def test_missed_cron_slots_run_once_and_are_counted(ctx):
    job_id = add_cron(cron_expr="*/5 * * * *")
    job = db.session.get(CronJob, job_id)
    now = datetime(2026, 3, 28, 12, 2, 30, tzinfo=UTC)
    job.last_run_at = now - timedelta(hours=1)
    db.session.commit()
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.rebuild(now)
    scheduler.tick(now)
    items = queued_items()
    assert len(items) == 1
    kind, sid, planned, missed, trigger = items[0]
    assert (kind, sid, trigger) == ("c", job_id, "schedule")
    # The first slot after the last run (11:05) runs; 11:10 to 12:00 are counted as missed.
    assert from_ms(planned) == datetime(2026, 3, 28, 11, 5, tzinfo=UTC)
    assert missed == 11
    assert due(f"c:{job_id}") == datetime(2026, 3, 28, 12, 5, tzinfo=UTC)


def test_a_first_slot_lost_with_redis_runs_after_the_rebuild(ctx):
    # A job created at 12:00:30 whose 12:05 slot was dispatched, and its batch lost with
    # Redis before any worker ran it: the job has never run. Rebuilt at 12:07, the slot runs
    # then, as it would for a job that had run before.
    job_id = add_cron(cron_expr="*/5 * * * *")
    job = db.session.get(CronJob, job_id)
    job.created_at = datetime(2026, 3, 28, 12, 0, 30, tzinfo=UTC)
    db.session.commit()
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.rebuild(datetime(2026, 3, 28, 12, 7, tzinfo=UTC))
    scheduler.tick(datetime(2026, 3, 28, 12, 7, tzinfo=UTC))
    [(kind, sid, planned, missed, trigger)] = queued_items()
    assert (kind, sid, missed, trigger) == ("c", job_id, 0, "schedule")
    assert from_ms(planned) == datetime(2026, 3, 28, 12, 5, tzinfo=UTC)


def test_an_emptied_redis_is_rebuilt_from_sql(ctx):
    now = datetime(2026, 3, 28, 12, 2, 30, tzinfo=UTC)
    monitor_id = add_monitor(interval_sec=30, last_checked_at=now)
    job_id = add_cron()
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.tick(now)
    redis_client.conn.flushdb()
    scheduler.tick(now)
    # Due again at the monitor's first slot after its last check (the one instant within
    # the 30 s after it that falls on its phase), and at the job's next five minutes.
    monitor_due = to_ms(due(f"m:{monitor_id}"))
    assert monitor_due % 30_000 == schedule.phase(monitor_id, 30_000)
    assert to_ms(now) < monitor_due <= to_ms(now + timedelta(seconds=30))
    assert due(f"c:{job_id}") == datetime(2026, 3, 28, 12, 5, tzinfo=UTC)


def wait_for(condition, what: str, seconds: float = 30) -> None:
    """Poll ``condition`` until it holds; the deadline is generous, for a loaded machine."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.02)


def test_only_the_leader_dispatches_and_a_standby_takes_over(ctx, monkeypatch):
    # Leadership is under test, not spreading: let all twenty new monitors be due at once.
    monkeypatch.setattr(sched, "AT_ONCE", 20)
    ids = [add_monitor(interval_sec=3600) for _ in range(20)]
    conn = redis_client.conn
    # A TTL long enough for a leader to renew through a busy machine's stalls.
    first = Scheduler(conn=conn, lock_ttl_ms=3000, tick_sec=0.05)
    second = Scheduler(conn=conn, lock_ttl_ms=3000, tick_sec=0.05)
    stop_first, stop_second = threading.Event(), threading.Event()
    standby_tries = []
    hold_lock = second.hold_lock
    # Counted, so the test knows the standby asked for the lock while the leader held it.
    second.hold_lock = lambda: standby_tries.append(1) or hold_lock()

    def crash_first():
        # A crash: the loop stops without releasing the lock.
        first.release = lambda: None
        stop_first.set()

    def run(scheduler, stop):
        with ctx.app_context():
            scheduler.run(stop)

    threads = [
        threading.Thread(target=run, args=(first, stop_first)),
        threading.Thread(target=run, args=(second, stop_second)),
    ]
    threads[0].start()
    wait_for(lambda: len(queued_items()) == 20, "the leader dispatches every monitor")
    threads[1].start()
    wait_for(lambda: len(standby_tries) >= 3, "the standby asks for the lock")
    assert first.is_leader and not second.is_leader
    crash_first()
    threads[0].join()
    # The crashed leader's lock expires by itself (-2: already gone), at most its TTL on.
    ttl = conn.pttl(sched.KEY_LEADER)
    assert ttl == -2 or 0 < ttl <= 3000
    wait_for(lambda: second.is_leader, "the standby takes over")
    stop_second.set()
    threads[1].join()
    assert second.is_leader is False  # it released the lock when stopping
    assert conn.get(sched.KEY_LEADER) is None
    slots = [(kind, sid, planned) for kind, sid, planned, *_ in queued_items()]
    # All dispatched, no slot twice. A monitor may also reach its next slot meanwhile: its
    # first check comes at once, the next at its phase, which may be any moment of the hour.
    assert {sid for _, sid, _ in slots} == set(ids)
    assert len(slots) == len(set(slots))


def test_an_interval_cron_job_keeps_its_rhythm_and_catches_up_once(ctx):
    job_id = add_cron(cron_expr=None, interval_sec=600)
    job = db.session.get(CronJob, job_id)
    first = due(f"c:{job_id}")
    assert first == from_ms(to_ms(job.created_at) + 600_000)
    assert redis_client.conn.hget(sched.KEY_SPEC, f"c:{job_id}") == b'{"i": 600}'
    # Rebuilt after an hour without Redis: one run now, the five skipped slots counted.
    now = datetime.now(UTC)
    job.last_run_at = now - timedelta(hours=1)
    db.session.commit()
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.rebuild(now)
    scheduler.tick(now)
    [(kind, sid, planned, missed, trigger)] = queued_items()
    assert (kind, sid, trigger, missed) == ("c", job_id, "schedule", 5)
    assert planned == to_ms(job.last_run_at) + 600_000
    assert due(f"c:{job_id}") == from_ms(planned + 6 * 600_000)


def test_an_interval_cron_job_stops_at_its_expiry(ctx):
    soon = datetime.now(UTC) + timedelta(minutes=15)
    job_id = add_cron(cron_expr=None, interval_sec=600, expires_at=soon)
    spec = json.loads(redis_client.conn.hget(sched.KEY_SPEC, f"c:{job_id}"))
    assert spec == {"i": 600, "x": to_ms(soon)}
    planned = to_ms(due(f"c:{job_id}"))
    # The slot after the first, 20 minutes in, is past the expiry: the job is dropped.
    assert sched._next_due(spec, planned, from_ms(planned)) == (None, 0)


# --- phases: monitors created or overdue together are spread, and keep their second --------


def insert_monitors(count: int, interval_sec: int = 60) -> list[int]:
    """``count`` monitors created in one transaction, as a bulk import or a script does."""
    rows = [
        {
            "kind": "http",
            "name": f"bulk {n}",
            "slug": f"bulk-{n}-{time.monotonic_ns()}",
            "url": "http://127.0.0.1:9/",
            "interval_sec": interval_sec,
            "headers": {},
            "description": "",
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(Monitor), rows)
    db.session.commit()
    return list(db.session.execute(sa.select(Monitor.id).order_by(Monitor.id)).scalars())


def due_scores() -> dict[str, int]:
    return {
        m.decode(): int(s)
        for m, s in redis_client.conn.zrange(sched.KEY_DUE, 0, -1, withscores=True)
    }


def busiest_second(scores) -> int:
    return max(Counter(ms // 1000 for ms in scores).values())


def test_monitors_created_together_are_spread_over_the_interval(ctx):
    ids = insert_monitors(600)
    now = datetime.now(UTC)
    Scheduler(conn=redis_client.conn).rebuild(now)
    scores = due_scores()
    assert len(scores) == 600
    assert all(to_ms(now) <= score < to_ms(now) + 60_000 for score in scores.values())
    assert busiest_second(scores.values()) <= 2 * 600 / 60
    for monitor_id in ids:
        spec = json.loads(redis_client.conn.hget(sched.KEY_SPEC, f"m:{monitor_id}"))
        assert spec == {"i": 60, "p": schedule.phase(monitor_id, 60_000)}


def test_after_an_emptied_redis_checked_monitors_keep_their_phase_and_stay_spread(ctx):
    ids = insert_monitors(600)
    scheduler = Scheduler(conn=redis_client.conn)
    start = datetime.now(UTC)
    scheduler.rebuild(start)
    # Run the schedule for an interval (the checks recorded as a worker records them), so
    # that every monitor is on its phase.
    for _ in range(2):
        scores = due_scores()
        scheduler.tick(from_ms(max(scores.values())))
        checked = {sid: from_ms(planned + 200) for _, sid, planned, *_ in queued_items()}
        for monitor_id, moment in checked.items():
            db.session.get(Monitor, monitor_id).last_checked_at = moment
        db.session.commit()
    before = due_scores()
    assert all(before[f"m:{i}"] % 60_000 == schedule.phase(i, 60_000) for i in ids)
    redis_client.conn.flushdb()
    scheduler.tick(from_ms(min(before.values()) - 1000))  # finds the set gone: rebuilds it
    assert due_scores() == before
    assert busiest_second(before.values()) <= 2 * 600 / 60


def test_an_edit_keeps_the_phase_a_new_interval_moves_it(ctx):
    monitor = monitors.create({"name": "phase", "url": "http://127.0.0.1:9/", "interval_sec": 60})
    member = f"m:{monitor.id}"
    checked = datetime.now(UTC)
    monitor.last_checked_at = checked
    db.session.commit()
    monitors.update(monitor.id, {"name": "phase renamed"})
    on_phase = to_ms(due(member))
    assert on_phase % 60_000 == schedule.phase(monitor.id, 60_000)
    assert to_ms(checked) < on_phase <= to_ms(checked) + 60_000
    monitors.update(monitor.id, {"timeout_ms": 3000})
    assert to_ms(due(member)) == on_phase
    monitors.update(monitor.id, {"interval_sec": 300})
    assert to_ms(due(member)) % 300_000 == schedule.phase(monitor.id, 300_000)
    monitors.update(monitor.id, {"interval_sec": 60})
    assert to_ms(due(member)) == on_phase  # the interval back: the phase back


def test_after_downtime_each_overdue_monitor_is_checked_once_spread_then_on_its_phase(ctx):
    ids = insert_monitors(600, interval_sec=300)
    now = datetime.now(UTC)
    db.session.execute(sa.update(Monitor).values(last_checked_at=now - timedelta(hours=1)))
    db.session.commit()
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.rebuild(now - timedelta(hours=1, seconds=-1))
    # Nothing ran for an hour: the due set still holds the slots of an hour ago. A scheduler
    # that takes the lead reconciles it, and the overdue checks are spread over a minute.
    redis_client.conn.delete(sched.KEY_LEADER)
    start = to_ms(datetime.now(UTC))
    assert scheduler.hold_lock()
    end = to_ms(datetime.now(UTC))
    scores = due_scores()
    assert all(start <= score < end + 60_000 for score in scores.values())
    assert busiest_second(scores.values()) <= 2 * 600 / 60
    scheduler.tick(from_ms(end + 60_000))
    slots = [(sid, planned) for _, sid, planned, *_ in queued_items()]
    assert sorted(sid for sid, _ in slots) == ids  # each once
    after = due_scores()
    assert all(after[f"m:{i}"] % 300_000 == schedule.phase(i, 300_000) for i in ids)
    assert all(end + 60_000 < after[f"m:{i}"] <= end + 360_000 for i in ids)


def test_a_monitor_created_alone_is_checked_at_once_many_together_are_spread(ctx):
    first = add_monitor(interval_sec=3600)
    assert due(f"m:{first}") <= datetime.now(UTC)
    others = [add_monitor(interval_sec=3600) for _ in range(20)]
    now_ms = to_ms(datetime.now(UTC))
    at_once = [m for m in others if to_ms(due(f"m:{m}")) <= now_ms]
    assert len(at_once) == sched.AT_ONCE - 1
    assert all(to_ms(due(f"m:{m}")) < now_ms + 60_000 for m in others)
