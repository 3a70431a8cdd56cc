"""Heartbeat rules in app/engine/state.py, on plain Monitor objects with a controlled clock."""

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.engine import state
from app.models import Monitor

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def heartbeat(**fields) -> Monitor:
    values = {
        "kind": "heartbeat",
        "name": "Backup",
        "state": "new",
        "paused": False,
        "manual_resume": False,
        "period_sec": 3600,
        "cron_expr": None,
        "timezone": "UTC",
        "grace_sec": 300,
        "max_run_sec": None,
        "min_run_sec": None,
        "last_ping_at": None,
        "last_start_at": None,
        "last_duration_ms": None,
        "last_error": None,
        "consecutive_failures": 0,
        "consecutive_successes": 0,
    }
    values.update(fields)
    return Monitor(**values)


def test_a_new_heartbeat_has_no_deadline_until_its_first_ping():
    monitor = heartbeat()
    assert state.expected_ping_at(monitor) is None
    assert state.heartbeat_deadline(monitor) is None
    assert state.apply_deadline(monitor, T0 + timedelta(days=30)) == []
    assert monitor.state == "new"


def test_success_ping_makes_it_up_and_sets_the_expected_time():
    monitor = heartbeat()
    assert state.apply_ping(monitor, "success", None, T0) == []
    assert (monitor.state, monitor.last_ping_at, monitor.state_changed_at) == ("up", T0, T0)
    assert state.expected_ping_at(monitor) == T0 + timedelta(hours=1)
    assert state.heartbeat_deadline(monitor) == T0 + timedelta(hours=1)


def test_late_at_the_expected_time_then_down_when_the_grace_ends():
    monitor = heartbeat(state="up", last_ping_at=T0)
    expected = T0 + timedelta(hours=1)
    assert state.apply_deadline(monitor, expected - timedelta(milliseconds=1)) == []
    assert state.apply_deadline(monitor, expected) == ["late"]
    assert monitor.state == "late"
    assert state.heartbeat_deadline(monitor) == expected + 5 * MINUTE
    assert state.apply_deadline(monitor, expected + 5 * MINUTE - timedelta(seconds=1)) == []
    assert state.apply_deadline(monitor, expected + 5 * MINUTE) == ["down"]
    assert monitor.state == "down"
    assert monitor.last_error == (
        "No ping since 2026-03-10 12:00:00 UTC: one was expected at 2026-03-10 13:00:00 UTC, "
        "and the grace period of 5 minutes has passed."
    )
    assert state.heartbeat_deadline(monitor) is None
    assert state.apply_deadline(monitor, expected + timedelta(hours=5)) == []


def test_a_long_silence_goes_straight_to_down():
    monitor = heartbeat(state="up", last_ping_at=T0)
    assert state.apply_deadline(monitor, T0 + timedelta(days=1)) == ["down"]


def test_a_success_ping_recovers_from_late_quietly_and_from_down_with_an_event():
    late = heartbeat(state="late", last_ping_at=T0)
    assert state.apply_ping(late, "success", None, T0 + 61 * MINUTE) == []
    assert late.state == "up"
    down = heartbeat(state="down", last_ping_at=T0, last_error="silence")
    assert state.apply_ping(down, "success", None, T0 + 2 * timedelta(hours=1)) == ["up"]
    assert (down.state, down.last_error) == ("up", None)


@pytest.mark.parametrize(
    ("exit_status", "reason"),
    [(None, "The job reported a failure."), (3, "The job reported a failure (exit status 3).")],
)
def test_a_failure_ping_is_down_once(exit_status, reason):
    monitor = heartbeat(state="up", last_ping_at=T0)
    assert state.apply_ping(monitor, "fail", exit_status, T0 + MINUTE) == ["down"]
    assert (monitor.state, monitor.last_error, monitor.last_ping_at) == (
        "down",
        reason,
        T0 + MINUTE,
    )
    assert state.apply_ping(monitor, "fail", exit_status, T0 + 2 * MINUTE) == []


def test_start_and_success_time_the_run():
    monitor = heartbeat(state="up", last_ping_at=T0)
    assert state.apply_ping(monitor, "start", None, T0 + MINUTE) == []
    assert (monitor.last_start_at, monitor.last_ping_at) == (T0 + MINUTE, T0)
    assert state.run_duration_ms(monitor, T0 + MINUTE + timedelta(seconds=2.5)) == 2500
    state.apply_ping(monitor, "success", None, T0 + MINUTE + timedelta(seconds=2.5))
    assert (monitor.last_duration_ms, monitor.last_start_at) == (2500, None)
    # Without a start ping the duration is unknown, not the previous run's.
    state.apply_ping(monitor, "success", None, T0 + 2 * MINUTE)
    assert monitor.last_duration_ms is None


