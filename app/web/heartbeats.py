"""Dashboard pages: heartbeats (list, create, edit, detail with the ping URL, snippets and the
ping log, pause, resume, regenerate the code, delete)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from app import durations
from app.engine import schedule
from app.models import Monitor
from app.models.monitor import (
    KIND_HEARTBEAT,
    STATE_DOWN,
    STATE_LATE,
    STATE_NEW,
    STATE_PAUSED,
    STATE_UP,
)
from app.models.types import utcnow
from app.services import beats, groups, history, incidents, monitors, ping_key, pings
from app.services.errors import NotFound, ValidationError
from app.services.monitors import RUNNING_TIME_UNITS
from app.web import admin, charts, status_svg
from app.web.cron_jobs import schedule_preview
from app.web.forms import apply_errors, channel_field, offer_channels, tag_text
from app.web.lists import filter_args, render_list, tag_names

bp = admin.blueprint("heartbeats", __name__, url_prefix="/heartbeats")

PER_PAGE = 25
# The run-time chart's ranges: every run is drawn (heartbeats report far less often than
# monitors check).
RUN_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
# The states a heartbeat can be in, for the list's filter.
LIST_STATES = (STATE_NEW, STATE_UP, STATE_LATE, STATE_DOWN, STATE_PAUSED)
PERIOD_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
_PERIOD_MESSAGE = "Enter a period from 1 minute to 365 days."
_CRON_MISSING = "Enter a cron expression, such as 0 2 * * * (every day at 02:00)."


class HeartbeatForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    group = StringField("Group")
    tags = StringField("Tags")
    schedule = RadioField(
        "Schedule",
        choices=[
            SelectChoice("period", "Every so often (a period)"),
            SelectChoice("cron", "On a cron schedule"),
        ],
        default="period",
    )
    period = StringField("Period", default="1")
    period_unit = SelectField("Period unit", choices=list(PERIOD_UNITS), default="days")
    cron_expr = StringField("Cron expression")
    timezone = StringField("Time zone", default="UTC")
    grace_period = StringField("Grace time (minutes)", default="5")
    running_time = StringField("Longest running time")
    running_time_unit = SelectField(
        "Running time unit", choices=list(RUNNING_TIME_UNITS), default="minutes"
    )
    min_run_sec = StringField("Shortest running time (seconds)")
    public = BooleanField("Show on the public status page")
    manual_resume = BooleanField("Stay paused until resumed by hand")
    notify_late = BooleanField("Alert when late, not only when down", default=True)
    reminder_hours = StringField("Remind every (hours) while down")
    channels = channel_field()


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a button (pause, resume, regenerate, delete)."""


def _heartbeat_or_404(monitor_id: int) -> Monitor:
    try:
        return monitors.get_heartbeat(monitor_id)
    except NotFound:
        abort(404)


def _in_unit(seconds: int | None, units: dict[str, int]) -> tuple[str, str | None]:
    """A number of seconds as the form's amount and unit (empty when there is none)."""
    if not seconds:
        return "", None
    amount, unit = durations.largest_unit(seconds, units)
    return str(amount), unit


