"""Dashboard pages: incidents (open and resolved, with filter tabs), one incident's timeline,
resolving, reopening and adding an update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request
from wtforms import TextAreaField

from app import durations
from app.models import CronJob, Incident, Monitor
from app.models.history import SUBJECT_MONITOR
from app.models.incident import STATUS_OPEN, STATUS_RESOLVED
from app.models.monitor import KIND_HEARTBEAT
from app.models.types import utcnow
from app.services import incidents
from app.services.errors import Conflict, NotFound, ValidationError
from app.web import admin
from app.web.forms import apply_errors

bp = admin.blueprint("incidents", __name__, url_prefix="/incidents")

PER_PAGE = 25
TABS = (("", "All"), (STATUS_OPEN, "Open"), (STATUS_RESOLVED, "Resolved"))


class UpdateForm(FlaskForm):
    message = TextAreaField("Add an update")


class ActionForm(FlaskForm):
    """Carries only the CSRF token of the resolve and reopen buttons."""


def _incident_or_404(incident_id: int) -> Incident:
    try:
        return incidents.get(incident_id)
    except NotFound:
        abort(404)


def subject_of(incident: Incident) -> dict[str, Any]:
    """What the incident is about, with a link to its page (None once it is deleted)."""
    subject: Monitor | CronJob | None
    if incidents.subject_type(incident) == SUBJECT_MONITOR:
        subject = incident.monitor
        if subject is not None and subject.kind == KIND_HEARTBEAT:
            kind, endpoint, argument = "heartbeat", "heartbeats.detail", "monitor_id"
        else:
            kind, endpoint, argument = "monitor", "monitors.detail", "monitor_id"
    else:
        subject, kind = incident.cron_job, "cron job"
        endpoint, argument = "cron_jobs.detail", "cron_job_id"
    # Typed loosely, as url_for takes route values beside its own typed keywords.
    values: dict[str, Any] = {argument: subject.id} if subject else {}
    return {
        "name": subject.name if subject else None,
        "kind": kind,
        "url": url_for(endpoint, **values) if subject else None,
    }


@bp.app_template_global("incident_duration")
def duration(incident: Incident, now: datetime | None = None) -> str:
    """How long the incident lasted (or has lasted so far), in words: "3 d 2 h", "5 min"."""
    end = incident.resolved_at or now or utcnow()
    return durations.to_the_minute(int((end - incident.started_at).total_seconds()))


@bp.get("/")
def index() -> ResponseReturnValue:
    status = request.args.get("status") or None
    try:
        page = incidents.list_incidents(
            status=status, page=request.args.get("page", 1), per_page=PER_PAGE
        )
    except ValidationError:
        abort(400)
    return render_template(
        "incidents/index.html",
        page=page,
        status=status or "",
        tabs=TABS,
        counts=incidents.counts(),
        subject_of=subject_of,
        duration=duration,
        now=utcnow(),
    )


def _render_detail(incident: Incident, form: UpdateForm, status: int = 200) -> ResponseReturnValue:
    if htmx_request.htmx:
        template = "incidents/_timeline.html"
    else:
        template = "incidents/detail.html"
    return (
        render_template(
            template,
            incident=incident,
            subject=subject_of(incident),
            duration=duration,
            now=utcnow(),
            form=form,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.get("/<int:incident_id>")
def detail(incident_id: int) -> ResponseReturnValue:
    return _render_detail(_incident_or_404(incident_id), UpdateForm(formdata=None))


@bp.post("/<int:incident_id>/updates")
def add_update(incident_id: int) -> ResponseReturnValue:
    """Add a timeline entry; htmx gets the timeline and a fresh form in place."""
    incident = _incident_or_404(incident_id)
    form = UpdateForm()
    if not form.validate_on_submit():
        return _render_detail(incident, form, status=422)
    try:
        incidents.add_update(incident_id, {"message": form.message.data}, actor=current_user)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render_detail(incident, form, status=422)
    if htmx_request.htmx:
        return _render_detail(incidents.get(incident_id), UpdateForm(formdata=None))
    flash("Update added.", "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


def _change_status(incident_id: int, status: str, done: str) -> ResponseReturnValue:
    _incident_or_404(incident_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        incidents.update(incident_id, {"status": status}, actor=current_user)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


@bp.post("/<int:incident_id>/resolve")
def resolve(incident_id: int) -> ResponseReturnValue:
    return _change_status(incident_id, STATUS_RESOLVED, "Incident resolved.")


@bp.post("/<int:incident_id>/reopen")
def reopen(incident_id: int) -> ResponseReturnValue:
    return _change_status(incident_id, STATUS_OPEN, "Incident reopened.")
