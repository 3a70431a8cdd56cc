"""Cron job executions in app/engine/state.py (apply_execution), on plain CronJob objects:
when a failure is announced, when a success announces the recovery, and when the job is
switched off for good."""

from app.engine import state
from app.models import CronJob


def job(**fields) -> CronJob:
    values = {
        "name": "Nightly export",
        "enabled": True,
        "notify_failure_after": 1,
        "auto_disable_after": 0,
        "consecutive_failures": 0,
        "disabled_reason": None,
    }
    values.update(fields)
    return CronJob(**values)


def run(row: CronJob, *outcomes: bool) -> list[list[str]]:
    return [state.apply_execution(row, outcome) for outcome in outcomes]


def test_a_failure_is_announced_once_when_the_count_reaches_the_threshold():
    row = job(notify_failure_after=3)
    assert run(row, False, False, False, False) == [[], [], ["failed"], []]
    assert row.consecutive_failures == 4


def test_the_first_success_after_an_announced_failure_is_a_recovery():
    row = job(notify_failure_after=2)
    assert run(row, False, False, True, True) == [[], ["failed"], ["recovered"], []]
    assert row.consecutive_failures == 0


def test_a_success_before_the_threshold_recovers_nothing_and_restarts_the_count():
    row = job(notify_failure_after=3)
    assert run(row, False, False, True) == [[], [], []]
    assert row.consecutive_failures == 0
    # The count starts again: two more failures are not yet three in a row.
    assert run(row, False, False) == [[], []]


def test_the_job_is_disabled_when_failures_reach_the_limit():
    row = job(notify_failure_after=1, auto_disable_after=3)
    assert run(row, False, False) == [["failed"], []]
    assert (row.enabled, row.disabled_reason) == (True, None)
    assert run(row, False) == [["disabled"]]
    assert row.enabled is False
    assert row.disabled_reason == "Disabled automatically after 3 consecutive failures."


def test_failing_and_disabled_on_the_same_execution_says_both():
    row = job(notify_failure_after=2, auto_disable_after=2)
    assert run(row, False, False) == [[], ["failed", "disabled"]]


def test_a_disabled_job_is_not_disabled_again():
    row = job(enabled=False, auto_disable_after=1, consecutive_failures=5)
    assert run(row, False) == [[]]
    assert row.disabled_reason is None


def test_without_a_limit_the_job_is_never_disabled():
    row = job(auto_disable_after=0)
    assert run(row, *[False] * 50)[-1] == []
    assert row.enabled is True
