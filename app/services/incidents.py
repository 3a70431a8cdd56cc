"""Incidents: opened and resolved by the engine, listed, resolved, reopened and annotated by
people.

The engine's helpers (``open_incident``, ``resolve_open``, ``note_open``) only add to the
session: the engine records a whole batch in one transaction and commits it once; its alerts
are staged with that batch. The other functions are operations of their own: they commit and
then announce the change to the channels of the incident's monitor or cron job, so every
surface (dashboard, API, CLI) that resolves, reopens or annotates an incident notifies alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import db
from app.models import ApiKey, CronJob, Incident, IncidentUpdate, Monitor, User
from app.models.history import SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.models.incident import STATUS_OPEN, STATUS_RESOLVED
from app.models.types import utcnow
from app.services import fields, notifications
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.pagination import Page, paginate

STATUSES = (STATUS_OPEN, STATUS_RESOLVED)
SUBJECT_TYPES = (SUBJECT_MONITOR, SUBJECT_CRON_JOB)
MESSAGE_MAX = 5000
ID_MAX = 2**31 - 1  # INTEGER keys on PostgreSQL; a larger id names no row

ALREADY_RESOLVED = "Incident is already resolved"
ALREADY_OPEN = "Incident is already open"


def subject_type(incident: Incident) -> str:
    """What the incident is about: "monitor" or "cron_job"."""
    return SUBJECT_MONITOR if incident.monitor_id is not None else SUBJECT_CRON_JOB


# --- inside the engine's transaction ------------------------------------------------------


def _open_for(monitor_id: int | None, cron_job_id: int | None) -> list[Incident]:
    subject = (
        Incident.monitor_id == monitor_id
        if monitor_id is not None
        else Incident.cron_job_id == cron_job_id
    )
    return list(
        db.session.execute(
            sa.select(Incident).where(subject, Incident.status == STATUS_OPEN)
        ).scalars()
    )


def open_incident(
    *,
    title: str,
    cause: str | None,
    now: datetime,
    monitor_id: int | None = None,
    cron_job_id: int | None = None,
) -> Incident:
    """Add an open incident with its "started" entry to the session (no commit)."""
    incident = Incident(
        title=title,
        cause=cause,
        status=STATUS_OPEN,
        started_at=now,
        monitor_id=monitor_id,
        cron_job_id=cron_job_id,
    )
    incident.updates.append(IncidentUpdate(kind="started", message=cause or title, created_at=now))
    db.session.add(incident)
    return incident


def resolve_open(
    *, message: str, now: datetime, monitor_id: int | None = None, cron_job_id: int | None = None
) -> None:
    """Resolve the subject's open incidents with a "resolved" entry (no commit)."""
    for incident in _open_for(monitor_id, cron_job_id):
        incident.status = STATUS_RESOLVED
        incident.resolved_at = now
        incident.updates.append(IncidentUpdate(kind="resolved", message=message, created_at=now))


def note_open(
    *, message: str, now: datetime, monitor_id: int | None = None, cron_job_id: int | None = None
) -> None:
    """Add a comment to the subject's open incidents (no commit)."""
    for incident in _open_for(monitor_id, cron_job_id):
        incident.updates.append(IncidentUpdate(kind="comment", message=message, created_at=now))


# --- operations ----------------------------------------------------------------------------


def flips(
    monitor_id: int, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[datetime, bool]]:
    """A monitor's changes between up and down, newest first, as (moment, up): each
    incident's start is a change to down, its resolution a change back to up. ``since``
    (inclusive) and ``until`` (exclusive) bound the moments."""
    rows = db.session.execute(
        sa.select(Incident.started_at, Incident.resolved_at).where(
            Incident.monitor_id == monitor_id
        )
    ).all()
    changes = [(started, False) for started, _ in rows]
    changes += [(resolved, True) for _, resolved in rows if resolved is not None]
    return sorted(
        (
            (moment, up)
            for moment, up in changes
            if (since is None or moment >= since) and (until is None or moment < until)
        ),
        key=lambda change: change[0],
        reverse=True,
    )


def get(incident_id: int, lock: bool = False) -> Incident:
    """The incident, or NotFound; ``lock`` takes its row lock (PostgreSQL) for a change."""
    incident = db.session.get(Incident, incident_id, with_for_update=lock)
    if incident is None:
        raise NotFound("Incident not found")
    return incident


OPEN_EXISTS = "An open incident already exists for this source"
MANUAL_TITLE = "Opened manually"


def open_manually(
    *,
    monitor_id: int | None = None,
    cron_job_id: int | None = None,
    cause: Any = None,
    actor: User | ApiKey | None = None,
    now: datetime | None = None,
) -> Incident:
    """Open an incident by hand for a monitor or cron job that has none open (Conflict
    otherwise: one subject, one open incident), with its "started" entry, and announce it.
    The caller has made sure the subject exists."""
    values, errors = fields.parse({"cause": cause}, {"cause": fields.optional(_message)})
    if errors:
        raise ValidationError(errors)
    now = now or utcnow()
    # Lock the subject's row (PostgreSQL; SQLite serialises writers anyway), as recording a
    # result does: two requests at once must not both find none open and both open one.
    model, subject_id = (Monitor, monitor_id) if monitor_id is not None else (CronJob, cron_job_id)
    db.session.execute(sa.select(model.id).where(model.id == subject_id).with_for_update())
    if _open_for(monitor_id, cron_job_id):
        raise Conflict(OPEN_EXISTS)
    incident = open_incident(
        title=MANUAL_TITLE,
        cause=values["cause"],
        now=now,
        monitor_id=monitor_id,
        cron_job_id=cron_job_id,
    )
    for key, value in _author(actor).items():
        setattr(incident.updates[0], key, value)
    db.session.commit()
    notifications.incident_changed(incident.id, "opened", now)
    return incident


