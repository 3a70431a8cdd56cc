"""Dashboard pages for notifications: channels (list, add, edit, delete, send a test), the
e-mail server, and the delivery log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from app.config import SMTP_SECURITY
from app.models import NotificationChannel
from app.models.channel import KIND_APPRISE, KIND_EMAIL, KIND_WEBHOOK, KINDS
from app.models.notification import STATUSES
from app.services import channels, fields, notifications, smtp
from app.services.errors import Conflict, NotFound, ValidationError
from app.web.forms import apply_errors

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

KIND_NAMES = {KIND_EMAIL: "e-mail", KIND_WEBHOOK: "webhook", KIND_APPRISE: "Apprise"}
KIND_LABELS = {KIND_EMAIL: "E-mail", KIND_WEBHOOK: "Webhook", KIND_APPRISE: "Apprise"}
URL_LABELS = {KIND_WEBHOOK: "Webhook URL", KIND_APPRISE: "Apprise URL"}


@bp.before_request
@login_required
def _require_login() -> None:
    """Every notifications page is for signed-in admins only."""


class ChannelForm(FlaskForm):
    name = StringField("Name")
    addresses = TextAreaField("Recipients")
    url = StringField("URL")
    headers = TextAreaField("Custom headers")
    secret = PasswordField("Signing secret")
    remove_secret = BooleanField("Remove the signing secret")
    enabled = BooleanField("Enabled", default=True)
    is_default = BooleanField("Default for new monitors and cron jobs")
    attach_to_all = BooleanField("Also add it to every existing monitor and cron job")


class SmtpForm(FlaskForm):
    host = StringField("Server")
    port = IntegerField("Port", validators=[Optional()])
    security = SelectField("Security", choices=list(SMTP_SECURITY), validate_choice=False)
    username = StringField("User name")
    password = PasswordField("Password")
    sender = StringField("From address")


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a button (delete, send test, clear)."""


def _channel_or_404(channel_id: int) -> NotificationChannel:
    try:
        return channels.get(channel_id)
    except NotFound:
        abort(404)


def _initial(channel: NotificationChannel) -> dict[str, Any]:
    """The edit form's values. Secrets stay empty: blank means "keep"."""
    config = channel.config or {}
    data = {"name": channel.name, "enabled": channel.enabled, "is_default": channel.is_default}
    if channel.kind == KIND_EMAIL:
        data["addresses"] = "\n".join(config.get("addresses", []))
    elif channel.kind == KIND_WEBHOOK:
        data["url"] = config.get("url", "")
        data["headers"] = fields.headers_text(config.get("headers"))
    return data


def _submitted(form: ChannelForm, kind: str, editing: bool) -> dict:
    """The service's fields from the form; a blank secret or Apprise URL on edit keeps it."""
    data = {
        "name": form.name.data,
        "enabled": form.enabled.data,
        "is_default": form.is_default.data,
    }
    if not editing:
        data["kind"] = kind
    if form.attach_to_all.data:
        data["attach_to_all"] = True
    if kind == KIND_EMAIL:
        data["addresses"] = form.addresses.data or ""
    elif kind == KIND_WEBHOOK:
        data["url"] = form.url.data or ""
        data["headers"] = form.headers.data or ""
        if form.remove_secret.data:
            data["secret"] = None
        elif form.secret.data:
            data["secret"] = form.secret.data
    elif form.url.data or not editing:
        data["url"] = form.url.data or ""
    return data


