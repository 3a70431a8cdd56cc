"""State transitions: the rules that turn one check, execution, ping or passing deadline into
a new state, and the one rule for the health every surface shows of an item.

Pure functions on model rows; the caller holds the transaction. Each returns the events the
transition produced ("down", "up", "degraded", "late", "failed", "recovered", "disabled"),
which open and resolve incidents now and drive notifications.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app import durations
from app.engine import schedule
from app.models import CronJob, Monitor
from app.models.history import OK, PING_FAIL, PING_LOG, PING_START
from app.models.monitor import (
    KIND_HEARTBEAT,
    STATE_DEGRADED,
    STATE_DOWN,
    STATE_LATE,
    STATE_NEW,
    STATE_PAUSED,
    STATE_PENDING,
    STATE_UP,
)

EVENT_DOWN = "down"
EVENT_UP = "up"
EVENT_DEGRADED = "degraded"
EVENT_LATE = "late"
EVENT_FAILED = "failed"
EVENT_RECOVERED = "recovered"
EVENT_DISABLED = "disabled"


def apply_check(
    monitor: Monitor,
    success: bool,
    error: str | None,
    now: datetime,
    warning: str | None = None,
    warning_kind: str | None = None,
    maintenance: bool = False,
) -> list[str]:
    """Count a check result against the monitor's thresholds.

    A success with a ``warning`` (of ``warning_kind``) is a degraded answer: still a success.

    - pending → up on the first success, → degraded on the first degraded answer (a new
      monitor has no good state to protect from a blip, and "up" would hide the warning);
    - up or degraded → down after ``failure_threshold`` consecutive failures (down wins);
    - down → up after ``recovery_threshold`` consecutive successes, degraded or not: the
      outage is over, and a warning that persists makes it degraded by the count below;
    - up → degraded after ``failure_threshold`` consecutive degraded answers;
    - degraded → up after ``recovery_threshold`` consecutive clean answers.

    Under ``maintenance`` the counters move but the state does not: the first check after
    the window then finds them as they are and moves the state (with its alert) at once.
    """
    if monitor.paused or monitor.state == STATE_PAUSED:
        return []
    monitor.last_checked_at = now
    if not success:
        monitor.consecutive_failures += 1
        monitor.consecutive_successes = 0
        monitor.consecutive_warnings = 0
        monitor.consecutive_clean = 0
        monitor.last_error = error
        monitor.last_warning = None
        if maintenance:
            return []
        if monitor.state != STATE_DOWN and (
            monitor.consecutive_failures >= monitor.failure_threshold
        ):
            _set_state(monitor, STATE_DOWN, now)
            monitor.degraded_kind = None
            return [EVENT_DOWN]
        return []
    monitor.consecutive_successes += 1
    monitor.consecutive_failures = 0
    monitor.last_error = None
    monitor.last_warning = warning
    if warning:
        monitor.consecutive_warnings += 1
        monitor.consecutive_clean = 0
    else:
        monitor.consecutive_clean += 1
        monitor.consecutive_warnings = 0
    if maintenance:
        return []
    if monitor.state == STATE_PENDING:
        if warning:
            _degrade(monitor, warning_kind, now)
            return [EVENT_DEGRADED]
        _set_state(monitor, STATE_UP, now)
        return []
    if monitor.state == STATE_DOWN:
        if monitor.consecutive_successes >= monitor.recovery_threshold:
            _set_state(monitor, STATE_UP, now)
            return [EVENT_UP]
        return []
    if (
        monitor.state == STATE_UP
        and warning
        and monitor.consecutive_warnings >= monitor.failure_threshold
    ):
        _degrade(monitor, warning_kind, now)
        return [EVENT_DEGRADED]
    if monitor.state == STATE_DEGRADED and (
        monitor.consecutive_clean >= monitor.recovery_threshold
    ):
        _set_state(monitor, STATE_UP, now)
        return [EVENT_UP]
    return []


def _degrade(monitor: Monitor, warning_kind: str | None, now: datetime) -> None:
    _set_state(monitor, STATE_DEGRADED, now)
    monitor.degraded_kind = warning_kind


def apply_execution(job: CronJob, success: bool) -> list[str]:
    """Count an execution: "failed" when failures reach the job's notify threshold,
    "recovered" on the first success after that, "disabled" at ``auto_disable_after``."""
    if success:
        events = [EVENT_RECOVERED] if job.consecutive_failures >= job.notify_failure_after else []
        job.consecutive_failures = 0
        return events
    job.consecutive_failures += 1
    events = []
    if job.consecutive_failures == job.notify_failure_after:
        events.append(EVENT_FAILED)
    if (
        job.enabled
        and job.auto_disable_after
        and (job.consecutive_failures >= job.auto_disable_after)
    ):
        job.enabled = False
        job.disabled_reason = f"{AUTO_DISABLED} {job.consecutive_failures} consecutive failures."
        events.append(EVENT_DISABLED)
    return events


# --- displayed health ------------------------------------------------------------------------
#
# What the dashboard, the lists, the status page and the facades show of an item, decided
# here once: up, degraded, late, down, pending (no result yet) or paused. A monitor shows its
# state, a new heartbeat pending like a monitor before its first check. A cron job is up after
# a success; failing, it is degraded until its failures reach the alert threshold
# (``notify_failure_after``: the incident opens there) and down from then on. A disabled job is
# paused, unless it was switched off for failing (its ``disabled_reason`` says so): that one
# stays down, since what it calls is broken. ``health`` reads a loaded row; ``health_column``
# is the same rule as a SQL expression, for lists filtered and paged by health in SQL.

# How the reason apply_execution writes begins: the mark of a job disabled for failing.
AUTO_DISABLED = "Disabled automatically after"


def disabled_for_failing(job: CronJob) -> bool:
    """Whether the job is off because it kept failing, not because somebody switched it off
    (after it was, a changed threshold or a manual run does not change why it is off)."""
    return not job.enabled and (job.disabled_reason or "").startswith(AUTO_DISABLED)


def health(item: Monitor | CronJob) -> str:
    """The health to show of a monitor, heartbeat or cron job (see above)."""
    if isinstance(item, CronJob):
        if not item.enabled:
            return STATE_DOWN if disabled_for_failing(item) else STATE_PAUSED
        if item.last_outcome is None:
            return STATE_PENDING
        if item.last_outcome == OK:
            return STATE_UP
        failing_long = item.consecutive_failures >= item.notify_failure_after
        return STATE_DOWN if failing_long else STATE_DEGRADED
    if item.paused:
        return STATE_PAUSED
    return STATE_PENDING if item.state == STATE_NEW else item.state  # paused reads as itself


def health_column(model: type[Monitor] | type[CronJob]) -> sa.ColumnElement[str]:
    """``health`` as a SQL expression over ``model``'s columns (tested to agree with it)."""
    if model is CronJob:
        return sa.case(
            (
                sa.and_(
                    sa.not_(CronJob.enabled), CronJob.disabled_reason.startswith(AUTO_DISABLED)
                ),
                sa.literal(STATE_DOWN),
            ),
            (sa.not_(CronJob.enabled), sa.literal(STATE_PAUSED)),
            (CronJob.last_outcome.is_(None), sa.literal(STATE_PENDING)),
            (CronJob.last_outcome == OK, sa.literal(STATE_UP)),
            (
                CronJob.consecutive_failures >= CronJob.notify_failure_after,
                sa.literal(STATE_DOWN),
            ),
            else_=sa.literal(STATE_DEGRADED),
        )
    return sa.case(
        (Monitor.paused, sa.literal(STATE_PAUSED)),
        (Monitor.state == STATE_NEW, sa.literal(STATE_PENDING)),
        else_=Monitor.state,
    )


