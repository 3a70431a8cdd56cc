"""The common ping on PostgreSQL (pings._COMMON): one statement that writes, for the rows it
takes, exactly what the rules of app.engine.state write, and leaves every other row alone.

Each case pings two heartbeats in the same state at the same moment: one through the
statement, one the usual way (the rules in Python, in the session), and compares what the
two pings left behind.
"""

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DailyRollup, Monitor, Ping
from app.models.types import utcnow
from app.services import monitors, pings

NOW = utcnow().replace(microsecond=0)
LIMIT = 60

# Columns that differ between the twins whatever the pings do.
_OWN = {"id", "uuid", "name", "slug", "code", "push_token", "created_at", "updated_at"}


# The statement is PostgreSQL's: these tests run on it alone.
pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("UPCRON_TEST_DATABASE_URL"), reason="needs UPCRON_TEST_DATABASE_URL"
    ),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def _heartbeat(name: str, columns: dict, cron: bool) -> Monitor:
    schedule = {"cron_expr": "*/5 * * * *"} if cron else {"period_sec": 3600}
    monitor = monitors.create({"kind": "heartbeat", "name": name, **schedule})
    db.session.execute(sa.update(Monitor).where(Monitor.id == monitor.id).values(**columns))
    db.session.commit()
    return monitor


def _twins(columns: dict, cron: bool = False) -> tuple[Monitor, Monitor]:
    return _heartbeat("via statement", columns, cron), _heartbeat("usual way", columns, cron)


def _pending(code: str, kind: str = "success", rid=None, duration_ms=None) -> pings._Ping:
    values = {
        "kind": kind,
        "exit_status": None,
        "method": "GET",
        "remote_addr": "127.0.0.1",
        "user_agent": "curl/8.5.0",
        "body": "done",
        "body_size": 4,
        "duration_ms": duration_ms,
    }
    return pings._Ping(code, kind, None, values, NOW, LIMIT, rid=rid)


def _by_statement(pending: pings._Ping) -> list:
    """Write ``pending`` as the writer writes common pings; the pings it left."""
    writer = pings._writer(os.getpid(), db.engine.url)
    connection = writer.connection or writer._connect(db.engine)
    return writer._write_common(connection.dbapi_connection, [pending])


def _usual_way(pending: pings._Ping) -> None:
    with pings._InSession() as runner:
        assert pings._apply(runner, pending) is not None
        runner.commit()


def _left(monitor_id: int) -> tuple[dict, list, list]:
    """The heartbeat's row, its pings and its rollups, without what is its own anyway."""
    db.session.remove()
    row = db.session.execute(sa.select(Monitor.__table__).where(Monitor.id == monitor_id)).one()
    state = {k: v for k, v in row._mapping.items() if k not in _OWN}
    stored = db.session.execute(
        sa.select(Ping.__table__).where(Ping.monitor_id == monitor_id)
    ).all()
    rollups = db.session.execute(
        sa.select(DailyRollup.__table__).where(DailyRollup.subject_id == monitor_id)
    ).all()
    return (
        state,
        [{k: v for k, v in p._mapping.items() if k not in ("id", "monitor_id")} for p in stored],
        [{k: v for k, v in r._mapping.items() if k not in ("id", "subject_id")} for r in rollups],
    )


UP = {"state": "up", "state_changed_at": NOW - timedelta(days=1)}
PINGED = {**UP, "last_ping_at": NOW - timedelta(hours=1)}
BOUND = {"rate_since": NOW - timedelta(minutes=5), "rate_count": 3}

TAKEN = {
    "up, pinged an hour ago": {**PINGED, **BOUND},
    "pinged this very moment": {**UP, **BOUND, "last_ping_at": NOW},
    "an error kept from before": {**PINGED, **BOUND, "last_error": "The job reported a failure."},
    "a duration and a run id kept from before": {
        **PINGED,
        **BOUND,
        "last_duration_ms": 1234,
        "last_start_rid": "123e4567-e89b-12d3-a456-426614174000",
    },
    "one under the limit": {**PINGED, "rate_since": NOW - timedelta(minutes=1), "rate_count": 59},
    "resumable by hand only, not paused": {**PINGED, **BOUND, "manual_resume": True},
    "with a minimum run time": {**PINGED, **BOUND, "min_run_sec": 30},
    "with a maximum run time": {**PINGED, **BOUND, "max_run_sec": 600},
}


@pytest.mark.parametrize("cron", [False, True], ids=["period", "cron"])
@pytest.mark.parametrize("columns", TAKEN.values(), ids=TAKEN.keys())
def test_the_statement_writes_what_the_rules_write(ctx, columns, cron):
    by_statement, usual = _twins(columns, cron)
    assert _by_statement(_pending(by_statement.code)) == []
    _usual_way(_pending(usual.code))
    state, stored, rollups = _left(by_statement.id)
    assert (state, stored, rollups) == _left(usual.id)
    assert (state["last_ping_at"], state["state"], len(stored), rollups[0]["checks"]) == (
        NOW,
        "up",
        1,
        1,
    )