def _render_form(
    form: ChannelForm, kind: str, channel: NotificationChannel | None = None, status: int = 200
) -> ResponseReturnValue:
    if kind in URL_LABELS:
        form.url.label.text = URL_LABELS[kind]
    described = channels.describe(channel) if channel is not None else None
    return (
        render_template(
            "notifications/channel_form.html",
            form=form,
            kind=kind,
            kind_name=KIND_NAMES[kind],
            channel=described,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    """The section's bare URL, as the navigation names it, opens its first tab."""
    return redirect(url_for("notifications.channel_list"))


@bp.get("/channels")
def channel_list() -> ResponseReturnValue:
    return render_template(
        "notifications/channels.html",
        channels=[channels.describe(channel) for channel in channels.list_channels()],
        kind_labels=KIND_LABELS,
        smtp=smtp.describe(),
        action_form=ActionForm(),
    )


@bp.route("/channels/new/<kind>", methods=["GET", "POST"])
def new_channel(kind: str) -> ResponseReturnValue:
    if kind not in KINDS:
        abort(404)
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            channel = channels.create(_submitted(form, kind, editing=False))
        except ValidationError as exc:
            apply_errors(form, exc)
            return _render_form(form, kind, status=422)
        flash(f"Channel {channel.name} added. Send a test to check that it works.", "success")
        return redirect(url_for("notifications.channel_list"))
    return _render_form(form, kind, status=422 if request.method == "POST" else 200)


@bp.route("/channels/<int:channel_id>/edit", methods=["GET", "POST"])
def edit_channel(channel_id: int) -> ResponseReturnValue:
    channel = _channel_or_404(channel_id)
    form = ChannelForm(data=_initial(channel) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            channel = channels.update(channel_id, _submitted(form, channel.kind, editing=True))
        except ValidationError as exc:
            apply_errors(form, exc)
            return _render_form(form, channel.kind, channel, status=422)
        flash(f"Channel {channel.name} saved.", "success")
        return redirect(url_for("notifications.channel_list"))
    status = 422 if request.method == "POST" else 200
    return _render_form(form, channel.kind, channel, status=status)


@bp.post("/channels/<int:channel_id>/delete")
def delete_channel(channel_id: int) -> ResponseReturnValue:
    channel = _channel_or_404(channel_id)
    if ActionForm().validate_on_submit():
        channels.delete(channel_id)
        flash(f"Channel {channel.name} deleted.", "success")
    return redirect(url_for("notifications.channel_list"))


@bp.post("/channels/<int:channel_id>/test")
def test_channel(channel_id: int) -> ResponseReturnValue:
    """Send a test now; htmx gets the result in place, a plain form a flash message."""
    channel = _channel_or_404(channel_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    result = channels.send_test(channel_id)
    if htmx_request.htmx:
        return render_template(
            "notifications/_test_result.html", result=result, channel_id=channel_id
        )
    if result["ok"]:
        flash(f"Test message sent through {channel.name} in {result['duration_ms']} ms.", "success")
    else:
        flash(f"The test through {channel.name} failed: {result['error']}", "error")
    return redirect(request.referrer or url_for("notifications.channel_list"))


@bp.route("/smtp", methods=["GET", "POST"])
def smtp_settings() -> ResponseReturnValue:
    current = smtp.describe()
    initial = None
    if request.method == "GET" and current["configured"]:
        initial = {key: current[key] for key in ("host", "port", "security", "username", "sender")}
    form = SmtpForm(data=initial)
    status = 200
    if form.validate_on_submit():
        data = {
            "host": form.host.data,
            "port": form.port.data,
            "security": form.security.data,
            "username": form.username.data,
            "sender": form.sender.data,
        }
        if form.password.data:
            data["password"] = form.password.data
        if not form.username.data:
            data["password"] = None
        try:
            smtp.update(data)
        except ValidationError as exc:
            apply_errors(form, exc)
            status = 422
        except Conflict as exc:
            flash(exc.message, "error")
            return redirect(url_for("notifications.smtp_settings"))
        else:
            flash("E-mail server saved. Send a test through an e-mail channel.", "success")
            return redirect(url_for("notifications.smtp_settings"))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "notifications/smtp.html",
            form=form,
            smtp=current,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.post("/smtp/clear")
def clear_smtp() -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        try:
            smtp.clear()
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            flash("E-mail server removed.", "success")
    return redirect(url_for("notifications.smtp_settings"))


@bp.get("/log")
def delivery_log() -> ResponseReturnValue:
    status = request.args.get("status") or None
    channel_id = request.args.get("channel") or None
    try:
        page = notifications.list_log(
            status=status,
            channel_id=channel_id,
            page=request.args.get("page", 1),
            per_page=request.args.get("per_page", 50),
        )
    except ValidationError:
        abort(400)
    return render_template(
        "notifications/log.html",
        page=page,
        statuses=STATUSES,
        status=status,
        channel_id=channel_id,
        channels=channels.list_channels(),
        kind_labels=KIND_LABELS,
    )
