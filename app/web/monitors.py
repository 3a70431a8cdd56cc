"""Dashboard pages for uptime monitors (kinds http, keyword, tcp, dns and ping): the list, the
form with inline validation and the fields of the chosen kind, the detail page with its charts and
history, pause, resume and delete.

Heartbeat monitors share the table but have pages of their own (``app.web.heartbeats``);
here their ids answer 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from app.models import Monitor
from app.models.monitor import KIND_DNS, KIND_HTTP, KIND_KEYWORD, KIND_PING, KIND_TCP, STATES
from app.models.types import utcnow
from app.services import assertions, beats, fields, groups, history, incidents, monitors
from app.services.errors import NotFound, ValidationError
from app.services.fields import METHODS
from app.services.history import RESPONSE_RANGES
from app.services.monitors import (
    FOREIGN_FIELDS,
    HTTP_KINDS,
    RECORD_TYPES,
    UPTIME_KINDS,
)
from app.web import admin, charts, status_svg
from app.web.forms import apply_errors, channel_field, offer_channels, tag_text
from app.web.lists import filter_args, render_list, tag_names

bp = admin.blueprint("monitors", __name__, url_prefix="/monitors")

PER_PAGE = 25
CHECKS_PER_PAGE = 25
TIMINGS_SHOWN = 10
LIST_STATES = tuple(s for s in STATES if s not in ("new", "late"))

_NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}
KIND_CHOICES = {
    KIND_HTTP: "HTTP: the status code",
    KIND_KEYWORD: "HTTP: the status code and a keyword in the body",
    KIND_TCP: "TCP: a connection to a port (and a TLS handshake)",
    KIND_DNS: "DNS: a record and the values it must hold",
    KIND_PING: "Ping: ICMP echo requests and how many may be lost",
}


# The words each op (assertions.OPS) stands for in the form's choices.
_OP_LABELS = {
    "eq": "eq: equals",
    "ne": "ne: does not equal",
    "lt": "lt: less than",
    "lte": "lte: at most",
    "gt": "gt: greater than",
    "gte": "gte: at least",
    "contains": "contains",
    "not_contains": "not_contains: does not contain",
    "matches": "matches: regular expression",
    "exists": "exists",
    "not_exists": "not_exists: missing or null",
}
_CODE = {"autocomplete": "off", "spellcheck": "false"}
_NONE = SelectChoice("", "(none)")


class AssertionRow(Form):
    """One response assertion as a row of the form: the service judges every part."""

    source = SelectField(
        "Source",
        choices=[_NONE, *(SelectChoice(source, source) for source in assertions.SOURCES)],
        validate_choice=False,
    )
    path = StringField("Header or JMESPath", render_kw=_CODE)
    op = SelectField(
        "Operator",
        choices=[_NONE, *(SelectChoice(op, _OP_LABELS[op]) for op in assertions.OPS)],
        validate_choice=False,
    )
    value = StringField("Value", render_kw=_CODE)


class MonitorForm(FlaskForm):
    """The fields of an uptime monitor, named as the service names them; the service judges
    every value (so a form and the API refuse the same things with the same words)."""

    name = StringField("Name", render_kw={"autocomplete": "off"})
    description = TextAreaField("Description", render_kw={"rows": 2})
    kind = SelectField(
        "Check",
        choices=[SelectChoice(kind, label) for kind, label in KIND_CHOICES.items()],
        validate_choice=False,
    )
    host = StringField("Host", render_kw={"autocomplete": "off", "spellcheck": "false"})
    port = StringField("Port", render_kw=_NUMERIC)
    tls = BooleanField("Complete a TLS handshake too")
    tls_verify = BooleanField("Verify the TLS certificate", default=True)
    tls_expiry_warn_days = StringField("Warn this many days before the certificate expires",
                                       default="14", render_kw=_NUMERIC)  # fmt: skip
    record_type = SelectField("Record type", choices=list(RECORD_TYPES), validate_choice=False)
    resolver = StringField("Resolver", render_kw={"autocomplete": "off", "spellcheck": "false"})
    expected_values = TextAreaField("Expected values", render_kw={"rows": 3})
    packets = StringField("Packets", default="3", render_kw=_NUMERIC)
    max_loss_pct = StringField("Loss allowed (%)", default="0", render_kw=_NUMERIC)
    url = StringField("URL", render_kw={"inputmode": "url", "autocomplete": "off"})
    method = SelectField("Method", choices=list(METHODS), validate_choice=False)
    interval_sec = StringField("Check every (seconds)", default="60", render_kw=_NUMERIC)
    timeout_ms = StringField("Timeout (milliseconds)", default="10000", render_kw=_NUMERIC)
    expected_status = StringField("Expected status codes", default="200-399")
    keyword = StringField("Keyword")
    keyword_absent = BooleanField("Alert when the keyword is present instead")
    headers = TextAreaField("Request headers", render_kw={"rows": 3})
    body = TextAreaField("Request body", render_kw={"rows": 3})
    auth_username = StringField("Basic auth user", render_kw={"autocomplete": "off"})
    auth_password = PasswordField("Basic auth password", render_kw={"autocomplete": "new-password"})
    assertions = FieldList(
        FormField(AssertionRow), min_entries=1, max_entries=assertions.ASSERTIONS_MAX
    )
    follow_redirects = BooleanField("Follow redirects", default=True)
    max_redirects = StringField("At most this many redirects", default="10", render_kw=_NUMERIC)
    failure_threshold = StringField("Down after this many failed checks", default="2",
                                    render_kw=_NUMERIC)  # fmt: skip
    recovery_threshold = StringField("Up again after this many good checks", default="1",
                                     render_kw=_NUMERIC)  # fmt: skip
    reminder_hours = StringField("Remind every (hours) while down", render_kw=_NUMERIC)
    degraded_after_ms = StringField("Degraded when slower than (milliseconds)",
                                    render_kw=_NUMERIC)  # fmt: skip
    notify_degraded_slow = BooleanField("Alert when slowness makes it degraded")
    notify_degraded_certificate = BooleanField(
        "Alert when a certificate expiring soon makes it degraded", default=True
    )
    group = StringField("Group", render_kw={"list": "group-names", "autocomplete": "off"})
    tags = StringField("Tags", render_kw={"autocomplete": "off"})
    public = BooleanField("Show on the public status page")
    paused = BooleanField("Create it paused")
    channels = channel_field()


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a button (pause, resume, delete)."""


