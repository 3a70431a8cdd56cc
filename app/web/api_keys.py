"""Dashboard pages: API keys (list, create with its secret shown once, revoke)."""

from __future__ import annotations

import re
from datetime import UTC

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import Optional

from app.models.types import utcnow
from app.services import api_keys
from app.services.errors import NotFound, ValidationError
from app.web import admin
from app.web.forms import MultiCheckboxField, apply_errors

bp = admin.blueprint("api_keys", __name__, url_prefix="/api-keys")

PER_PAGE = 25
ALL_SCOPES = "*"


class KeyForm(FlaskForm):
    name = StringField("Name")
    scopes = MultiCheckboxField("Scopes")
    expires_at = DateTimeLocalField(
        "Expires (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    allowed_networks = TextAreaField("IP allowlist")
    rate_limit_per_sec = StringField("Rate limit (requests per second)")
    daily_quota = StringField("Daily quota (requests per UTC day)")


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a revoke button."""


def _new_form() -> KeyForm:
    form = KeyForm()
    form.scopes.choices = [(ALL_SCOPES, "Everything (*)"), *((s, s) for s in api_keys.SCOPES)]
    if request.method == "GET":
        form.rate_limit_per_sec.data = str(api_keys.RATE_LIMIT_DEFAULT)
    return form


def _submitted(form: KeyForm) -> dict:
    """The service's fields; the date picker's wall time is UTC, as its label says."""
    networks = [part for part in re.split(r"[\s,]+", form.allowed_networks.data or "") if part]
    return {
        "name": form.name.data or "",
        "scopes": form.scopes.data or [],
        "expires_at": form.expires_at.data.replace(tzinfo=UTC) if form.expires_at.data else None,
        "allowed_networks": networks,
        "rate_limit_per_sec": form.rate_limit_per_sec.data or "",
        "daily_quota": form.daily_quota.data or None,
    }


def _render_index(form: KeyForm, status: int = 200) -> ResponseReturnValue:
    try:
        page = api_keys.list_keys(request.args.get("page", 1), PER_PAGE)
    except ValidationError:
        abort(400)
    return (
        render_template(
            "api_keys/index.html",
            page=page,
            form=form,
            action_form=ActionForm(),
            now=utcnow(),
            status_of=api_keys.status,
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    return _render_index(_new_form())


@bp.post("/")
def create() -> ResponseReturnValue:
    """Create a key and show its secret on this response only: it is never stored or sent
    again, so the page is not cached and there is no redirect to carry it."""
    form = _new_form()
    if form.validate_on_submit():
        try:
            key, secret = api_keys.create(_submitted(form), created_by_id=current_user.id)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            html = render_template("api_keys/created.html", key=key, secret=secret)
            return html, 201, {"Cache-Control": "no-store"}
    return _render_index(form, status=422)


@bp.post("/<int:key_id>/revoke")
def revoke(key_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        key = api_keys.revoke(key_id)
    except NotFound:
        abort(404)
    flash(f"API key {key.name} revoked: requests with it are refused from now on.", "success")
    return redirect(url_for("api_keys.index"))