def _initial(monitor: Monitor) -> dict[str, Any]:
    period, period_unit = _in_unit(monitor.period_sec, PERIOD_UNITS)
    running, running_unit = _in_unit(monitor.max_run_sec, RUNNING_TIME_UNITS)
    return {
        "name": monitor.name,
        "description": monitor.description,
        "group": monitor.group.name if monitor.group else "",
        "tags": tag_text(monitor),
        "schedule": "cron" if monitor.cron_expr else "period",
        "period": period,
        "period_unit": period_unit or "minutes",
        "cron_expr": monitor.cron_expr or "",
        "timezone": monitor.timezone,
        "grace_period": str(max(1, monitor.grace_sec // 60)),
        "running_time": running,
        "running_time_unit": running_unit or "seconds",
        "min_run_sec": "" if monitor.min_run_sec is None else str(monitor.min_run_sec),
        "public": monitor.public,
        "manual_resume": monitor.manual_resume,
        "notify_late": monitor.notify_late,
        "reminder_hours": "" if monitor.reminder_hours is None else str(monitor.reminder_hours),
    }


def _submitted(form: HeartbeatForm, monitor: Monitor | None = None) -> dict[str, Any]:
    """The service's fields from the form: the chosen schedule replaces the other one."""
    data = {
        "name": form.name.data or "",
        "description": form.description.data or "",
        "group": form.group.data or "",
        "tags": form.tags.data or "",
        "timezone": (form.timezone.data or "").strip() or "UTC",
        "running_time": form.running_time.data or "",
        "running_time_unit": form.running_time_unit.data,
        "min_run_sec": form.min_run_sec.data or "",
        "public": form.public.data,
        "manual_resume": form.manual_resume.data,
        "notify_late": form.notify_late.data,
        "reminder_hours": (form.reminder_hours.data or "").strip() or None,
        "channels": form.channels.data or [],
    }
    if monitor is None:
        data["kind"] = KIND_HEARTBEAT
    grace = (form.grace_period.data or "").strip()
    # A grace time set in seconds through the API shows rounded to minutes; left as shown,
    # it stays as it was rather than being rounded on save.
    unchanged = monitor is not None and grace == _initial(monitor)["grace_period"]
    if grace and not unchanged:
        data["grace_period"] = grace
    if form.schedule.data == "cron":
        data["cron_expr"], data["period_sec"] = form.cron_expr.data or "", None
    else:
        amount = (form.period.data or "").strip()
        size = PERIOD_UNITS.get(form.period_unit.data, 1)
        data["period_sec"] = (
            int(amount) * size
            if amount.isascii() and amount.isdigit() and len(amount) < 10
            else amount
        )
        data["cron_expr"] = None
    return data


def _apply_errors(form: HeartbeatForm, exc: ValidationError) -> None:
    """Show the service's errors next to the fields this form has: the period is typed in
    a unit rather than seconds, and a missing schedule belongs to the one chosen."""
    errors = dict(exc.fields)
    if "period_sec" in errors:
        del errors["period_sec"]
        if form.schedule.data == "cron":
            errors.setdefault("cron_expr", _CRON_MISSING)
        else:
            errors["period"] = _PERIOD_MESSAGE
    if "max_run_sec" in errors:
        errors["running_time"] = errors.pop("max_run_sec")
    if "grace_sec" in errors:
        errors["grace_period"] = errors.pop("grace_sec")
    apply_errors(form, ValidationError(errors))


def _render_form(
    form: HeartbeatForm, monitor: Monitor | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "heartbeats/form.html",
            form=form,
            heartbeat=monitor,
            preview=schedule_preview(form.cron_expr.data, form.timezone.data)
            if (form.cron_expr.data or "").strip()
            else None,
            zones=schedule.timezone_names(),
            groups=groups.list_groups(),
        ),
        status,
    )


def _save(form: HeartbeatForm, monitor: Monitor | None = None) -> ResponseReturnValue:
    """Create or update from a submitted form; ``check_schedule`` only refreshes the
    schedule's preview, for browsers without JavaScript."""
    if "check_schedule" in request.form:
        return _render_form(form, monitor)
    try:
        if monitor is None:
            monitor = monitors.create(_submitted(form))
            flash(f"Heartbeat {monitor.name} created. Ping its URL when your job runs.", "success")
        else:
            monitor = monitors.update(monitor.id, _submitted(form, monitor))
            flash(f"Heartbeat {monitor.name} saved.", "success")
    except ValidationError as exc:
        _apply_errors(form, exc)
        return _render_form(form, monitor, status=422)
    return redirect(url_for("heartbeats.detail", monitor_id=monitor.id))


bp.add_app_template_filter(durations.exact, "period_words")
bp.add_app_template_filter(durations.in_words, "run_time")


def ping_url(monitor: Monitor) -> str:
    """The address a job calls; built like the API's, from UPCRON_BASE_URL."""
    return f"{current_app.config['BASE_URL']}/ping/{monitor.code}"


def list_filters(args: Mapping[str, Any]) -> dict[str, Any]:
    """The list's filters from its query (or the bulk form, which carries them), as
    ``monitors.list_monitors`` and ``monitors.matching_ids`` take them."""
    state = args.get("state", "")
    if state and state not in LIST_STATES:
        raise ValidationError({"state": f"Choose one of {', '.join(LIST_STATES)}."})
    return {
        "kind": KIND_HEARTBEAT,
        "state": state or None,
        "tag": args.get("tag", "").strip() or None,
        "search": args.get("q", "").strip() or None,
    }


@bp.get("/")
def index() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()
    state = request.args.get("state", "")
    tag = request.args.get("tag", "").strip()
    try:
        page = monitors.list_monitors(
            **list_filters(request.args), page=request.args.get("page", 1), per_page=PER_PAGE
        )
    except ValidationError:
        abort(400)
    context = {
        "page": page,
        "search": search,
        "state": state,
        "states": LIST_STATES,
        "recent": beats.of_heartbeats([m.id for m in page.items]),
        "tag": tag,
        "tag_names": tag_names(),
        "args": filter_args(q=search, state=state, tag=tag),
    }
    return render_list(
        "heartbeats/index.html", "heartbeats/partials/_list.html", "heartbeat-list", **context
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    form = HeartbeatForm()
    offer_channels(form.channels)
    if form.validate_on_submit():
        return _save(form)
    return _render_form(form, status=422 if request.method == "POST" else 200)


@bp.get("/<int:monitor_id>")
def detail(monitor_id: int) -> ResponseReturnValue:
    monitor = _heartbeat_or_404(monitor_id)
    try:
        page = pings.list_pings(monitor_id, request.args.get("page", 1), PER_PAGE)
    except ValidationError:
        abort(400)
    chosen = request.args.get("range", "24h")
    if chosen not in RUN_RANGES:
        chosen = "24h"
    now = utcnow()
    span = RUN_RANGES[chosen]
    points = history.run_points(monitor_id, now, span)
    context = {
        "heartbeat": monitor,
        "status": monitors.heartbeat_status(monitor_id),
        "page": page,
        "uptime": history.uptime("monitor", monitor_id, now),
        "percent": status_svg.percent,
        "recent_beats": beats.of_heartbeats([monitor_id])[monitor_id],
        "incidents": incidents.list_incidents(monitor_id=monitor_id, per_page=10),
        "chart": charts.point_chart(
            monitor.name, chosen, points, now, span, noun="runs", what="Run time"
        ),
        "chart_heading": "Run time",
        "chart_limit": None,
        "ranges": list(RUN_RANGES),
        "chosen": chosen,
        "range_endpoint": "heartbeats.detail",
        "range_args": {"monitor_id": monitor_id},
    }
    target = htmx_request.htmx.target if htmx_request.htmx else None
    if target == "response-chart":
        return render_template("monitors/partials/_chart.html", **context)
    if target == "heartbeat-status":
        response = make_response(render_template("heartbeats/partials/_status.html", **context))
        # The status polls; the ping log reloads only when the count of pings changed, so
        # a body someone opened in it is not folded away every few seconds.
        if request.args.get("seen") != str(page.total):
            response.headers["HX-Trigger"] = "pings-changed"
        return response
    if target == "pings":
        return render_template("heartbeats/partials/_pings.html", heartbeat=monitor, page=page)
    return render_template(
        "heartbeats/detail.html",
        **context,
        ping_url=ping_url(monitor),
        slug_ping_url=f"{current_app.config['BASE_URL']}/ping/{ping_key.get()}/{monitor.slug}",
        push_url=f"{current_app.config['BASE_URL']}/api/push/{monitor.push_token}",
        action_form=ActionForm(),
    )


@bp.route("/<int:monitor_id>/edit", methods=["GET", "POST"])
def edit(monitor_id: int) -> ResponseReturnValue:
    monitor = _heartbeat_or_404(monitor_id)
    form = HeartbeatForm(data=_initial(monitor) if request.method == "GET" else None)
    offer_channels(form.channels, monitor)
    if form.validate_on_submit():
        return _save(form, monitor)
    return _render_form(form, monitor, status=422 if request.method == "POST" else 200)


def _action(monitor_id: int, act: Callable[[int], object], done: str) -> ResponseReturnValue:
    """Run a button's service call once its CSRF token checks out, then show the heartbeat."""
    monitor = _heartbeat_or_404(monitor_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    act(monitor_id)
    flash(done.format(name=monitor.name), "success")
    return redirect(url_for("heartbeats.detail", monitor_id=monitor_id))


@bp.post("/<int:monitor_id>/pause")
def pause(monitor_id: int) -> ResponseReturnValue:
    return _action(monitor_id, monitors.pause, "{name} paused; missing pings raise no alert.")


@bp.post("/<int:monitor_id>/resume")
def resume(monitor_id: int) -> ResponseReturnValue:
    return _action(monitor_id, monitors.resume, "{name} resumed; it waits for the next ping.")


@bp.post("/<int:monitor_id>/regenerate")
def regenerate(monitor_id: int) -> ResponseReturnValue:
    return _action(
        monitor_id,
        monitors.regenerate_code,
        "{name} has a new ping URL; the old one no longer works, so update your jobs.",
    )


@bp.post("/<int:monitor_id>/delete")
def delete(monitor_id: int) -> ResponseReturnValue:
    monitor = _heartbeat_or_404(monitor_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    monitors.delete(monitor_id)
    flash(f"Heartbeat {monitor.name} deleted with its pings.", "success")
    return redirect(url_for("heartbeats.index"))