# Form fields that are text boxes or choices, sent to the service as typed.
_TEXT = (
    "name",
    "description",
    "kind",
    "url",
    "method",
    "interval_sec",
    "timeout_ms",
    "expected_status",
    "keyword",
    "headers",
    "body",
    "auth_username",
    "max_redirects",
    "host",
    "port",
    "tls_expiry_warn_days",
    "record_type",
    "resolver",
    "packets",
    "max_loss_pct",
    "failure_threshold",
    "recovery_threshold",
    "reminder_hours",
    "degraded_after_ms",
    "group",
    "tags",
)
_FLAGS = (
    "keyword_absent",
    "follow_redirects",
    "tls",
    "tls_verify",
    "public",
    "notify_degraded_slow",
    "notify_degraded_certificate",
)
# Validated as a field is left. Not the choices (they cannot be wrong, and swapping a select
# while it has focus would lose it) nor the password (never sent back to the page).
LIVE_FIELDS = (frozenset(_TEXT) | {"expected_values"}) - {"kind", "method", "record_type"}
# The button that, without JavaScript, asks for the form again with the chosen kind's fields.
SHOW_KIND = "show_kind"
# The button that adds a row of assertions: htmx swaps the rows, without it the form is sent.
ADD_ASSERTION = "add_assertion"
_ASSERTION_ERROR = re.compile(r"assertions\[(\d+)\]\.(source|path|op|value)")
HINTS = {
    "name": "Shown on the dashboard, in alerts and, if public, on the status page.",
    "url": "The full http:// or https:// address to call, such as https://example.com/health.",
    "host": "The host name or IP address to connect to, such as db.example.com.",
    "port": "From 1 to 65535.",
    "interval_sec": "From 10 seconds to 86400 (a day).",
    "timeout_ms": "From 100 to 60000; a slower answer counts as a failure.",
    "expected_status": "Codes and ranges that count as up, such as 200-299,301.",
    "keyword": "Text the body must contain (for keyword checks).",
    "headers": "One per line, as Name: value. Secret values show as •••• and stay as saved "
    "while left so.",
    "body": "Sent with POST, PUT and PATCH requests.",
    "reminder_hours": "Optional. Alert again every this many hours while it stays down.",
    "degraded_after_ms": "Optional. A slower answer is a warning; as many in a row as make it "
    "down make it degraded (amber, still up). Below the timeout.",
    "group": "Optional. Groups sort the overview and the status page; a new name creates one.",
    "tags": "Optional. Separate names with commas, such as prod, db; a new name creates the tag.",
    "tls_expiry_warn_days": "From 0 (off) to 365. The monitor turns degraded, and alerts go "
    "out at this many days, then at 7, 3 and 1 days, once per certificate.",
    "resolver": "Optional. The IP address of the DNS server to ask, with a port if not 53, "
    "such as 192.0.2.53 or [2001:db8::53]:5353; empty: the system's resolvers.",
    "expected_values": "Optional. One per line, all of which the answer must hold (any case, "
    "such as 192.0.2.10 or 10 mail.example.com); empty: any answer is up.",
}
_DNS_HINTS = HINTS | {"host": "The name to look up, such as example.com."}
_PING_HINTS = HINTS | {
    "host": "The host name or IP address to ping, such as gateway.example.com.",
    "packets": "From 1 to 10 echo requests per check, sent one after the other within the timeout.",
    "max_loss_pct": "From 0 to 100: up while at most this share of the packets is lost.",
}


