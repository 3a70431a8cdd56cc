"""Dashboard pages: cron jobs (list, create, edit with a live schedule preview, detail with
the execution log, one execution, run now, enable, disable, delete)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from app.engine import schedule
from app.models import CronExecution, CronJob
from app.services import beats, cron_jobs, fields, groups, history
from app.services.errors import NotFound, Unavailable, ValidationError
from app.services.fields import METHODS
from app.web import admin
from app.web.forms import (
    apply_errors,
    channel_field,
    local_input,
    offer_channels,
    tag_text,
    wall_time,
)
from app.web.lists import filter_args, fingerprint, render_list, tag_names

bp = admin.blueprint("cron_jobs", __name__, url_prefix="/cron-jobs")

PER_PAGE = 25
# The list's status filter: each choice and whether it means enabled jobs.
LIST_STATUSES = {"enabled": True, "disabled": False}
PREVIEW_RUNS = 5
# Form fields sent to the service as typed; blank ones are left out, so the service's
# defaults apply on create and the stored value stays on edit.
_TEXT: tuple[str, ...] = ("name", "url", "timezone", "timeout_ms", "expected_status")
_TEXT += ("auto_disable_after", "notify_failure_after", "tls_expiry_warn_days")
# Always sent: the service says what a blank one lacks.
_REQUIRED = ("name", "url")
# Sent even when blank: blank means "none" for these.
_CLEARABLE = ("description", "group", "tags", "body", "auth_username")
_FLAGS: tuple[str, ...] = ("enabled", "redirect_success", "save_responses", "public")
_FLAGS += ("notify_on_failure", "notify_on_recovery", "notify_on_disable", "tls_verify")


class CronJobForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    group = StringField("Group")
    tags = StringField("Tags")
    url = StringField("URL")
    method = SelectField("Method", choices=list(METHODS), default="GET")
    headers = TextAreaField("Request headers")
    body = TextAreaField("Request body")
    auth_username = StringField("Basic auth user name")
    auth_password = PasswordField("Basic auth password")
    remove_password = BooleanField("Remove the stored password")
    schedule = RadioField(
        "Runs",
        choices=[
            SelectChoice("cron", "On a cron schedule"),
            SelectChoice("interval", "Every so many seconds"),
        ],
        default="cron",
    )
    cron_expr = StringField("Cron expression", default="0 2 * * *")
    interval_sec = StringField("Interval (seconds)", default="3600")
    timezone = StringField("Time zone", default="UTC")
    timeout_ms = StringField("Timeout (milliseconds)", default="30000")
    expected_status = StringField("Expected status codes", default="200-299")
    redirect_success = BooleanField("Count redirects (3xx) as success")
    tls_verify = BooleanField("Verify the TLS certificate", default=True)
    tls_expiry_warn_days = StringField(
        "Alert this many days before the certificate expires", default="14"
    )
    expires_at = StringField("Stop running after")
    enabled = BooleanField("Enabled", default=True)
    save_responses = BooleanField("Save response headers and body")
    auto_disable_after = StringField("Disable after this many failures in a row", default="15")
    notify_on_failure = BooleanField("Notify when it fails", default=True)
    notify_failure_after = StringField("Notify after this many failures in a row", default="1")
    notify_on_recovery = BooleanField("Notify when it succeeds again", default=True)
    notify_on_disable = BooleanField("Notify when it is disabled automatically", default=True)
    public = BooleanField("Show on the public status page")
    channels = channel_field()


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a button (run now, enable, disable, delete)."""


def _job_or_404(cron_job_id: int) -> CronJob:
    try:
        return cron_jobs.get(cron_job_id)
    except NotFound:
        abort(404)


def _initial(job: CronJob) -> dict[str, Any]:
    data = {name: getattr(job, name) for name in (*_TEXT, *_FLAGS, "description")}
    data |= {
        "group": job.group.name if job.group else "",
        "tags": tag_text(job),
        "method": job.method,
        "body": job.body or "",
        "auth_username": job.auth_username or "",
        "headers": fields.headers_text(job.headers),
        "expires_at": local_input(job.expires_at, job.timezone),
        "schedule": "cron" if job.cron_expr else "interval",
        "cron_expr": job.cron_expr or "",
        "interval_sec": job.interval_sec or "",
    }
    return {key: "" if value is None else value for key, value in data.items()}