def pause(monitor: Monitor, now: datetime) -> None:
    """Stop checking, or stop expecting pings, until resumed."""
    monitor.paused = True
    _set_state(monitor, STATE_PAUSED, now)


def resume(monitor: Monitor, now: datetime) -> None:
    """Resume as if new: counters restart so old failures do not count again, and a heartbeat
    waits for its next ping before any schedule applies (a run begun before the pause is
    forgotten)."""
    monitor.paused = False
    monitor.consecutive_failures = 0
    monitor.consecutive_successes = 0
    monitor.consecutive_warnings = 0
    monitor.consecutive_clean = 0
    monitor.last_warning = None
    monitor.degraded_kind = None
    if monitor.kind == KIND_HEARTBEAT:
        monitor.last_start_at = None
        monitor.last_start_rid = None
        _set_state(monitor, STATE_NEW, now)
    else:
        _set_state(monitor, STATE_PENDING, now)


# --- heartbeats ------------------------------------------------------------------------------
#
# A heartbeat has up to two clocks. The schedule: a ping is expected a period (or at the next
# cron slot) after the last success or failure ping; past that it is late, and past the grace
# it is down. The run: after a start ping, a run that has not finished within max_run_sec is
# down. A new (never pinged, or resumed) heartbeat has no schedule deadline yet, so setting
# one up never alarms before its job has run once. These functions take a Monitor or any row
# carrying the heartbeat columns.