def delete(incident_id: int) -> None:
    """Delete an incident with its timeline, for dialects whose clients can (CronUptime's).
    A subject still failing gets no new incident until its next failure."""
    db.session.delete(get(incident_id))
    db.session.commit()


def get_by_uuid(value: str) -> Incident:
    """The incident whose stable uuid is ``value``, or NotFound."""
    return fields.by_uuid(Incident, value, "Incident not found")


def list_incidents(
    status: str | None = None,
    subject: str | None = None,
    monitor_id: Any = None,
    cron_job_id: Any = None,
    page: Any = 1,
    per_page: Any = 50,
    offset: Any = None,
) -> Page:
    """One page of incidents, newest first.

    ``status`` is open or resolved, ``subject`` monitor or cron_job; ``monitor_id`` and
    ``cron_job_id`` narrow to one monitor or job (ids may be query strings).
    """
    given = {
        name: value
        for name, value in (
            ("status", status),
            ("subject", subject),
            ("monitor_id", monitor_id),
            ("cron_job_id", cron_job_id),
        )
        if value not in (None, "")
    }
    values, errors = fields.parse(
        given,
        {
            "status": fields.choice(STATUSES),
            "subject": fields.choice(SUBJECT_TYPES),
            "monitor_id": fields.whole_number(1, ID_MAX),
            "cron_job_id": fields.whole_number(1, ID_MAX),
        },
    )
    if errors:
        raise ValidationError(errors)
    query = sa.select(Incident).options(
        so.selectinload(Incident.monitor), so.selectinload(Incident.cron_job)
    )
    if "status" in values:
        query = query.where(Incident.status == values["status"])
    if values.get("subject") == SUBJECT_MONITOR:
        query = query.where(Incident.monitor_id.is_not(None))
    elif values.get("subject") == SUBJECT_CRON_JOB:
        query = query.where(Incident.cron_job_id.is_not(None))
    if "monitor_id" in values:
        query = query.where(Incident.monitor_id == values["monitor_id"])
    if "cron_job_id" in values:
        query = query.where(Incident.cron_job_id == values["cron_job_id"])
    query = query.order_by(Incident.started_at.desc(), Incident.id.desc())
    return paginate(query, page, per_page, offset)


def counts() -> dict[str, int]:
    """How many incidents are open and how many resolved, for the dashboard's filter tabs."""
    rows = db.session.execute(
        sa.select(Incident.status, sa.func.count()).group_by(Incident.status)
    ).all()
    found = dict(rows)
    return {status: found.get(status, 0) for status in STATUSES}


def _status(value: Any) -> str:
    if value not in STATUSES:
        raise ValueError('Choose "open" or "resolved".')
    return value


def _author(actor: User | ApiKey | None) -> dict[str, int]:
    """Who wrote a timeline entry: an admin, an API key, or nobody (the engine)."""
    if isinstance(actor, User):
        return {"author_id": actor.id}
    if isinstance(actor, ApiKey):
        return {"api_key_id": actor.id}
    return {}


def update(
    incident_id: int,
    data: Any,
    actor: User | ApiKey | None = None,
    now: datetime | None = None,
) -> Incident:
    """Resolve (``{"status": "resolved"}``) or reopen (``{"status": "open"}``) an incident.

    Each change adds a timeline entry written by ``actor`` and is announced (a reopening as
    "opened"). Asking for the status the incident already has is a Conflict, so two people
    resolving at once learn that one was first.
    """
    values, errors = fields.parse(data, {"status": _status})
    fields.require(data, errors, {"status": 'Send "status": "open" or "resolved".'})
    if errors:
        raise ValidationError(errors)
    now = now or utcnow()
    incident = get(incident_id, lock=True)
    if values["status"] == incident.status:
        db.session.rollback()
        raise Conflict(ALREADY_RESOLVED if incident.status == STATUS_RESOLVED else ALREADY_OPEN)
    if values["status"] == STATUS_RESOLVED:
        incident.status = STATUS_RESOLVED
        incident.resolved_at = now
        kind, message = "resolved", "Resolved manually."
    else:
        incident.status = STATUS_OPEN
        incident.resolved_at = None
        kind, message = "reopened", "Incident reopened."
    incident.updated_at = now
    incident.updates.append(
        IncidentUpdate(kind=kind, message=message, created_at=now, **_author(actor))
    )
    db.session.commit()
    notifications.incident_changed(incident.id, "resolved" if kind == "resolved" else "opened", now)
    return incident


def _message(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Write the update's text.")
    if len(value) > MESSAGE_MAX:
        raise ValueError(f"Use at most {MESSAGE_MAX} characters.")
    return value.strip()


def add_update(
    incident_id: int,
    data: Any,
    actor: User | ApiKey | None = None,
    now: datetime | None = None,
) -> IncidentUpdate:
    """Add a message (``{"message": "…"}``) to an incident's timeline, open or resolved, and
    announce it."""
    values, errors = fields.parse(data, {"message": _message})
    fields.require(data, errors, {"message": "Write the update's text."})
    if errors:
        raise ValidationError(errors)
    now = now or utcnow()
    incident = get(incident_id, lock=True)
    update_row = IncidentUpdate(
        kind="comment", message=values["message"], created_at=now, **_author(actor)
    )
    incident.updates.append(update_row)
    incident.updated_at = now
    db.session.commit()
    notifications.incident_changed(incident.id, "updated", now)
    return update_row