def hints_for(kind: str | None) -> dict[str, str]:
    """The hints under the fields: a dns monitor's host is a name to look up, a ping
    monitor's a host to ping."""
    return {KIND_DNS: _DNS_HINTS, KIND_PING: _PING_HINTS}.get(kind or "", HINTS)


def _monitor_or_404(monitor_id: int) -> Monitor:
    try:
        monitor = monitors.get(monitor_id)
    except NotFound:
        abort(404)
    if monitor.kind not in UPTIME_KINDS:
        abort(404)
    return monitor


def _initial(monitor: Monitor) -> dict[str, Any]:
    """The edit form's values. The password stays empty: blank means "keep"."""
    data = {
        name: getattr(monitor, name) for name in _TEXT + _FLAGS if name not in ("group", "tags")
    }
    data["group"] = monitor.group.name if monitor.group else ""
    data["tags"] = tag_text(monitor)
    data["headers"] = fields.headers_text(monitor.headers)
    for name in (
        "description",
        "keyword",
        "body",
        "auth_username",
        "host",
        "port",
        "resolver",
        "packets",
        "max_loss_pct",
    ):
        data[name] = "" if data[name] is None else data[name]
    data["record_type"] = monitor.record_type or "A"
    data["expected_values"] = "\n".join(monitor.expected_values or [])
    data["reminder_hours"] = "" if monitor.reminder_hours is None else monitor.reminder_hours
    data["degraded_after_ms"] = (
        "" if monitor.degraded_after_ms is None else monitor.degraded_after_ms
    )
    # The saved assertions, then an empty row for one more (if one more is allowed).
    data["assertions"] = [
        {
            "source": item["source"],
            "path": item["path"] or "",
            "op": item["op"],
            "value": assertions.to_text(item["source"], item["op"], item["value"]),
        }
        for item in monitor.assertions or []
    ]
    if len(data["assertions"]) < assertions.ASSERTIONS_MAX:
        data["assertions"].append({})
    return data