def expected_ping_at(monitor: Monitor) -> datetime | None:
    """When the next ping is due by the schedule: a period, or the next cron slot in the
    monitor's zone (DST as for cron jobs), after the last ping; None before the first."""
    if monitor.last_ping_at is None:
        return None
    if monitor.cron_expr:
        return schedule.next_run(monitor.cron_expr, monitor.timezone, monitor.last_ping_at)
    if monitor.period_sec:
        return monitor.last_ping_at + timedelta(seconds=monitor.period_sec)
    return None


def run_deadline(monitor: Monitor) -> datetime | None:
    """When a started run becomes too long; None without a run in progress or a bound."""
    if monitor.last_start_at is None or not monitor.max_run_sec:
        return None
    return monitor.last_start_at + timedelta(seconds=monitor.max_run_sec)


def heartbeat_deadline(monitor: Monitor) -> datetime | None:
    """The next moment at which the clock alone changes the heartbeat's state: up → late at
    the expected time, late → down when the grace ends, a started run → down at its bound.
    None when nothing can: paused, already down, or new without a run in progress."""
    if monitor.paused or monitor.state in (STATE_DOWN, STATE_PAUSED):
        return None
    deadlines = []
    if monitor.state in (STATE_UP, STATE_LATE) and (expected := expected_ping_at(monitor)):
        if monitor.state == STATE_UP:
            deadlines.append(expected)
        else:
            deadlines.append(expected + timedelta(seconds=monitor.grace_sec))
    if run := run_deadline(monitor):
        deadlines.append(run)
    return min(deadlines, default=None)


def apply_deadline(monitor: Monitor, now: datetime) -> list[str]:
    """Move a heartbeat whose deadline has passed by ``now`` to late or down.

    The caller passes the row as it is now, locked: a ping that arrived after the deadline
    was set has already moved it on, and then nothing happens here.
    """
    if monitor.paused or monitor.state in (STATE_DOWN, STATE_PAUSED):
        return []
    run = run_deadline(monitor)
    if run is not None and now >= run:
        # A run deadline exists only with a start and a bound.
        assert monitor.last_start_at is not None and monitor.max_run_sec is not None
        return _heartbeat_down(
            monitor,
            f"The run started at {_at(monitor.last_start_at)} did not finish within "
            f"{durations.exact(monitor.max_run_sec)}.",
            now,
        )
    if monitor.state not in (STATE_UP, STATE_LATE):
        return []
    expected = expected_ping_at(monitor)
    if expected is None:
        return []
    if now >= expected + timedelta(seconds=monitor.grace_sec):
        assert monitor.last_ping_at is not None  # nothing is expected before the first ping
        return _heartbeat_down(
            monitor,
            f"No ping since {_at(monitor.last_ping_at)}: one was expected at {_at(expected)}, "
            f"and the grace period of {durations.exact(monitor.grace_sec)} has passed.",
            now,
        )
    if now >= expected and monitor.state == STATE_UP:
        _set_state(monitor, STATE_LATE, now)
        return [EVENT_LATE]
    return []


