"""Alerts: from state changes to deliveries, one per (transition, channel), sent by RQ jobs.

1. ``stage`` runs inside the transaction that records a transition and adds one
   ``notification_log`` row per enabled channel of the subject, keyed by SHA-256 of (subject,
   event, transition, channel) under a unique constraint. The alert is saved with the state
   change or not at all, and a transition processed twice (a retried batch, a worker that died
   after its commit) finds its rows already there: one alert per transition and channel.
2. ``enqueue`` runs after that commit: one ``send_notification`` job per row on the ``notify``
   queue, with RQ's Retry for the backoff. A check never waits for a send, and every channel
   has its own job, so a slow or failing channel delays nobody else.
3. ``deliver`` (the job) claims its row with a conditional UPDATE, sends outside any
   transaction, and logs the attempt.
4. ``remind`` and ``requeue_lost`` run every minute (``send_due_notifications`` on the
   maintenance queue): reminders for monitors still down, and a new job for any row whose job
   was lost (Redis restarted, a worker died between a commit and its enqueue, or mid-send).

Events arrive as ``(kind, id, event)``: kind ``monitor`` (uptime and heartbeat monitors alike),
``cron_job`` or ``incident``. The wording is generic, so a new event of a known kind reads
"<Monitor|Heartbeat|Cron job> <name> <phrase>" without changes here.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any, TypeVar

import redis
import sqlalchemy as sa
from flask import current_app
from rq import Retry
from rq.job import Job, JobStatus
from sqlalchemy import orm as so

from app import durations, metrics
from app.engine import notify, queues, state
from app.extensions import db, dialect_insert, redis_client
from app.models import CronJob, Incident, Monitor, NotificationChannel
from app.models.incident import STATUS_OPEN, STATUS_RESOLVED
from app.models.monitor import (
    KIND_HEARTBEAT,
    STATE_DOWN,
    STATE_PENDING,
    STATE_UP,
    WARNING_CERTIFICATE,
    WARNING_SLOW,
)
from app.models.notification import (
    STATUS_CANCELLED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SENDING,
    STATUS_SENT,
    STATUSES,
    NotificationAttempt,
    NotificationLog,
)
from app.models.types import utcnow
from app.services import certificate_alerts, fields, maintenance, reasons, smtp
from app.services.errors import ValidationError
from app.services.pagination import Page, paginate

log = logging.getLogger(__name__)

_Subject = TypeVar("_Subject", Monitor, CronJob)

MAX_ATTEMPTS = 5
# Longer than any send can take (the slowest, e-mail, is a few 10-second steps): a claim
# older than this belongs to a worker that died mid-send.
CLAIM = timedelta(minutes=5)
# Hosts' clocks differ a little: a job may claim a row this much before it is due, or a worker
# whose clock is behind the stager's would find a brand-new row "not due yet".
CLOCK_SKEW = timedelta(seconds=5)
# How long after a recovery its alert still names the incident it resolved.
RECENTLY_RESOLVED = timedelta(hours=1)
# How late a due row may be before the upkeep assumes its job was lost and sends a new one.
LOST_AFTER = timedelta(minutes=2)
REQUEUE_LIMIT = 500
JOB_TIMEOUT = 120

KIND_MONITOR = "monitor"
KIND_CRON_JOB = "cron_job"
KIND_INCIDENT = "incident"
INCIDENT_CHANGES = ("opened", "updated", "resolved")

SEVERITY_INFO = "info"
SEVERITY_SUCCESS = "success"
SEVERITY_WARNING = "warning"
SEVERITY_FAILURE = "failure"

# How an event reads after the subject's name; heartbeats' "late", "down" and "up" read like
# an uptime monitor's. An event missing here still reads "<name>: <event>".
_PHRASES = {
    "down": "is down",
    "up": "is up again",
    "degraded": "is degraded",
    "late": "is late",
    "reminder": "is still down",
    "failed": "is failing",
    "recovered": "succeeded again",
    "disabled": "was disabled",
    certificate_alerts.EVENT: "has a TLS certificate that expires soon",
}
_SEVERITIES = {
    "down": SEVERITY_FAILURE,
    "failed": SEVERITY_FAILURE,
    "disabled": SEVERITY_FAILURE,
    "late": SEVERITY_WARNING,
    "degraded": SEVERITY_WARNING,
    "reminder": SEVERITY_WARNING,
    certificate_alerts.EVENT: SEVERITY_WARNING,
    "up": SEVERITY_SUCCESS,
    "recovered": SEVERITY_SUCCESS,
    "resolved": SEVERITY_SUCCESS,
}
# Events that end an incident: their alert names the incident they resolved.
_RECOVERIES = ("up", "recovered")
# A cron job's choice of which of its events to announce.
_CRON_PREFERENCES = {
    "failed": "notify_on_failure",
    "recovered": "notify_on_recovery",
    "disabled": "notify_on_disable",
}
# A monitor's choice of which degraded spells to announce, by the warning that began them.
_DEGRADED_PREFERENCES = {
    WARNING_SLOW: "notify_degraded_slow",
    WARNING_CERTIFICATE: "notify_degraded_certificate",
}

_status = fields.choice(STATUSES)
_channel_id = fields.whole_number(1, 2**31 - 1)  # INTEGER keys: a larger id names no channel
_event = fields.text(40)


class DeliveryFailed(Exception):
    """An attempt failed and another is due: raised by the job so that RQ retries it."""


# --- links -----------------------------------------------------------------------------------


def _url(path: str) -> str:
    """An absolute dashboard URL: alerts are read outside Upcron, jobs have no request."""
    return current_app.config["BASE_URL"] + path


def _page(subject_type: str, subject_id: int) -> str:
    paths = {
        KIND_MONITOR: f"/monitors/{subject_id}",
        KIND_CRON_JOB: f"/cron-jobs/{subject_id}",
        KIND_INCIDENT: f"/incidents/{subject_id}",
        "channel": f"/notifications/channels/{subject_id}/edit",
    }
    return _url(paths[subject_type])


def _links(subject: dict, incident: dict | None) -> dict[str, str]:
    links = {"dashboard": _url("/"), "subject": subject["url"]}
    if incident:
        links["incident"] = incident["url"]
    links["notifications"] = _url("/notifications/channels")
    return links


# --- turning events into payloads ------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _duration(delta: timedelta) -> str:
    return durations.in_words(max(0, int(delta.total_seconds() * 1000)))


def _label(subject: Monitor | CronJob) -> str:
    if isinstance(subject, CronJob):
        return "Cron job"
    return "Heartbeat" if subject.kind == KIND_HEARTBEAT else "Monitor"


def _subject(subject: Monitor | CronJob) -> dict[str, Any]:
    subject_type = KIND_CRON_JOB if isinstance(subject, CronJob) else KIND_MONITOR
    described = {"type": subject_type, "id": subject.id, "name": subject.name}
    if isinstance(subject, Monitor):
        described["kind"] = subject.kind
    described["url"] = _page(subject_type, subject.id)
    return described


def _status_of(subject: Monitor | CronJob) -> str:
    """The payload's ``status``: a monitor's state; a cron job's health (state.health) in the
    words its payloads have always used."""
    if isinstance(subject, Monitor):
        return subject.state
    if not subject.enabled:
        return "disabled"
    return "ok" if state.health(subject) in (STATE_UP, STATE_PENDING) else "failing"


def _current_incidents(subjects: list, now: datetime) -> dict[tuple[type, int], Incident]:
    """Each subject's latest incident that is open or was resolved within the last hour (the
    one a recovery just resolved), in one query per kind of subject."""
    found: dict[tuple[type, int], Incident] = {}
    for model, column in ((Monitor, Incident.monitor_id), (CronJob, Incident.cron_job_id)):
        ids = [subject.id for subject in subjects if isinstance(subject, model)]
        if not ids:
            continue
        incidents = db.session.execute(
            sa.select(Incident)
            .where(
                column.in_(ids),
                sa.or_(
                    Incident.status == STATUS_OPEN,
                    Incident.resolved_at >= now - RECENTLY_RESOLVED,
                ),
            )
            .order_by(Incident.started_at, Incident.id)
        ).scalars()
        for incident in incidents:  # oldest first: the latest wins
            found[(model, getattr(incident, column.key))] = incident
    return found


def _incident(incident: Incident, with_update: bool = False) -> dict[str, Any]:
    described = {
        "id": incident.id,
        "title": incident.title,
        "status": incident.status,
        "cause": incident.cause,
        "started_at": _iso(incident.started_at),
        "resolved_at": _iso(incident.resolved_at),
        "url": _page(KIND_INCIDENT, incident.id),
    }
    if with_update and incident.updates:
        update = incident.updates[-1]
        described["update"] = {
            "kind": update.kind,
            "message": update.message,
            "created_at": _iso(update.created_at),
        }
    return described


def _transition(subject: Monitor | CronJob, event: str, now: datetime) -> str:
    """What makes this transition unique among the subject's transitions of the same event.

    A monitor's state change time, so "down" at 12:00 and "down" again at 15:00 are two
    alerts; for reminders also their count, so each reminder goes out once. A cron job's
    last run: its events come from one execution. An expiring certificate's: the certificate
    and the threshold it reached.
    """
    if event == certificate_alerts.EVENT:
        return certificate_alerts.transition(subject, now)
    if isinstance(subject, CronJob):
        return _iso(subject.last_run_at) or ""
    since = _iso(subject.state_changed_at) or ""
    if event == "reminder" and subject.state_changed_at and subject.reminder_hours:
        count = (now - subject.state_changed_at) // timedelta(hours=subject.reminder_hours)
        return f"{since}#{count}"
    return since


def _subject_alert(subject: Monitor | CronJob, event: str, incident: Incident | None, now):
    """(transition, payload) for a monitor or cron job event, or None when its preferences
    leave it out. ``incident`` is the subject's open or just-resolved incident."""
    preference = _CRON_PREFERENCES.get(event) if isinstance(subject, CronJob) else None
    if preference and not getattr(subject, preference):
        return None
    if incident is not None and not (
        incident.status == STATUS_OPEN
        or (event in _RECOVERIES and incident.status == STATUS_RESOLVED)
    ):
        incident = None
    phrase = _PHRASES.get(event)
    summary = (
        f"{_label(subject)} {subject.name} {phrase}"
        if phrase
        else f"{_label(subject)} {subject.name}: {event}"
    )
    if event == "disabled" and isinstance(subject, CronJob):
        detail = subject.disabled_reason
    elif event == "degraded" and isinstance(subject, Monitor):
        detail = subject.last_warning
    elif event == "up" and _after_degraded(subject):
        detail = "It answers without a warning again."
    elif event == certificate_alerts.EVENT:
        detail = certificate_alerts.detail(subject, now)
    elif event == "reminder" and isinstance(subject, Monitor) and subject.state_changed_at:
        detail = f"Down for {_duration(now - subject.state_changed_at)}."
    elif incident is not None and incident.status == STATUS_RESOLVED and incident.resolved_at:
        detail = f"The incident lasted {_duration(incident.resolved_at - incident.started_at)}."
    elif incident is not None:
        detail = incident.cause
    elif isinstance(subject, CronJob):
        detail = reasons.of_cron_job(subject)
    else:
        detail = subject.last_error
    described = _subject(subject)
    incident_data = _incident(incident) if incident is not None else None
    payload = {
        "event": f"{described['type']}.{event}",
        "severity": _SEVERITIES.get(event, SEVERITY_INFO),
        "summary": summary,
        "detail": detail,
        "status": _status_of(subject),
        "occurred_at": _iso(now),
        "subject": described,
        "incident": incident_data,
        "links": _links(described, incident_data),
    }
    if event == "degraded" and isinstance(subject, Monitor):
        payload["warning"] = {"kind": subject.degraded_kind, "message": subject.last_warning}
    return _transition(subject, event, now), payload