def _submitted(form: CronJobForm, editing: bool) -> dict:
    """The service's fields from the form; a blank password on edit keeps the stored one."""
    data = {name: getattr(form, name).data for name in _FLAGS}
    for name in _TEXT:
        value = (getattr(form, name).data or "").strip()
        if value or name in _REQUIRED:
            data[name] = value
    for name in _CLEARABLE:
        data[name] = getattr(form, name).data or ""
    # The schedule chosen is sent; the other is cleared.
    if form.schedule.data == "interval":
        data["interval_sec"], data["cron_expr"] = (form.interval_sec.data or "").strip(), None
        if not data["interval_sec"]:
            data["interval_sec"] = "0"  # blank is no interval: refused with the reason
    else:
        data["cron_expr"], data["interval_sec"] = (form.cron_expr.data or "").strip(), None
    data["method"] = form.method.data
    data["headers"] = form.headers.data or ""
    if form.remove_password.data:
        data["auth_password"] = None
    elif form.auth_password.data:
        data["auth_password"] = form.auth_password.data
    expires_at = wall_time(form.expires_at.data, form.timezone.data)
    if expires_at is not None or editing:
        data["expires_at"] = expires_at
    data["channels"] = form.channels.data or []
    return data


def schedule_preview(cron_expr: str | None, timezone: str | None) -> dict:
    """What the preview fragment shows: the sentence and the next runs in the job's zone, or
    the message that says what is wrong with the expression or zone."""
    try:
        result = cron_jobs.preview(cron_expr, timezone or "UTC", PREVIEW_RUNS)
    except ValidationError as exc:
        return {"errors": exc.fields, "cron_expr": cron_expr}
    zone = ZoneInfo(schedule.validate_timezone(timezone or "UTC"))
    return {
        "description": result["description"],
        "zone": zone.key,
        "runs": [(run, run.astimezone(zone)) for run in result["next_runs"]],
    }


def _render_form(
    form: CronJobForm, job: CronJob | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "cron_jobs/form.html",
            form=form,
            job=job,
            preview=schedule_preview(form.cron_expr.data, form.timezone.data)
            if form.schedule.data != "interval"
            else None,
            zones=schedule.timezone_names(),
            groups=groups.list_groups(),
        ),
        status,
    )


def _save(form: CronJobForm, job: CronJob | None = None) -> ResponseReturnValue:
    """Create or update from a submitted form; the form again (422) when the service
    refuses. ``check_schedule`` only refreshes the preview, for browsers without JavaScript."""
    if "check_schedule" in request.form:
        return _render_form(form, job)
    try:
        if job is None:
            job = cron_jobs.create(_submitted(form, editing=False))
            flash(f"Cron job {job.name} created.", "success")
        else:
            job = cron_jobs.update(job.id, _submitted(form, editing=True))
            flash(f"Cron job {job.name} saved.", "success")
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render_form(form, job, status=422)
    return redirect(url_for("cron_jobs.detail", cron_job_id=job.id))


def list_filters(args: Mapping[str, str]) -> dict[str, Any]:
    """The list's filters from its query (or the bulk form, which carries them), as
    ``cron_jobs.list_cron_jobs`` and ``cron_jobs.matching_ids`` take them."""
    status = args.get("status", "")
    if status and status not in LIST_STATUSES:
        raise ValidationError({"status": f"Choose one of {', '.join(LIST_STATUSES)}."})
    return {
        "enabled": LIST_STATUSES.get(status),
        "tag": args.get("tag", "").strip() or None,
        "search": args.get("q", "").strip() or None,
    }


