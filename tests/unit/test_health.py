"""The health every surface shows of an item (app/engine/state.py ``health``), once: each
case on a plain row, and the SQL form the lists filter by agreeing with it on real databases."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app.engine import state
from app.extensions import db
from app.models import CronJob, Monitor
from app.models.history import FAILED_CONNECT, OK

AUTO = "Disabled automatically after 15 consecutive failures."

# (fields, health) of cron jobs; unspecified fields are those of a healthy enabled job.
CRON_JOBS = [
    ({}, "pending"),
    ({"last_outcome": OK}, "up"),
    ({"last_outcome": FAILED_CONNECT, "consecutive_failures": 1}, "degraded"),
    ({"last_outcome": FAILED_CONNECT, "consecutive_failures": 2}, "degraded"),
    ({"last_outcome": FAILED_CONNECT, "consecutive_failures": 3}, "down"),
    ({"last_outcome": FAILED_CONNECT, "consecutive_failures": 9}, "down"),
    # Switched off by a person, whatever it was doing and whatever they wrote.
    ({"enabled": False}, "paused"),
    ({"enabled": False, "last_outcome": OK}, "paused"),
    ({"enabled": False, "disabled_reason": "Moving servers."}, "paused"),
    # Failing as much as auto-disabling takes, but switched off by hand: paused all the same.
    (
        {"enabled": False, "last_outcome": FAILED_CONNECT, "consecutive_failures": 15},
        "paused",
    ),
    # Switched off for failing: down, even after its threshold changed or a manual run passed.
    ({"enabled": False, "disabled_reason": AUTO, "consecutive_failures": 15}, "down"),
    ({"enabled": False, "disabled_reason": AUTO, "auto_disable_after": 50}, "down"),
    ({"enabled": False, "disabled_reason": AUTO, "last_outcome": OK}, "down"),
    # The reason of an enabled job is history: its runs decide.
    ({"disabled_reason": AUTO, "last_outcome": OK}, "up"),
]

# (fields, health) of monitors and heartbeats.
MONITORS = [
    ({"state": "pending"}, "pending"),
    ({"state": "new", "kind": "heartbeat"}, "pending"),
    ({"state": "up"}, "up"),
    ({"state": "degraded"}, "degraded"),
    ({"state": "late", "kind": "heartbeat"}, "late"),
    ({"state": "down"}, "down"),
    ({"state": "paused", "paused": True}, "paused"),
    ({"state": "down", "paused": True}, "paused"),
    ({"state": "paused"}, "paused"),
]


def cron_job(**fields) -> CronJob:
    values = {
        "name": "Nightly",
        "slug": f"job-{uuid.uuid4().hex[:8]}",
        "url": "https://example.com/",
        "cron_expr": "0 2 * * *",
        "enabled": True,
        "disabled_reason": None,
        "last_outcome": None,
        "consecutive_failures": 0,
        "notify_failure_after": 3,
        "auto_disable_after": 15,
    }
    return CronJob(**(values | fields))


def monitor(**fields) -> Monitor:
    values = {
        "kind": "http",
        "name": "API",
        "slug": f"monitor-{uuid.uuid4().hex[:8]}",
        "url": "https://example.com/",
        "code": str(uuid.uuid4()),
        "paused": False,
    }
    return Monitor(**(values | fields))


@pytest.mark.parametrize(("fields", "expected"), CRON_JOBS)
def test_cron_job_health(fields, expected):
    assert state.health(cron_job(**fields)) == expected


@pytest.mark.parametrize(("fields", "expected"), MONITORS)
def test_monitor_health(fields, expected):
    assert state.health(monitor(**fields)) == expected


def test_a_job_auto_disabled_by_its_failures_is_disabled_for_failing():
    job = cron_job(auto_disable_after=2, notify_failure_after=1)
    assert state.apply_execution(job, False) == [state.EVENT_FAILED]
    assert not state.disabled_for_failing(job)
    assert state.apply_execution(job, False) == [state.EVENT_DISABLED]
    assert state.disabled_for_failing(job) and state.health(job) == "down"
    job.enabled = True  # enabled again: not disabled at all
    assert not state.disabled_for_failing(job)


def test_the_sql_form_agrees_with_every_case(app):
    with app.app_context():
        rows = [(cron_job(**f), e) for f, e in CRON_JOBS] + [(monitor(**f), e) for f, e in MONITORS]
        db.session.add_all([row for row, _ in rows])
        db.session.commit()
        for model in (CronJob, Monitor):
            found = dict(db.session.execute(sa.select(model.id, state.health_column(model))).all())
            expected = {row.id: e for row, e in rows if isinstance(row, model)}
            assert found == expected
            # And each row's Python health is the same answer, read back from the database.
            assert {row.id: state.health(row) for row, _ in rows if isinstance(row, model)} == found