def _after_degraded(subject: Monitor | CronJob) -> bool:
    """Whether the monitor's latest change was into or out of degraded (not from down)."""
    return isinstance(subject, Monitor) and subject.degraded_kind is not None


def _announces_degraded(monitor: Monitor, event: str) -> bool:
    """Whether the monitor announces the degraded spell it is in or just left: the toggle of
    the warning kind that began it (an unknown kind is announced). A certificate's spell is
    begun by its certificate_expiring alerts, one per threshold, so only its end is sent."""
    if monitor.degraded_kind is None:
        return True
    if event == "degraded" and monitor.degraded_kind == WARNING_CERTIFICATE:
        return False
    preference = _DEGRADED_PREFERENCES.get(monitor.degraded_kind)
    return preference is None or bool(getattr(monitor, preference))


def _incident_alert(incident_id: int, change: str, now: datetime):
    """(subject, transition, payload) for an incident opened, updated or resolved by hand."""
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        return None
    subject: Monitor | CronJob | None
    if incident.monitor_id is not None:
        subject = db.session.get(Monitor, incident.monitor_id)
    else:
        subject = db.session.get(CronJob, incident.cron_job_id)
    if subject is None:
        return None
    described = _subject(subject)
    incident_data = _incident(incident, with_update=True)
    update = incident_data.get("update")
    payload = {
        "event": f"incident.{change}",
        "severity": _SEVERITIES.get(change, SEVERITY_INFO),
        "summary": f"Incident {change}: {incident.title}",
        "detail": update["message"] if update else incident.cause,
        "status": incident.status,
        "occurred_at": _iso(now),
        "subject": described,
        "incident": incident_data,
        "links": _links(described, incident_data),
    }
    # Each update is its own transition; an incident without updates changes only its status.
    last = incident.updates[-1].id if incident.updates else incident.status
    return subject, f"incident:{incident.id}:{last}", payload