def test_a_day_already_counted_counts_one_more(ctx):
    by_statement, usual = _twins({**PINGED, **BOUND})
    for monitor in (by_statement, usual):
        rollup = {"subject_type": "monitor", "subject_id": monitor.id, "day": NOW.date()}
        db.session.add(DailyRollup(**rollup, checks=7, failures=2, downtime_sec=60))
    db.session.commit()
    assert _by_statement(_pending(by_statement.code)) == []
    _usual_way(_pending(usual.code))
    assert _left(by_statement.id) == _left(usual.id)
    assert _left(by_statement.id)[2][0]["checks"] == 8


LEFT = {
    "new, never pinged": {},
    "late": {**PINGED, **BOUND, "state": "late"},
    "down": {**PINGED, **BOUND, "state": "down"},
    "paused": {**PINGED, **BOUND, "paused": True, "state": "paused"},
    "a run in progress": {**PINGED, **BOUND, "last_start_at": NOW - timedelta(minutes=1)},
    "pinged later than this ping": {**UP, **BOUND, "last_ping_at": NOW + timedelta(seconds=1)},
    "counted within the minute": {**PINGED, "rate_since": NOW - timedelta(seconds=30)},
    "at the limit": {**PINGED, "rate_since": NOW - timedelta(minutes=5), "rate_count": 60},
    "never counted": {**PINGED, "rate_since": None},
}


@pytest.mark.parametrize("columns", LEFT.values(), ids=LEFT.keys())
def test_other_heartbeats_are_left_to_the_rules(ctx, columns):
    monitor = _heartbeat("left", columns, cron=False)
    before = _left(monitor.id)
    pending = _pending(monitor.code)
    assert _by_statement(pending) == [pending]
    assert pending.outcome is None
    assert _left(monitor.id) == before


@pytest.mark.parametrize(
    "pending",
    [
        _pending("x", kind="start"),
        _pending("x", kind="fail"),
        _pending("x", kind="log"),
        _pending("x", rid="123e4567-e89b-12d3-a456-426614174000"),
        _pending("x", duration_ms=1500),
    ],
    ids=["start", "fail", "log", "with a run id", "with a duration"],
)
def test_other_pings_are_left_to_the_rules(ctx, pending):
    monitor = _heartbeat("left", {**PINGED, **BOUND}, cron=False)
    before = _left(monitor.id)
    pending.code = monitor.code
    assert _by_statement(pending) == [pending]
    assert _left(monitor.id) == before


def test_an_unknown_code_is_left_to_the_rules(ctx):
    pending = _pending("00000000-0000-4000-8000-000000000000")
    assert _by_statement(pending) == [pending]


def test_with_the_limit_off_the_count_is_kept_all_the_same(ctx):
    by_statement, usual = _twins({**PINGED, "rate_since": None, "rate_count": 0})
    for monitor in (by_statement, usual):
        pending = _pending(monitor.code)
        pending.rate_limit = 0
        if monitor is by_statement:
            assert _by_statement(pending) == []
        else:
            _usual_way(pending)
    assert _left(by_statement.id) == _left(usual.id)
    assert _left(by_statement.id)[0]["rate_count"] == 1


def test_a_common_ping_that_cannot_be_stored_fails_alone(ctx):
    """The common pings of a batch share one transaction: one that fails undoes it, and the
    batch is written again the usual way, each ping on its own account."""
    first = _heartbeat("first", {**PINGED, **BOUND}, cron=False)
    second = _heartbeat("second", {**PINGED, **BOUND}, cron=False)
    bad = _pending(first.code)
    bad.values["method"] = None  # breaks the ping's NOT NULL column
    batch = [_pending(first.code), bad, _pending(second.code)]
    pings._writer(os.getpid(), db.engine.url)._write(list(batch), db.engine)
    good, _, other = batch
    assert "method" in str(bad.error) and bad.outcome is None
    assert (good.error, other.error) == (None, None)
    assert (good.outcome[0].id, other.outcome[0].id) == (first.id, second.id)
    assert [len(_left(m.id)[1]) for m in (first, second)] == [1, 1]


def test_a_lone_common_ping_that_fails_leaves_the_writer_ready(ctx):
    monitor = _heartbeat("lone", {**PINGED, **BOUND}, cron=False)
    bad = _pending(monitor.code)
    bad.values["method"] = None
    writer = pings._writer(os.getpid(), db.engine.url)
    writer._write([bad], db.engine)
    assert "method" in str(bad.error) and _left(monitor.id)[1] == []
    good = _pending(monitor.code)
    writer._write([good], db.engine)
    assert good.error is None and good.outcome[0].id == monitor.id
    assert len(_left(monitor.id)[1]) == 1


def test_a_heartbeat_the_session_loaded_shows_the_common_ping(ctx):
    """As after any ping (record_ping): the object the request loaded is brought up to date."""
    monitor = _heartbeat("loaded", {**PINGED, **BOUND, "last_error": "old"}, cron=False)
    loaded = db.session.get(Monitor, monitor.id)
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"", now=NOW)
    assert (loaded.last_ping_at, loaded.last_error, loaded.rate_count) == (NOW, None, 4)
    assert _left(monitor.id)[0]["rate_count"] == 4
