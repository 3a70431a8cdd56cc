"""Dashboard pages: maintenance windows (list, create, edit with a preview of the coming
periods, delete) and the "maintenance now" action of each monitor, heartbeat and cron job."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField

from app.engine import schedule
from app.models import MaintenanceWindow
from app.models.types import utcnow
from app.services import maintenance
from app.services.errors import NotFound, ValidationError
from app.web import admin
from app.web.forms import MultiCheckboxField, apply_errors, local_input, wall_time

bp = admin.blueprint("maintenance", __name__, url_prefix="/maintenance")

PER_PAGE = 25
ONE_OFF = "one_off"
RECURRING = "recurring"
# Where "maintenance now" returns to, by the kind of item.
_DETAIL = {
    "monitor": ("monitors.detail", "monitor_id"),
    "heartbeat": ("heartbeats.detail", "monitor_id"),
    "cron_job": ("cron_jobs.detail", "cron_job_id"),
}


class WindowForm(FlaskForm):
    title = StringField("Title")
    message = TextAreaField("Message")
    kind = RadioField(
        "When",
        choices=[
            SelectChoice(ONE_OFF, "Once, from a start to an end"),
            SelectChoice(RECURRING, "On a schedule"),
        ],
        default=ONE_OFF,
    )
    starts_at = StringField("Starts")
    ends_at = StringField("Ends")
    cron_expr = StringField("Starts on the cron schedule", default="0 2 * * 0")
    duration_min = StringField("Lasts (minutes)", default="60")
    timezone = StringField("Time zone", default="UTC")
    monitor_ids = MultiCheckboxField("Monitors", coerce=int)
    heartbeat_ids = MultiCheckboxField("Heartbeats", coerce=int)
    cron_job_ids = MultiCheckboxField("Cron jobs", coerce=int)
    group_ids = MultiCheckboxField("Groups (every item in them, now and later)", coerce=int)
    tags = MultiCheckboxField("Tags (every item carrying them, now and later)")


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a button (delete, maintenance now)."""


def _window_or_404(window_id: int) -> MaintenanceWindow:
    try:
        return maintenance.get(window_id)
    except NotFound:
        abort(404)


def _offer_targets(form: WindowForm) -> None:
    choices = maintenance.target_choices()
    form.monitor_ids.choices = choices["monitors"]
    form.heartbeat_ids.choices = choices["heartbeats"]
    form.cron_job_ids.choices = choices["cron_jobs"]
    form.group_ids.choices = choices["groups"]
    form.tags.choices = choices["tags"]


def _initial(window: MaintenanceWindow) -> dict[str, Any]:
    zone = window.timezone
    return {
        "title": window.title,
        "message": window.message,
        "kind": RECURRING if window.recurring else ONE_OFF,
        "starts_at": local_input(window.starts_at, zone),
        "ends_at": local_input(window.ends_at, zone),
        "cron_expr": window.cron_expr or "0 2 * * 0",
        "duration_min": str(window.duration_min or 60),
        "timezone": zone,
        "monitor_ids": [m.id for m in window.monitors],
        "heartbeat_ids": [m.id for m in window.monitors],
        "cron_job_ids": [j.id for j in window.cron_jobs],
        "group_ids": [g.id for g in window.groups],
        "tags": [t.name for t in window.tags],
    }


def _submitted(form: WindowForm) -> dict:
    """The service's fields: the pair of the chosen kind, the other pair cleared."""
    zone = (form.timezone.data or "").strip() or "UTC"
    data = {
        "title": form.title.data or "",
        "message": form.message.data or "",
        "timezone": zone,
        "monitor_ids": [*(form.monitor_ids.data or []), *(form.heartbeat_ids.data or [])],
        "cron_job_ids": form.cron_job_ids.data or [],
        "group_ids": form.group_ids.data or [],
        "tags": form.tags.data or [],
    }
    if form.kind.data == RECURRING:
        data |= {"cron_expr": form.cron_expr.data or "", "duration_min": form.duration_min.data}
        data |= {"starts_at": None, "ends_at": None}
    else:
        data |= {"cron_expr": None, "duration_min": None}
        data |= {
            "starts_at": wall_time(form.starts_at.data, zone) or "",
            "ends_at": wall_time(form.ends_at.data, zone) or "",
        }
    return data


def periods_preview(
    cron_expr: str | None, duration_min: str | None, timezone: str | None
) -> dict[str, Any]:
    """What the preview fragment shows: the next periods in the window's zone, or what is
    wrong with the fields."""
    data = {"cron_expr": cron_expr, "duration_min": duration_min, "timezone": timezone or "UTC"}
    try:
        periods = maintenance.preview(data)
    except ValidationError as exc:
        return {"errors": exc.fields}
    zone = ZoneInfo(schedule.validate_timezone(timezone or "UTC"))
    return {
        "zone": zone.key,
        "description": schedule.describe((cron_expr or "").strip()),  # not blank: preview took it
        "periods": [(start.astimezone(zone), end.astimezone(zone)) for start, end in periods],
    }