def _assertion_rows(form: MonitorForm) -> tuple[list[dict], list[int]]:
    """The assertions typed into the form, as the API would send them, and the row each
    came from: a blank row is none, so errors (by place in the list) need the way back."""
    rows, positions = [], []
    for position, entry in enumerate(form.assertions.entries):
        source, path, op, value = (entry.form[name].data or "" for name in assertions.KEYS)
        if not (source or path.strip() or op or value.strip()):
            continue
        rows.append(
            {
                "source": source or None,
                "path": path.strip() or None,
                "op": op or None,
                "value": assertions.from_text(source, op, value),
            }
        )
        positions.append(position)
    return rows, positions


def _add_row(form: MonitorForm) -> None:
    if len(form.assertions) < assertions.ASSERTIONS_MAX:
        form.assertions.append_entry()


def _apply_errors(form: MonitorForm, exc: ValidationError) -> None:
    """The service's errors inline; an assertion's next to the part of its row."""
    _, positions = _assertion_rows(form)
    rest = {}
    for name, message in exc.fields.items():
        match = _ASSERTION_ERROR.fullmatch(name)
        if match and int(match[1]) < len(positions):
            form.assertions[positions[int(match[1])]][match[2]].errors = [message]
        else:
            rest[name] = message
    apply_errors(form, ValidationError(rest))


def _submitted(form: MonitorForm, editing: bool) -> dict:
    """The service's fields from the form, those of the chosen kind only. On edit a blank
    password keeps the one saved, unless the user name was cleared too (then there is no
    sign-in any more)."""
    foreign = FOREIGN_FIELDS.get(form.kind.data, FOREIGN_FIELDS[KIND_HTTP])
    data = {name: form[name].data or "" for name in _TEXT if name not in foreign}
    data.update({name: bool(form[name].data) for name in _FLAGS if name not in foreign})
    data["channels"] = form.channels.data or []
    if form.kind.data == KIND_DNS:
        data["expected_values"] = (form.expected_values.data or "").splitlines()
    if "assertions" not in foreign:
        data["assertions"] = _assertion_rows(form)[0]
    http = "auth_password" not in foreign
    if http and form.auth_password.data:
        data["auth_password"] = form.auth_password.data
    elif http and not data["auth_username"]:
        data["auth_password"] = None
    if not editing:
        data["paused"] = bool(form.paused.data)
    return data


def _offer_kinds(form: MonitorForm, monitor: Monitor | None) -> None:
    """A saved monitor can change only within its family (http and keyword); a new one can
    be of any uptime kind. An unknown kind in the input shows the HTTP fields."""
    kinds: tuple[str, ...]
    if monitor is None:
        kinds = UPTIME_KINDS
    elif monitor.kind in HTTP_KINDS:
        kinds = HTTP_KINDS
    else:
        kinds = (monitor.kind,)
    form.kind.choices = [SelectChoice(kind, KIND_CHOICES[kind]) for kind in kinds]
    if form.kind.data not in kinds:
        form.kind.data = monitor.kind if monitor else KIND_HTTP


def _render_form(
    form: MonitorForm, monitor: Monitor | None = None, status: int = 200
) -> ResponseReturnValue:
    offer_channels(form.channels, monitor)
    _offer_kinds(form, monitor)
    return (
        render_template(
            "monitors/form.html",
            form=form,
            monitor=monitor,
            group_names=[group.name for group in groups.list_groups()],
            live_fields=LIVE_FIELDS,
            hints=hints_for(form.kind.data),
            action_form=ActionForm(),
        ),
        status,
    )


