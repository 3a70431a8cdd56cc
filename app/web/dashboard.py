"""The admin dashboard: overview, admin accounts and the status page's settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField, URLField

from app.extensions import login_manager
from app.services import accounts, status_page
from app.services.errors import Conflict, NotFound, ValidationError
from app.web import status
from app.web.forms import apply_errors

bp = Blueprint("dashboard", __name__)


@bp.before_request
def _require_login():
    """Every dashboard page is for signed-in admins only; at ``/`` visitors get the public
    status page instead."""
    if current_user.is_authenticated or request.endpoint == "dashboard.index":
        return None
    return login_manager.unauthorized()


class AdminForm(FlaskForm):
    email = EmailField("E-mail")
    password = PasswordField("Initial password")


class RemoveForm(FlaskForm):
    """Carries only the CSRF token of the remove button."""


class StatusPageForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description")
    logo_url = URLField("Logo URL")
    footer = TextAreaField("Footer text")
    group_sections = BooleanField("Show services in sections by group")
    show_response_times = BooleanField("Show 24-hour response-time charts")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return status.render_page(shared=False)
    return render_template("dashboard/index.html")


@bp.route("/settings/admins", methods=["GET", "POST"])
def admins():
    form = AdminForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_admin(form.email.data, form.password.data)
        except ValidationError as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Admin {user.email} added.", "success")
            return redirect(url_for("dashboard.admins"))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "dashboard/admins.html",
            form=form,
            remove_form=RemoveForm(),
            admins=accounts.list_admins(),
        ),
        status,
    )


@bp.post("/settings/admins/<int:user_id>/remove")
def remove_admin(user_id: int):
    if RemoveForm().validate_on_submit():
        try:
            accounts.remove_admin(user_id, actor=current_user)
        except (Conflict, NotFound) as exc:
            flash(exc.message, "error")
        else:
            flash("Admin removed; their sessions have ended.", "success")
    return redirect(url_for("dashboard.admins"))


@bp.route("/settings/status-page", methods=["GET", "POST"])
def status_page_settings():
    """The page's settings and, in one form, which items it shows and in what order."""
    current = status_page.describe()
    form = StatusPageForm(data=current)
    items, groups = current["items"], current["groups"]
    code, row_errors = 200, {}
    if request.method == "POST":
        # What was ticked and typed is kept, even when something else is refused.
        for item in items:
            name = f"{item['type']}-{item['id']}"
            item["public"] = f"public-{name}" in request.form
            item["position"] = request.form.get(f"position-{name}", item["position"])
        for group in groups:
            group["position"] = request.form.get(f"group-{group['id']}", group["position"])
    if form.validate_on_submit():
        try:
            status_page.update_settings(
                {
                    **{name: form[name].data for name in status_page.DEFAULTS},
                    "items": items,
                    "groups": groups,
                }
            )
        except ValidationError as exc:
            row_errors = {
                key: message
                for key, message in exc.fields.items()
                if key.startswith(("items.", "groups."))
            }
            others = {k: m for k, m in exc.fields.items() if k not in row_errors}
            if row_errors:
                others.setdefault("_rows", "Some positions are not valid; see below.")
            apply_errors(form, ValidationError(others))
            code = 422
        else:
            flash("Status page saved.", "success")
            return redirect(url_for("dashboard.status_page_settings"))
    elif request.method == "POST":
        code = 422
    return (
        render_template(
            "dashboard/status_page.html",
            form=form,
            items=items,
            groups=groups,
            row_errors=row_errors,
        ),
        code,
    )