def reschedule(monitor: Monitor, now: datetime) -> None:
    """After a schedule change: a late heartbeat the new schedule does not expect yet is up.

    Only late moves back: down has an incident, which only a ping resolves.
    """
    if monitor.state == STATE_LATE and (expected := expected_ping_at(monitor)) and now < expected:
        _set_state(monitor, STATE_UP, now)


def run_duration_ms(monitor: Monitor, now: datetime, rid: str | None = None) -> int | None:
    """How long the run in progress has taken by ``now``; None without a start ping, or
    when the ping's run id ``rid`` is not the start ping's (it ends another run)."""
    if monitor.last_start_at is None or monitor.last_start_rid != rid:
        return None
    return max(0, round((now - monitor.last_start_at).total_seconds() * 1000))


def apply_ping(
    monitor: Monitor,
    kind: str,
    exit_status: int | None,
    now: datetime,
    duration_ms: int | None = None,
    rid: str | None = None,
) -> list[str]:
    """Apply one ping (success, start, fail or log) to a heartbeat.

    A log ping changes nothing. Any other ping resumes a paused heartbeat, unless it is set to
    resume only by hand; then the ping is kept but changes nothing. A start ping begins a run.
    A success or failure ping ends it (its duration is the time since the start ping) and
    restarts the schedule; a failure, or a run shorter than min_run_sec, is down, and a
    success after down is up again. ``duration_ms``, when given, is the run's length as the
    job reported it, taken instead of the time since the start ping.

    Run ids (``rid``) pair a start with its end when runs overlap: a success with a run id
    other than the start's has no duration and leaves that run going (another run ended); a
    failure, or a success without a run id, ends the run in progress all the same.
    """
    if kind == PING_LOG:
        return []
    if monitor.paused or monitor.state == STATE_PAUSED:
        if monitor.manual_resume:
            return []
        resume(monitor, now)
    if kind == PING_START:
        monitor.last_start_at = now
        monitor.last_start_rid = rid
        return []
    ended = run_duration_ms(monitor, now, rid)
    duration = ended if duration_ms is None else duration_ms
    monitor.last_ping_at = now
    if ended is not None or kind == PING_FAIL or rid is None:
        monitor.last_start_at = None
        monitor.last_start_rid = None
    monitor.last_duration_ms = duration
    if kind == PING_FAIL:
        status = "" if exit_status is None else f" (exit status {exit_status})"
        return _heartbeat_down(monitor, f"The job reported a failure{status}.", now)
    if monitor.min_run_sec and duration is not None and duration < monitor.min_run_sec * 1000:
        return _heartbeat_down(
            monitor,
            f"The run finished after {duration / 1000:g} s, sooner than the minimum of "
            f"{durations.exact(monitor.min_run_sec)}.",
            now,
        )
    monitor.last_error = None
    previous = monitor.state
    if previous != STATE_UP:
        _set_state(monitor, STATE_UP, now)
    return [EVENT_UP] if previous == STATE_DOWN else []


def _heartbeat_down(monitor: Monitor, reason: str, now: datetime) -> list[str]:
    """Down for ``reason`` (kept as last_error, the incident's cause); once, if already down."""
    monitor.last_error = reason
    if monitor.state == STATE_DOWN:
        return []
    _set_state(monitor, STATE_DOWN, now)
    return [EVENT_DOWN]


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _set_state(monitor: Monitor, state: str, now: datetime) -> None:
    monitor.state = state
    monitor.state_changed_at = now
