"""State transitions: the rules that turn one check or execution into a new state.

Pure functions on model rows; the caller holds the transaction. Each returns the events the
transition produced ("down", "up", "failed", "recovered", "disabled"), which open and resolve
incidents now and drive notifications.
"""

from __future__ import annotations

from datetime import datetime

from app.models import CronJob, Monitor
from app.models.monitor import STATE_DOWN, STATE_PAUSED, STATE_PENDING, STATE_UP

EVENT_DOWN = "down"
EVENT_UP = "up"
EVENT_FAILED = "failed"
EVENT_RECOVERED = "recovered"
EVENT_DISABLED = "disabled"


def apply_check(monitor: Monitor, success: bool, error: str | None, now: datetime) -> list[str]:
    """Count a check result against the monitor's thresholds.

    pending → up on the first success; pending or up → down after ``failure_threshold``
    consecutive failures; down → up after ``recovery_threshold`` consecutive successes.
    """
    if monitor.paused or monitor.state == STATE_PAUSED:
        return []
    monitor.last_checked_at = now
    if success:
        monitor.consecutive_successes += 1
        monitor.consecutive_failures = 0
        monitor.last_error = None
        if monitor.state == STATE_PENDING:
            _set_state(monitor, STATE_UP, now)
        elif monitor.state == STATE_DOWN and (
            monitor.consecutive_successes >= monitor.recovery_threshold
        ):
            _set_state(monitor, STATE_UP, now)
            return [EVENT_UP]
        return []
    monitor.consecutive_failures += 1
    monitor.consecutive_successes = 0
    monitor.last_error = error
    if monitor.state != STATE_DOWN and monitor.consecutive_failures >= monitor.failure_threshold:
        _set_state(monitor, STATE_DOWN, now)
        return [EVENT_DOWN]
    return []


def apply_execution(job: CronJob, success: bool, now: datetime) -> list[str]:
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
        job.disabled_reason = (
            f"Disabled automatically after {job.consecutive_failures} consecutive failures."
        )
        events.append(EVENT_DISABLED)
    return events


def _set_state(monitor: Monitor, state: str, now: datetime) -> None:
    monitor.state = state
    monitor.state_changed_at = now
