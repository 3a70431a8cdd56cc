"""The admin dashboard: overview and admin accounts (more sections arrive with their issues)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField

from app.services import accounts
from app.services.errors import Conflict, NotFound, ValidationError
from app.web.forms import apply_errors

bp = Blueprint("dashboard", __name__)


@bp.before_request
@login_required
def _require_login():
    """Every dashboard page is for signed-in admins only."""


class AdminForm(FlaskForm):
    email = EmailField("E-mail")
    password = PasswordField("Initial password")


class RemoveForm(FlaskForm):
    """Carries only the CSRF token of the remove button."""


@bp.get("/")
def index():
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