def test_payload(channel: NotificationChannel, now: datetime) -> dict[str, Any]:
    """What "send test" sends: shaped like an alert, so the receiver sees the real format."""
    subject = {
        "type": "channel",
        "id": channel.id,
        "name": channel.name,
        "url": _page("channel", channel.id),
    }
    return {
        "event": "test",
        "severity": SEVERITY_INFO,
        "summary": f"Test message for the channel {channel.name}",
        "detail": "Upcron will send its alerts here. Nothing is wrong.",
        "status": "test",
        "occurred_at": _iso(now),
        "subject": subject,
        "incident": None,
        "links": _links(subject, None),
    }


# --- staging and enqueueing ------------------------------------------------------------------


def _key(subject_type: str, subject_id: int, event: str, transition: str, channel_id: int) -> str:
    raw = f"{subject_type}:{subject_id}:{event}:{transition}:{channel_id}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _insert_new(rows: list[dict[str, Any]]) -> list[int]:
    """Insert log rows in one statement, skipping keys that exist; the new rows' ids."""
    if not rows:
        return []
    statement = (
        dialect_insert(NotificationLog)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(NotificationLog.id)
    )
    return list(db.session.execute(statement, rows).scalars())


def _subjects(events: list[tuple[str, int, str]]) -> dict[tuple[str, int], Monitor | CronJob]:
    """The monitors and cron jobs the events name, with their channels, in two queries each."""
    found: dict[tuple[str, int], Monitor | CronJob] = {}
    found.update({(KIND_MONITOR, m.id): m for m in _named(Monitor, KIND_MONITOR, events)})
    found.update({(KIND_CRON_JOB, j.id): j for j in _named(CronJob, KIND_CRON_JOB, events)})
    return found