def test_a_run_longer_than_its_bound_is_down():
    monitor = heartbeat(state="up", last_ping_at=T0, max_run_sec=600)
    state.apply_ping(monitor, "start", None, T0 + MINUTE)
    assert state.heartbeat_deadline(monitor) == T0 + 11 * MINUTE  # before the expected ping
    assert state.apply_deadline(monitor, T0 + 11 * MINUTE - timedelta(seconds=1)) == []
    assert state.apply_deadline(monitor, T0 + 11 * MINUTE) == ["down"]
    assert monitor.last_error == (
        "The run started at 2026-03-10 12:01:00 UTC did not finish within 10 minutes."
    )


def test_a_new_heartbeat_that_starts_a_run_is_held_to_the_bound():
    monitor = heartbeat(max_run_sec=90)
    state.apply_ping(monitor, "start", None, T0)
    assert state.heartbeat_deadline(monitor) == T0 + timedelta(seconds=90)
    assert state.apply_deadline(monitor, T0 + timedelta(seconds=90)) == ["down"]


def test_a_run_shorter_than_the_minimum_is_a_failure():
    monitor = heartbeat(state="up", last_ping_at=T0, min_run_sec=30)
    state.apply_ping(monitor, "start", None, T0)
    assert state.apply_ping(monitor, "success", None, T0 + timedelta(seconds=4)) == ["down"]
    assert monitor.last_error == (
        "The run finished after 4 s, sooner than the minimum of 30 seconds."
    )
    state.apply_ping(monitor, "start", None, T0 + MINUTE)
    assert state.apply_ping(monitor, "success", None, T0 + 2 * MINUTE) == ["up"]


def test_a_log_ping_changes_nothing():
    monitor = heartbeat(state="late", last_ping_at=T0, paused=False)
    assert state.apply_ping(monitor, "log", None, T0 + timedelta(hours=2)) == []
    assert (monitor.state, monitor.last_ping_at) == ("late", T0)


def test_a_ping_resumes_a_paused_heartbeat_unless_resume_is_manual():
    paused = heartbeat(state="paused", paused=True, last_ping_at=T0)
    assert state.apply_ping(paused, "success", None, T0 + MINUTE) == []
    assert (paused.paused, paused.state) == (False, "up")

    manual = heartbeat(state="paused", paused=True, manual_resume=True, last_ping_at=T0)
    assert state.apply_ping(manual, "success", None, T0 + MINUTE) == []
    assert (manual.paused, manual.state, manual.last_ping_at) == (True, "paused", T0)
    assert state.heartbeat_deadline(manual) is None


def test_a_start_ping_resumes_as_new_with_the_run_in_progress():
    paused = heartbeat(state="paused", paused=True, max_run_sec=60, last_ping_at=T0)
    state.apply_ping(paused, "start", None, T0 + MINUTE)
    assert (paused.paused, paused.state, paused.last_start_at) == (False, "new", T0 + MINUTE)
    assert state.heartbeat_deadline(paused) == T0 + 2 * MINUTE


def test_resume_waits_for_the_next_ping():
    monitor = heartbeat(state="paused", paused=True, last_ping_at=T0, last_start_at=T0)
    state.resume(monitor, T0 + timedelta(days=2))
    assert (monitor.state, monitor.last_start_at) == ("new", None)
    assert state.heartbeat_deadline(monitor) is None


def test_reschedule_brings_a_late_heartbeat_back_when_no_longer_expected():
    monitor = heartbeat(state="late", last_ping_at=T0, period_sec=3600)
    monitor.period_sec = 7200
    state.reschedule(monitor, T0 + 61 * MINUTE)
    assert (monitor.state, monitor.state_changed_at) == ("up", T0 + 61 * MINUTE)
    down = heartbeat(state="down", last_ping_at=T0, period_sec=7200)
    state.reschedule(down, T0 + 61 * MINUTE)
    assert down.state == "down"