def _render_form(
    form: WindowForm, window: MaintenanceWindow | None = None, status: int = 200
) -> ResponseReturnValue:
    preview = periods_preview(form.cron_expr.data, form.duration_min.data, form.timezone.data)
    return (
        render_template(
            "maintenance/form.html",
            form=form,
            window=window,
            preview=preview,
            zones=schedule.timezone_names(),
        ),
        status,
    )


def _save(form: WindowForm, window: MaintenanceWindow | None = None) -> ResponseReturnValue:
    """Create or update from a submitted form; the form again (422) when the service refuses.
    ``check_schedule`` only refreshes the preview, for browsers without JavaScript."""
    if "check_schedule" in request.form:
        return _render_form(form, window)
    try:
        if window is None:
            window = maintenance.create(_submitted(form))
            flash(f"Maintenance window {window.title} created.", "success")
        else:
            window = maintenance.update(window.id, _submitted(form))
            flash(f"Maintenance window {window.title} saved.", "success")
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render_form(form, window, status=422)
    return redirect(url_for("maintenance.index"))


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        page = maintenance.list_windows(page=request.args.get("page", 1), per_page=PER_PAGE)
    except ValidationError:
        abort(400)
    now = utcnow()
    rows = [
        (w, maintenance.status(w, now), next(iter(maintenance.periods(w, now, 1)), None))
        for w in page.items
    ]
    return render_template("maintenance/index.html", page=page, rows=rows, form=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    form = WindowForm()
    _offer_targets(form)
    if form.validate_on_submit():
        return _save(form)
    return _render_form(form, status=422 if request.method == "POST" else 200)


@bp.route("/<int:window_id>/edit", methods=["GET", "POST"])
def edit(window_id: int) -> ResponseReturnValue:
    window = _window_or_404(window_id)
    form = WindowForm(data=_initial(window) if request.method == "GET" else None)
    _offer_targets(form)
    if form.validate_on_submit():
        return _save(form, window)
    return _render_form(form, window, status=422 if request.method == "POST" else 200)


@bp.get("/preview")
def preview() -> ResponseReturnValue:
    """The preview fragment; the form asks for it as the schedule fields change."""
    args = request.args
    return render_template(
        "maintenance/partials/_preview.html",
        preview=periods_preview(
            args.get("cron_expr", ""), args.get("duration_min", ""), args.get("timezone")
        ),
    )


@bp.post("/<int:window_id>/delete")
def delete(window_id: int) -> ResponseReturnValue:
    window = _window_or_404(window_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    maintenance.delete(window_id)
    flash(f"Maintenance window {window.title} deleted.", "success")
    return redirect(url_for("maintenance.index"))


@bp.post("/now/<kind>/<int:item_id>")
def now(kind: str, item_id: int) -> ResponseReturnValue:
    """Maintenance from now for the minutes typed on an item's detail page."""
    if kind not in _DETAIL or not ActionForm().validate_on_submit():
        abort(400)
    endpoint, id_name = _DETAIL[kind]
    try:
        window = maintenance.start_now(
            "cron_job" if kind == "cron_job" else "monitor", item_id, request.form.get("minutes")
        )
    except NotFound:
        abort(404)
    except ValidationError as exc:
        flash(" ".join(exc.fields.values()), "error")
    else:
        flash(f"Under maintenance until {window.ends_at:%Y-%m-%d %H:%M} UTC.", "success")
    values: dict[str, Any] = {id_name: item_id}
    return redirect(url_for(endpoint, **values))


@bp.app_context_processor
def _panel():
    """``maintenance_panel(kind, id)`` for the detail pages' maintenance card: until when a
    window covers the item now, and the windows that name it (directly or by its group);
    ``under_maintenance(kind, id)`` for the lists' status column."""

    def maintenance_panel(kind: str, item_id: int) -> dict:
        subject = "cron_job" if kind == "cron_job" else "monitor"
        under = maintenance.covered()
        held = under.cron_jobs if subject == "cron_job" else under.monitors
        return {"until": held.get(item_id), "windows": maintenance.targets_of(subject, item_id)}

    def under_maintenance(kind: str, item_id: int) -> bool:
        """Whether a window covers the item now; the lists ask per row, SQL once a request."""
        if "maintenance_covered" not in g:
            g.maintenance_covered = maintenance.covered()
        under = g.maintenance_covered
        return item_id in (under.cron_jobs if kind == "cron_job" else under.monitors)

    return {"maintenance_panel": maintenance_panel, "under_maintenance": under_maintenance}