def list_filters(args: Mapping[str, str]) -> dict[str, Any]:
    """The list's filters from its query (or the bulk form, which carries them), as
    ``monitors.list_monitors`` and ``monitors.matching_ids`` take them."""
    return {
        "kind": UPTIME_KINDS,
        "state": args.get("state") or None,
        "tag": args.get("tag", "").strip() or None,
        "search": args.get("q", "").strip(),
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
    span, buckets = RESPONSE_RANGES["24h"]
    series = history.response_times(
        "monitor", [m.id for m in page.items], utcnow(), span, buckets // 2
    )
    context = {
        "page": page,
        "search": search,
        "state": state,
        "states": LIST_STATES,
        "series": series,
        "recent": beats.of_monitors([m.id for m in page.items]),
        "uptime": history.series_uptime,
        "percent": status_svg.percent,
        "target": monitors.target,
        "tag": tag,
        "tag_names": tag_names(),
        "args": filter_args(q=search, state=state, tag=tag),
    }
    return render_list(
        "monitors/index.html", "monitors/partials/_list.html", "monitor-list", **context
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    form = MonitorForm()
    if SHOW_KIND in request.form:  # without JavaScript: the fields of the kind chosen
        return _render_form(form)
    if ADD_ASSERTION in request.form:  # without JavaScript: one more row of assertions
        _add_row(form)
        return _render_form(form)
    if form.validate_on_submit():
        try:
            monitor = monitors.create(_submitted(form, editing=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
            return _render_form(form, status=422)
        flash(f"Monitor {monitor.name} created; its first check runs in a moment.", "success")
        return redirect(url_for("monitors.detail", monitor_id=monitor.id))
    return _render_form(form, status=422 if request.method == "POST" else 200)


@bp.route("/<int:monitor_id>/edit", methods=["GET", "POST"])
def edit(monitor_id: int) -> ResponseReturnValue:
    monitor = _monitor_or_404(monitor_id)
    form = MonitorForm(data=_initial(monitor) if request.method == "GET" else None)
    if SHOW_KIND in request.form:
        return _render_form(form, monitor)
    if ADD_ASSERTION in request.form:
        _add_row(form)
        return _render_form(form, monitor)
    if form.validate_on_submit():
        try:
            monitor = monitors.update(monitor_id, _submitted(form, editing=True))
        except ValidationError as exc:
            _apply_errors(form, exc)
            return _render_form(form, monitor, status=422)
        flash(f"Monitor {monitor.name} saved.", "success")
        return redirect(url_for("monitors.detail", monitor_id=monitor.id))
    return _render_form(form, monitor, status=422 if request.method == "POST" else 200)


@bp.post("/kind-fields")
def kind_fields() -> ResponseReturnValue:
    """The fields of the kind chosen in the form, for htmx to swap in when the kind
    changes; what was typed into fields both kinds share is kept."""
    monitor_id = request.args.get("monitor_id", type=int)
    monitor = _monitor_or_404(monitor_id) if monitor_id else None
    form = MonitorForm()
    _offer_kinds(form, monitor)
    return render_template(
        "monitors/partials/_kind_fields.html",
        form=form,
        monitor=monitor,
        live_fields=LIVE_FIELDS,
        hints=hints_for(form.kind.data),
    )


@bp.post("/assertion-rows")
def assertion_rows() -> ResponseReturnValue:
    """The rows of assertions with one more, for htmx to swap in when "Add an assertion"
    is pressed; what was typed into the others is kept."""
    form = MonitorForm()
    _add_row(form)
    return render_template("monitors/partials/_assertions.html", form=form)


@bp.post("/validate/<field>")
def validate(field: str) -> ResponseReturnValue:
    """One field of the form, judged with the rest of the form as it stands, re-rendered
    with its error (or without one): htmx swaps it in as the field is left."""
    if field not in LIVE_FIELDS:
        abort(404)
    monitor_id = request.args.get("monitor_id", type=int)
    monitor = _monitor_or_404(monitor_id) if monitor_id else None
    form = MonitorForm()
    try:
        monitors.check(_submitted(form, editing=monitor is not None), monitor_id)
    except ValidationError as exc:
        if field in exc.fields:
            form[field].errors = [exc.fields[field]]
    return render_template(
        "monitors/partials/_field.html",
        field=form[field],
        monitor=monitor,
        live_fields=LIVE_FIELDS,
        hints=hints_for(form.kind.data),
    )


def response_chart(monitor: Monitor, chosen: str, now: datetime) -> charts.Chart:
    """Each check up to 24 hours (when there are not too many), buckets beyond."""
    span, count = RESPONSE_RANGES[chosen]
    if span <= timedelta(hours=24):
        points = history.response_points(monitor.id, now, span)
        if points is not None:
            return charts.point_chart(
                monitor.name, chosen, points, now, span, monitor.degraded_after_ms
            )
        count = 288  # five-minute buckets over a day of frequent checks
    buckets = history.response_times("monitor", [monitor.id], now, span, count)[monitor.id]
    return charts.bucket_chart(monitor.name, chosen, buckets, now, span, monitor.degraded_after_ms)


@bp.get("/<int:monitor_id>")
def detail(monitor_id: int) -> ResponseReturnValue:
    monitor = _monitor_or_404(monitor_id)
    chosen = request.args.get("range", "24h")
    if chosen not in RESPONSE_RANGES:
        chosen = "24h"
    now = utcnow()
    try:
        checks = history.check_history(
            monitor_id, page=request.args.get("page", 1), per_page=CHECKS_PER_PAGE
        )
    except ValidationError:
        abort(400)
    recent = checks.items[:TIMINGS_SHOWN] if checks.page == 1 else []
    context = {
        "monitor": monitor,
        "uptime": history.uptime("monitor", monitor_id, now),
        "ranges": list(RESPONSE_RANGES),
        "chosen": chosen,
        "chart": response_chart(monitor, chosen, now),
        "range_endpoint": "monitors.detail",
        "range_args": {"monitor_id": monitor_id},
        "chart_limit": monitor.degraded_after_ms,
        "recent_beats": beats.of_monitors([monitor_id])[monitor_id],
        "checks": checks,
        "recent": recent,
        "longest_us": max((c.total_us or 0 for c in recent), default=0),
        "timing_bar": charts.timing_bar,
        "phases": charts.phases,
        "incidents": incidents.list_incidents(monitor_id=monitor_id, per_page=10),
        "percent": status_svg.percent,
        "target": monitors.target,
        "assertion_text": assertions.describe,
        "action_form": ActionForm(),
    }
    target = request.headers.get("HX-Target") if htmx_request.htmx else None
    if target == "monitor-status":
        return render_template("monitors/partials/_status.html", **context)
    if target == "response-chart":
        return render_template("monitors/partials/_chart.html", **context)
    return render_template("monitors/detail.html", **context)


def _act(monitor_id: int, operation: Callable[[int], object], message: str) -> ResponseReturnValue:
    monitor = _monitor_or_404(monitor_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    operation(monitor_id)
    flash(message.format(name=monitor.name), "success")
    return redirect(url_for("monitors.detail", monitor_id=monitor_id))


@bp.post("/<int:monitor_id>/pause")
def pause(monitor_id: int) -> ResponseReturnValue:
    return _act(monitor_id, monitors.pause, "Monitor {name} paused: no checks until you resume it.")


@bp.post("/<int:monitor_id>/resume")
def resume(monitor_id: int) -> ResponseReturnValue:
    return _act(monitor_id, monitors.resume, "Monitor {name} resumed; it checks again shortly.")


@bp.post("/<int:monitor_id>/delete")
def delete(monitor_id: int) -> ResponseReturnValue:
    monitor = _monitor_or_404(monitor_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    monitors.delete(monitor_id)
    flash(f"Monitor {monitor.name} deleted with its history.", "success")
    return redirect(url_for("monitors.index"))