def test_cron_expectation_follows_the_zone():
    monitor = heartbeat(
        state="up", period_sec=None, cron_expr="0 9 * * 1-5", timezone="America/New_York"
    )
    monitor.last_ping_at = datetime(2026, 3, 6, 14, 0, 5, tzinfo=UTC)  # Friday 09:00:05 EST
    # The next weekday is Monday, after the US change to EDT (UTC-4).
    assert state.expected_ping_at(monitor) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


def test_cron_expectation_in_a_skipped_spring_hour_is_the_end_of_the_gap():
    # Europe/Berlin skips 02:00-03:00 on 2026-03-29: the 02:30 slot is due at 03:00 CEST.
    monitor = heartbeat(
        state="up", period_sec=None, cron_expr="30 2 * * *", timezone="Europe/Berlin"
    )
    monitor.last_ping_at = datetime(2026, 3, 28, 1, 30, 10, tzinfo=UTC)  # 02:30:10 CET
    assert state.expected_ping_at(monitor) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    monitor.last_ping_at = datetime(2026, 3, 29, 1, 0, 10, tzinfo=UTC)
    assert state.expected_ping_at(monitor) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


def test_cron_expectation_in_a_repeated_autumn_hour_is_the_first_occurrence_only():
    # Europe/Berlin repeats 02:00-03:00 on 2026-10-25: 02:30 CEST, then 02:30 CET.
    monitor = heartbeat(
        state="up", period_sec=None, cron_expr="30 2 * * *", timezone="Europe/Berlin"
    )
    monitor.last_ping_at = datetime(2026, 10, 24, 0, 30, 10, tzinfo=UTC)
    assert state.expected_ping_at(monitor) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # Pinged at the first 02:30: the repeated 02:30 an hour later is not expected too.
    monitor.last_ping_at = datetime(2026, 10, 25, 0, 30, 10, tzinfo=UTC)
    assert state.expected_ping_at(monitor) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_a_run_of_exactly_the_minimum_is_a_success():
    monitor = heartbeat(state="up", last_ping_at=T0, min_run_sec=30)
    state.apply_ping(monitor, "start", None, T0)
    assert state.apply_ping(monitor, "success", None, T0 + timedelta(seconds=30)) == []
    assert (monitor.state, monitor.last_duration_ms) == ("up", 30_000)
    state.apply_ping(monitor, "start", None, T0 + MINUTE)
    ended = T0 + MINUTE + timedelta(seconds=29.999)
    assert state.apply_ping(monitor, "success", None, ended) == ["down"]  # a millisecond short


def test_a_start_ping_later_than_its_end_gives_a_run_of_zero_not_a_negative_one():
    """Two hosts with clocks apart: the start ping's time after the success ping's."""
    monitor = heartbeat(state="up", last_ping_at=T0, last_start_at=T0 + MINUTE)
    assert state.run_duration_ms(monitor, T0 + timedelta(seconds=30)) == 0
    state.apply_ping(monitor, "success", None, T0 + timedelta(seconds=30))
    assert monitor.last_duration_ms == 0


def test_reschedule_at_the_new_expected_moment_leaves_it_late():
    monitor = heartbeat(state="late", last_ping_at=T0, period_sec=3600)
    monitor.period_sec = 7200
    state.reschedule(monitor, T0 + 120 * MINUTE)  # exactly when the new schedule expects it
    assert monitor.state == "late"
    state.reschedule(monitor, T0 + 120 * MINUTE - timedelta(seconds=1))
    assert monitor.state == "up"


def test_state_changes_record_their_moment():
    monitor = heartbeat(state="up", last_ping_at=T0)
    expected = T0 + timedelta(hours=1)
    state.apply_deadline(monitor, expected)
    assert (monitor.state, monitor.state_changed_at) == ("late", expected)
    state.apply_deadline(monitor, expected + 5 * MINUTE)
    assert (monitor.state, monitor.state_changed_at) == ("down", expected + 5 * MINUTE)
    failed = heartbeat(state="up", last_ping_at=T0)
    state.apply_ping(failed, "fail", None, T0 + MINUTE)
    assert failed.state_changed_at == T0 + MINUTE
    short = heartbeat(state="up", last_ping_at=T0, min_run_sec=30, last_start_at=T0)
    state.apply_ping(short, "success", None, T0 + timedelta(seconds=1))
    assert (short.state, short.state_changed_at) == ("down", T0 + timedelta(seconds=1))
    overrun = heartbeat(state="up", last_ping_at=T0, max_run_sec=60, last_start_at=T0)
    state.apply_deadline(overrun, T0 + MINUTE)
    assert (overrun.state, overrun.state_changed_at) == ("down", T0 + MINUTE)


