"""First-run setup, sign-in, sign-out and password change."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import EqualTo

from app.services import accounts
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    Throttled,
    Unavailable,
    ValidationError,
)
from app.web.forms import apply_errors
from app.web.security import client_ip, safe_next

bp = Blueprint("auth", __name__)


class SetupForm(FlaskForm):
    email = EmailField("E-mail")
    password = PasswordField("Password")
    confirm = PasswordField("Repeat password", [EqualTo("password", "The passwords differ.")])


class LoginForm(FlaskForm):
    email = EmailField("E-mail")
    password = PasswordField("Password")
    remember = BooleanField("Keep me signed in")
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
    confirm = PasswordField(
        "Repeat new password", [EqualTo("new_password", "The passwords differ.")]
    )


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    if accounts.setup_completed():
        return redirect(url_for("auth.login"))
    form = SetupForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_first_admin(form.email.data, form.password.data)
        except ValidationError as exc:
            apply_errors(form, exc)
            status = 422
        except Conflict as exc:
            flash(exc.message, "info")
            return redirect(url_for("auth.login"))
        else:
            login_user(user)
            flash("Welcome to Upcron. Your admin account is ready.", "success")
            return redirect(url_for("dashboard.index"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/setup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    target = safe_next(request.args.get("next") or form.next.data)
    if current_user.is_authenticated:
        return redirect(target or url_for("dashboard.index"))
    status, headers = 200, {}
    if request.method == "POST":
        try:
            user = accounts.authenticate(form.email.data, form.password.data, client_ip())
        except Throttled as exc:
            form.form_errors.append(exc.message)
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        except Unavailable as exc:
            form.form_errors.append(exc.message)
            status = 503
        except AuthenticationFailed as exc:
            form.form_errors.append(exc.message)
            status = 401
        else:
            login_user(user, remember=bool(form.remember.data))
            return redirect(target or url_for("dashboard.index"))
    form.next.data = target or ""
    form.password.data = ""
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            status = 422
        else:
            # The new session token ended every other session; keep this one signed in.
            login_user(user)
            flash(
                "Password changed. Every other session of your account was signed out.",
                "success",
            )
            return redirect(url_for("auth.change_password"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/password.html", form=form), status