def _named(model: type[_Subject], kind: str, events: list[tuple[str, int, str]]) -> list[_Subject]:
    ids = {subject_id for event_kind, subject_id, _ in events if event_kind == kind}
    if not ids:
        return []
    return list(
        db.session.execute(
            sa.select(model).where(model.id.in_(ids)).options(so.selectinload(model.channels))
        ).scalars()
    )


def _log_rows(subject, transition: str, payload: dict, now: datetime) -> list[dict[str, Any]]:
    """One log row per enabled channel of the subject."""
    subject_type = payload["subject"]["type"]
    return [
        {
            "key": _key(subject_type, subject.id, payload["event"], transition, channel.id),
            "channel_id": channel.id,
            "channel_name": channel.name,
            "channel_kind": channel.kind,
            "subject_type": subject_type,
            "subject_id": subject.id,
            "event": payload["event"],
            "payload": payload,
            "status": STATUS_PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for channel in subject.channels
        if channel.enabled
    ]


def stage(events: list[tuple[str, int, str]], now: datetime) -> list[int]:
    """Add the deliveries of ``events`` to the current transaction; returns the new rows' ids.

    Call it before the commit that saves the transitions, then ``enqueue`` the ids after it.
    Rows whose key exists already (the transition was staged before) are skipped. A few
    queries whatever the number of events, since a network outage takes many monitors down
    in one batch.
    """
    if not events:
        return []
    db.session.flush()  # incidents opened in this transaction need their ids
    subjects = _subjects(events)
    incidents = _current_incidents(list(subjects.values()), now)
    rows = []
    for kind, subject_id, event in events:
        if kind == KIND_INCIDENT:
            alert = _incident_alert(subject_id, event, now)
            if alert is not None:
                subject, transition, payload = alert
                rows += _log_rows(subject, transition, payload, now)
            continue
        subject = subjects.get((kind, subject_id))
        if subject is None:
            if kind not in (KIND_MONITOR, KIND_CRON_JOB):
                log.warning("no notifications for events of kind %r", kind)
            continue
        if isinstance(subject, Monitor):
            if event == "late" and not subject.notify_late:
                continue  # the heartbeat announces only down and up
            if (event == "degraded" or (event == "up" and _after_degraded(subject))) and (
                not _announces_degraded(subject, event)
            ):
                continue
        alert = _subject_alert(subject, event, incidents.get((type(subject), subject.id)), now)
        if alert is not None:
            transition, payload = alert
            rows += _log_rows(subject, transition, payload, now)
    return _insert_new(rows)


def _retry(attempts_made: int) -> Retry | None:
    """RQ's Retry for the attempts still to come, spaced by the backoff delays."""
    delays = list(current_app.config["NOTIFY_RETRY_DELAYS"])[attempts_made:]
    remaining = MAX_ATTEMPTS - 1 - attempts_made
    return Retry(max=remaining, interval=delays[:remaining]) if remaining > 0 else None


def _enqueue(rows: list[tuple[int, int]]) -> None:
    """One job per (log id, attempts made). Never raises: a row Redis did not take stays due
    in SQL, and the upkeep sends it later."""
    if not rows:
        return
    queue = queues.queue(queues.NOTIFY)
    try:
        queue.enqueue_many(
            [
                queue.prepare_data(
                    queues.SEND_NOTIFICATION,
                    args=(log_id,),
                    job_id=f"notify-{log_id}",
                    retry=_retry(attempts),
                    timeout=JOB_TIMEOUT,
                    result_ttl=600,
                    failure_ttl=24 * 3600,
                )
                for log_id, attempts in rows
            ]
        )
    except redis.RedisError as exc:
        log.warning("could not enqueue %d notifications (%s); they follow later", len(rows), exc)


def enqueue(ids: list[int]) -> None:
    """Send the staged rows ``ids``: call after the commit that saved them."""
    _enqueue([(log_id, 0) for log_id in ids])


def dispatch(events: list[tuple[str, int, str]], now: datetime | None = None) -> list[int]:
    """Stage, commit and enqueue the alerts of transitions that are already saved.

    For callers whose transition was committed on its own (heartbeat pings, incident
    updates, reminders). Calling it twice for one transition sends one alert per channel.
    """
    ids = stage(events, now or utcnow())
    db.session.commit()
    enqueue(ids)
    return ids


def incident_changed(incident_id: int, change: str, now: datetime | None = None) -> list[int]:
    """Announce an incident opened, updated or resolved by hand, after its commit, to the
    channels of its monitor or cron job. Each update (its latest ``incident_updates`` row) is
    announced once."""
    if change not in INCIDENT_CHANGES:
        raise ValueError(f"change must be one of {', '.join(INCIDENT_CHANGES)}")
    return dispatch([(KIND_INCIDENT, incident_id, change)], now)


# --- sending ---------------------------------------------------------------------------------


def _context() -> notify.Context:
    config = current_app.config
    return notify.Context(
        policy=config["TARGET_POLICY"], ca_bundle=config["CA_BUNDLE"], smtp=smtp.current()
    )


def _attempt(
    log_id: int, number: int, kind: str, config: dict, payload: dict, context
) -> tuple[notify.Sent, int]:
    """Send with no transaction open, and add the attempt to the log (not committed);
    returns the outcome and how long it took in milliseconds."""
    started = utcnow()
    clock = time.perf_counter()
    sent = notify.send(kind, config, payload, context)
    duration_ms = round((time.perf_counter() - clock) * 1000)
    db.session.add(
        NotificationAttempt(
            log_id=log_id,
            number=number,
            started_at=started,
            duration_ms=duration_ms,
            ok=sent.ok,
            error=sent.error,
        )
    )
    return sent, duration_ms


def deliver(log_id: int, now: datetime | None = None) -> str | None:
    """One attempt at one delivery; returns the row's new status, or None when this call
    found nothing to do (done already, or another job holds it).

    The claim is a conditional UPDATE, so of two jobs for one row only one sends. A worker
    that dies mid-send leaves the row "sending" until its claim lapses; the upkeep then tries
    again, so such an alert can arrive twice, but never not at all.
    """
    now = now or utcnow()
    number = db.session.execute(
        sa.update(NotificationLog)
        .where(
            NotificationLog.id == log_id,
            NotificationLog.status.in_((STATUS_PENDING, STATUS_SENDING)),
            NotificationLog.next_attempt_at <= now + CLOCK_SKEW,
        )
        .values(
            status=STATUS_SENDING,
            attempts=NotificationLog.attempts + 1,
            next_attempt_at=now + CLAIM,
            updated_at=now,
        )
        .returning(NotificationLog.attempts)
        .execution_options(synchronize_session=False)
    ).scalar()
    if number is None:
        db.session.commit()
        return None
    entry = db.session.get(NotificationLog, log_id, populate_existing=True)
    if entry is None:  # never so: the claim above holds the row
        db.session.commit()
        return None
    channel = db.session.get(NotificationChannel, entry.channel_id) if entry.channel_id else None
    if channel is None or not channel.enabled:
        entry.status, entry.attempts = STATUS_CANCELLED, number - 1
        entry.last_error = "The channel was disabled or deleted before the alert was sent."
        db.session.commit()
        return entry.status
    kind, config = channel.kind, dict(channel.config)
    payload = {**entry.payload, "delivery": {"id": entry.key, "attempt": number}}
    context = _context()
    db.session.commit()  # never hold a transaction across the network
    sent, _duration_ms = _attempt(log_id, number, kind, config, payload, context)
    finished = utcnow()
    # Not flushed first: the attempt just noted cannot be written for a row that is gone.
    with db.session.no_autoflush:
        entry = db.session.get(
            NotificationLog, log_id, populate_existing=True, with_for_update=True
        )
    if entry is None:
        db.session.rollback()  # pruned with the old history while it was being sent
        return None
    if entry.status != STATUS_SENDING or entry.attempts != number:
        db.session.commit()  # our claim lapsed and a later attempt took over
        return entry.status
    entry.last_error = sent.error
    if sent.ok:
        entry.status, entry.sent_at = STATUS_SENT, finished
    elif sent.final or number >= MAX_ATTEMPTS:
        entry.status = STATUS_FAILED
    else:
        entry.status = STATUS_PENDING
        delays = current_app.config["NOTIFY_RETRY_DELAYS"]
        # From the claim, so RQ's retry, scheduled after this commit, always finds it due.
        entry.next_attempt_at = now + timedelta(seconds=delays[number - 1])
    db.session.commit()
    metrics.DELIVERIES.labels(kind, entry.status).inc()
    if not sent.ok:
        log.warning(
            "notification %s to %s channel %s, attempt %d: %s",
            log_id,
            kind,
            entry.channel_id,
            number,
            sent.error,
        )
    return entry.status


def send_now(channel: NotificationChannel, payload: dict[str, Any]) -> dict[str, Any]:
    """Send ``payload`` through ``channel`` at once, outside the queue and whether or not the
    channel is enabled, and log it as a single attempt (a test message).

    Returns ``{"ok", "error", "duration_ms", "log_id"}``.
    """
    now = utcnow()
    entry = NotificationLog(
        key=hashlib.sha256(f"now:{channel.id}:{time.time_ns()}".encode()).hexdigest(),
        channel_id=channel.id,
        channel_name=channel.name,
        channel_kind=channel.kind,
        subject_type=payload["subject"]["type"],
        subject_id=payload["subject"]["id"],
        event=payload["event"],
        payload=payload,
        status=STATUS_SENDING,
        attempts=1,
        next_attempt_at=now + CLAIM,
        created_at=now,
    )
    db.session.add(entry)
    kind, config = channel.kind, dict(channel.config)
    context = _context()
    db.session.commit()
    payload = {**payload, "delivery": {"id": entry.key, "attempt": 1}}
    sent, duration_ms = _attempt(entry.id, 1, kind, config, payload, context)
    entry.status = STATUS_SENT if sent.ok else STATUS_FAILED
    entry.sent_at = utcnow() if sent.ok else None
    entry.last_error = sent.error
    db.session.commit()
    return {"ok": sent.ok, "error": sent.error, "duration_ms": duration_ms, "log_id": entry.id}


# --- upkeep ----------------------------------------------------------------------------------


def remind(now: datetime | None = None) -> int:
    """Stage a reminder for every monitor down for another multiple of its reminder_hours;
    returns how many deliveries were new. Only the latest reminder counts, so a scheduler
    that was down for a day sends one, not a burst."""
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(Monitor.id, Monitor.state_changed_at, Monitor.reminder_hours).where(
            Monitor.state == STATE_DOWN,
            Monitor.reminder_hours.is_not(None),
            Monitor.paused.is_(False),
        )
    ).all()
    held = maintenance.covered(now).monitors if rows else {}
    events = [
        (KIND_MONITOR, monitor_id, "reminder")
        for monitor_id, since, hours in rows
        if since is not None
        and hours is not None
        and now - since >= timedelta(hours=hours)
        and monitor_id not in held
    ]
    return len(dispatch(events, now))