@bp.get("/")
def index() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    tag = request.args.get("tag", "").strip()
    try:
        page = cron_jobs.list_cron_jobs(
            **list_filters(request.args), page=request.args.get("page", 1), per_page=PER_PAGE
        )
    except ValidationError:
        abort(400)
    context = {
        "page": page,
        "search": search,
        "status": status,
        "statuses": tuple(LIST_STATUSES),
        "recent": beats.of_cron_jobs([j.id for j in page.items]),
        "tag": tag,
        "tag_names": tag_names(),
        "args": filter_args(q=search, status=status, tag=tag),
    }
    return render_list(
        "cron_jobs/index.html", "cron_jobs/partials/_list.html", "cron-job-list", **context
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    form = CronJobForm()
    offer_channels(form.channels)
    if form.validate_on_submit():
        return _save(form)
    return _render_form(form, status=422 if request.method == "POST" else 200)


@bp.get("/preview")
def preview() -> ResponseReturnValue:
    """The live preview fragment; the form asks for it as the expression or zone changes."""
    return render_template(
        "cron_jobs/partials/_preview.html",
        preview=schedule_preview(request.args.get("cron_expr"), request.args.get("timezone")),
    )


@bp.get("/<int:cron_job_id>")
def detail(cron_job_id: int) -> ResponseReturnValue:
    job = _job_or_404(cron_job_id)
    try:
        page = history.executions(cron_job_id, request.args.get("page", 1), PER_PAGE)
    except ValidationError:
        abort(400)
    # What the page shows: runs are stored once they end, so which runs, and how many in all.
    seen = fingerprint((page.total, [(run.id, run.started_at) for run in page.items]))
    if htmx_request.htmx and htmx_request.htmx.target == "executions":
        if request.args.get("seen") == seen:
            # The first page polls; left alone when nothing changed, it keeps keyboard focus
            # on its links and the reader's place in it (htmx swaps nothing on a 204).
            return "", 204
        return render_template("cron_jobs/partials/_executions.html", job=job, page=page, seen=seen)
    return render_template(
        "cron_jobs/detail.html",
        job=job,
        page=page,
        seen=seen,
        next_runs=cron_jobs.next_runs(cron_job_id, PREVIEW_RUNS),
        action_form=ActionForm(),
    )


@bp.route("/<int:cron_job_id>/edit", methods=["GET", "POST"])
def edit(cron_job_id: int) -> ResponseReturnValue:
    job = _job_or_404(cron_job_id)
    form = CronJobForm(data=_initial(job) if request.method == "GET" else None)
    offer_channels(form.channels, job)
    if form.validate_on_submit():
        return _save(form, job)
    return _render_form(form, job, status=422 if request.method == "POST" else 200)


@bp.get("/<int:cron_job_id>/executions/<int:execution_id>")
def execution(cron_job_id: int, execution_id: int) -> ResponseReturnValue:
    job = _job_or_404(cron_job_id)
    try:
        row = history.execution(cron_job_id, execution_id)
    except NotFound:
        abort(404)
    return render_template(
        "cron_jobs/execution.html", job=job, execution=row, phases=_waterfall(row)
    )


def _waterfall(row: CronExecution) -> list[dict[str, Any]]:
    """The phases of one execution for the timings chart: the probe records cumulative
    microseconds at the end of each step, so each phase runs from the previous mark to its
    own. Steps never reached (no TLS on http, no answer after a timeout) are left out."""
    marks = [
        ("DNS lookup", row.dns_us),
        ("Connect", row.connect_us),
        ("TLS handshake", row.tls_us),
        ("Waiting (first byte)", row.first_byte_us),
        ("Download", row.total_us),
    ]
    total = row.total_us or max((us for _, us in marks if us is not None), default=0)
    phases, start = [], 0
    for label, end in marks:
        if end is None or end < start:
            continue
        phases.append(
            {
                "label": label,
                "start_ms": start / 1000,
                "ms": (end - start) / 1000,
                "x": round(start / total * 100, 2) if total else 0,
                "width": max(round((end - start) / total * 100, 2), 0.3) if total else 0,
            }
        )
        start = end
    return phases


def _action(cron_job_id: int, act: Callable[[int], object], done: str) -> ResponseReturnValue:
    """Run a button's service call once its CSRF token checks out, then show the job."""
    job = _job_or_404(cron_job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        act(cron_job_id)
    except Unavailable as exc:
        flash(exc.message, "error")
    else:
        flash(done.format(name=job.name), "success")
    return redirect(url_for("cron_jobs.detail", cron_job_id=cron_job_id))


@bp.post("/<int:cron_job_id>/run")
def run_now(cron_job_id: int) -> ResponseReturnValue:
    return _action(
        cron_job_id, cron_jobs.run_now, "{name} is starting now; its execution appears below."
    )


@bp.post("/<int:cron_job_id>/enable")
def enable(cron_job_id: int) -> ResponseReturnValue:
    return _action(cron_job_id, cron_jobs.enable, "{name} enabled; it runs on its schedule.")


@bp.post("/<int:cron_job_id>/disable")
def disable(cron_job_id: int) -> ResponseReturnValue:
    return _action(cron_job_id, cron_jobs.disable, "{name} disabled; it will not run.")


@bp.post("/<int:cron_job_id>/delete")
def delete(cron_job_id: int) -> ResponseReturnValue:
    job = _job_or_404(cron_job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    cron_jobs.delete(cron_job_id)
    flash(f"Cron job {job.name} deleted with its executions.", "success")
    return redirect(url_for("cron_jobs.index"))