def test_a_start_ping_that_resumes_records_the_moment():
    paused = heartbeat(state="paused", paused=True, last_ping_at=T0, last_start_rid="old")
    state.apply_ping(paused, "start", None, T0 + MINUTE)
    assert (paused.state, paused.state_changed_at) == ("new", T0 + MINUTE)
    resumed = heartbeat(state="paused", paused=True, last_start_at=T0, last_start_rid="old")
    state.resume(resumed, T0 + MINUTE)
    assert (resumed.last_start_at, resumed.last_start_rid) == (None, None)


def test_a_paused_heartbeat_has_no_deadline_whatever_its_state_says():
    monitor = heartbeat(state="up", paused=True, last_ping_at=T0, max_run_sec=60, last_start_at=T0)
    assert state.heartbeat_deadline(monitor) is None
    assert state.apply_deadline(monitor, T0 + timedelta(days=1)) == []
    assert monitor.state == "up"


def test_a_run_has_a_deadline_only_when_started_and_bounded():
    assert state.run_deadline(heartbeat(max_run_sec=60)) is None
    assert state.run_deadline(heartbeat(last_start_at=T0)) is None
    assert state.run_deadline(heartbeat(last_start_at=T0, max_run_sec=60)) == T0 + MINUTE


def test_run_ids_pair_a_start_with_its_own_end():
    monitor = heartbeat(state="up", last_ping_at=T0)
    state.apply_ping(monitor, "start", None, T0, rid="a")
    assert monitor.last_start_rid == "a"
    # Another run's end: no duration, and run "a" is still going.
    state.apply_ping(monitor, "success", None, T0 + 10 * MINUTE, rid="b")
    assert (monitor.last_duration_ms, monitor.last_start_at) == (None, T0)
    state.apply_ping(monitor, "success", None, T0 + 20 * MINUTE, rid="a")
    assert monitor.last_duration_ms == 20 * 60 * 1000
    assert (monitor.last_start_at, monitor.last_start_rid) == (None, None)


@pytest.mark.parametrize(("kind", "rid"), [("fail", "b"), ("success", None)])
def test_a_failure_or_an_end_without_run_id_ends_the_run_in_progress(kind, rid):
    monitor = heartbeat(state="up", last_ping_at=T0)
    state.apply_ping(monitor, "start", None, T0, rid="a")
    state.apply_ping(monitor, kind, None, T0 + MINUTE, rid=rid)
    assert (monitor.last_start_at, monitor.last_start_rid, monitor.last_duration_ms) == (
        None,
        None,
        None,
    )


def test_a_duration_the_job_reports_is_taken_instead_of_the_measured_one():
    monitor = heartbeat(state="up", last_ping_at=T0, min_run_sec=10)
    state.apply_ping(monitor, "start", None, T0)
    assert state.apply_ping(monitor, "success", None, T0 + MINUTE, duration_ms=4000) == ["down"]
    assert monitor.last_duration_ms == 4000


def test_reasons_name_the_moment_in_utc_whatever_the_host_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        start = datetime(2026, 3, 10, 14, 0, tzinfo=timezone(timedelta(hours=2)))
        monitor = heartbeat(state="up", last_ping_at=T0, max_run_sec=1, last_start_at=start)
        state.apply_deadline(monitor, start + timedelta(seconds=1))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert monitor.last_error == (
        "The run started at 2026-03-10 12:00:00 UTC did not finish within 1 second."
    )


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (2, "2 seconds"), (90, "90 seconds"), (60, "1 minute"), (7200, "2 hours")],
)
def test_durations_in_reasons_read_as_english(seconds, words):
    monitor = heartbeat(state="up", last_ping_at=T0, max_run_sec=seconds, last_start_at=T0)
    state.apply_deadline(monitor, T0 + timedelta(seconds=seconds))
    assert monitor.last_error.endswith(f"did not finish within {words}.")


def test_a_paused_heartbeat_set_to_resume_by_hand_ignores_pings_whatever_its_state_says():
    monitor = heartbeat(state="late", paused=True, manual_resume=True, last_ping_at=T0)
    assert state.apply_ping(monitor, "success", None, T0 + MINUTE) == []
    assert (monitor.paused, monitor.state, monitor.last_ping_at) == (True, "late", T0)