def requeue_lost(now: datetime | None = None) -> int:
    """Send a new job for each unfinished row overdue by LOST_AFTER whose job RQ no longer
    holds; returns how many. Rows whose job still waits (queued, scheduled for its retry,
    running) are left to it."""
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(NotificationLog.id, NotificationLog.attempts)
        .where(
            NotificationLog.status.in_((STATUS_PENDING, STATUS_SENDING)),
            NotificationLog.next_attempt_at <= now - LOST_AFTER,
        )
        .order_by(NotificationLog.next_attempt_at)
        .limit(REQUEUE_LIMIT)
    ).all()
    db.session.commit()
    if not rows:
        return 0
    waiting = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)
    jobs = Job.fetch_many([f"notify-{log_id}" for log_id, _ in rows], connection=redis_client.conn)
    held = {job.id for job in jobs if job is not None and job.get_status(refresh=False) in waiting}
    lost = [(log_id, attempts) for log_id, attempts in rows if f"notify-{log_id}" not in held]
    _enqueue(lost)
    if lost:
        log.warning("sent new jobs for %d notifications whose job was lost", len(lost))
    return len(lost)


# --- the log ---------------------------------------------------------------------------------


def list_log(
    status: str | None = None,
    channel_id: Any = None,
    event: str | None = None,
    page: Any = 1,
    per_page: Any = 50,
) -> Page:
    """One page of the delivery log, newest first, optionally of one status, channel or event
    (such as ``monitor.down``)."""
    given = {
        name: value
        for name, value in (("status", status), ("channel_id", channel_id), ("event", event))
        if value not in (None, "")
    }
    values, errors = fields.parse(
        given, {"status": _status, "channel_id": _channel_id, "event": _event}
    )
    if errors:
        raise ValidationError(errors)
    query = sa.select(NotificationLog)
    if "status" in values:
        query = query.where(NotificationLog.status == values["status"])
    if "channel_id" in values:
        query = query.where(NotificationLog.channel_id == values["channel_id"])
    if "event" in values:
        query = query.where(NotificationLog.event == values["event"])
    query = query.order_by(NotificationLog.created_at.desc(), NotificationLog.id.desc())
    return paginate(query, page, per_page)
