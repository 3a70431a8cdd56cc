"""First-run setup, sign-in (password, then a code when the admin has two-factor sign-in),
sign-out, password change and two-factor settings.

Between the password and the code nobody is signed in: the session holds only a pending
sign-in (the admin's identity, what was asked for and a deadline), which the code step reads.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo

from app.models import User
from app.services import accounts, two_factor
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    ServiceError,
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


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app")
    recovery_code = StringField("Recovery code")


class EnrolForm(FlaskForm):
    code = StringField("Code from your authenticator app")


class ManageForm(FlaskForm):
    """Password and a code: what turning two-factor off or new recovery codes ask for."""

    password = PasswordField("Your password")
    code = StringField("Code from your app")


class RequiredForm(FlaskForm):
    required = BooleanField("Require two-factor sign-in for every admin")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
    confirm = PasswordField(
        "Repeat new password", [EqualTo("new_password", "The passwords differ.")]
    )


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
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
        if "csrf_token" not in form.errors:
            # The repeated password differs: say what else is wrong in the same answer.
            try:
                accounts.check_new_admin(form.email.data or "", form.password.data or "")
            except ValidationError as exc:
                apply_errors(form, exc)
    return render_template("auth/setup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    target = safe_next(request.args.get("next") or form.next.data)
    if current_user.is_authenticated:
        return redirect(target or url_for("dashboard.index"))
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = accounts.authenticate(form.email.data, form.password.data, client_ip())
        except (Throttled, Unavailable, AuthenticationFailed) as exc:
            form.form_errors.append(exc.message)
            status, headers = _refusal(exc)
        else:
            step = accounts.second_step(user)
            if step is None:
                return _signed_in(user, bool(form.remember.data), target)
            session[_PENDING] = {
                "identity": user.get_id(),
                "step": step,
                "remember": bool(form.remember.data),
                "next": target or "",
                "until": time.time() + PENDING_SEC,
            }
            endpoint = "auth.login_code" if step == accounts.STEP_CODE else "auth.login_enrol"
            return redirect(url_for(endpoint))
    form.next.data = target or ""
    form.password.data = ""
    return render_template("auth/login.html", form=form), status, headers


# How long the code step waits after a correct password before asking for it again.
PENDING_SEC = 10 * 60
_PENDING = "pending_sign_in"


def _pending(step: str) -> tuple[User, dict[str, Any]] | None:
    """The admin whose sign-in awaits ``step``, with the pending data; None if none."""
    pending = session.get(_PENDING)
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    if pending.get("until", 0) < time.time():
        return None
    # The identity carries the session token: a password changed meanwhile ends it too.
    user = accounts.user_for_identity(pending.get("identity", ""))
    return (user, pending) if user is not None else None


def _start_over() -> ResponseReturnValue:
    session.pop(_PENDING, None)
    flash("Your sign-in did not finish. Enter your e-mail and password again.", "info")
    return redirect(url_for("auth.login"))


def _signed_in(user: User, remember: bool, target: str | None) -> ResponseReturnValue:
    _finish(user, remember)
    return redirect(target or url_for("dashboard.index"))


def _finish(user: User, remember: bool) -> None:
    session.pop(_PENDING, None)
    accounts.finish_sign_in(user, client_ip())
    login_user(user, remember=remember)


def _refusal(exc: ServiceError) -> tuple[int, dict[str, str]]:
    """The status code (and headers) of a refused sign-in step."""
    if isinstance(exc, Throttled):
        return 429, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unavailable):
        return 503, {}
    return 401, {}


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> ResponseReturnValue:
    """The second step: a code from the authenticator app, or a recovery code."""
    found = _pending(accounts.STEP_CODE)
    if found is None:
        return _start_over()
    user, pending = found
    form = CodeForm()
    status = 200
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        recovery = not (form.code.data or "").strip() and bool(form.recovery_code.data)
        typed = form.recovery_code.data if recovery else form.code.data
        try:
            kind = two_factor.verify(user, typed or "", client_ip())
        except Conflict:  # turned off meanwhile (`upcron reset-2fa`)
            return _start_over()
        except (Throttled, Unavailable) as exc:
            form.form_errors.append(exc.message)
            status, headers = _refusal(exc)
        except AuthenticationFailed as exc:
            (form.recovery_code if recovery else form.code).errors = [exc.message]
            status = 401
        else:
            if kind == two_factor.KIND_RECOVERY:
                left = two_factor.recovery_codes_left(user)
                flash(
                    f"You signed in with a recovery code; {left} left. "
                    "Make new ones under Settings → Two-factor when you run low.",
                    "info",
                )
            return _signed_in(user, pending["remember"], pending["next"] or None)
    elif request.method == "POST":
        status = 422
    form.code.data = form.recovery_code.data = ""
    return render_template("auth/login_code.html", form=form), status, headers


@bp.route("/login/enrol", methods=["GET", "POST"])
def login_enrol() -> ResponseReturnValue:
    """Enrolment during sign-in, for an admin without a second factor where one is required."""
    found = _pending(accounts.STEP_ENROL)
    if found is None:
        return _start_over()
    user, pending = found
    form = EnrolForm()
    status = 200
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data, client_ip())
        except (Throttled, Unavailable) as exc:
            form.form_errors.append(exc.message)
            status, headers = _refusal(exc)
        except ValidationError as exc:
            apply_errors(form, exc)
            status = 422
        except Conflict:
            return _start_over()
        else:
            _finish(user, pending["remember"])
            return _recovery_codes(codes, pending["next"] or url_for("dashboard.index"))
    elif request.method == "POST":
        status = 422
    form.code.data = ""
    try:
        enrolment = two_factor.begin_enrolment(user)
    except Conflict:  # enrolled meanwhile, in another tab
        return _start_over()
    return (
        render_template("auth/login_enrol.html", form=form, **_enrolment_context(enrolment)),
        status,
        headers,
    )


def _enrolment_context(enrolment: two_factor.Enrolment) -> dict:
    # segno draws the SVG from the URI alone: no text of ours or the user's is inside it.
    return {"enrolment": enrolment, "qr_svg": Markup(enrolment.qr_svg)}


def _recovery_codes(codes: list[str], continue_to: str) -> ResponseReturnValue:
    """Show new recovery codes, once: this response is the only place they appear."""
    response = render_template("auth/recovery_codes.html", codes=codes, continue_to=continue_to)
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
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
        if "csrf_token" not in form.errors and (
            message := accounts.password_error(form.new_password.data or "")
        ):
            form.new_password.errors = [*form.new_password.errors, message]
    return render_template("auth/password.html", form=form), status


@bp.get("/account/two-factor")
@login_required
def two_factor_settings() -> ResponseReturnValue:
    return _two_factor_page()


def _two_factor_page(form=None, required_form=None, status: int = 200, headers=None):
    user = current_user._get_current_object()
    context: dict[str, Any] = {
        "required_form": required_form
        or RequiredForm(data={"required": accounts.two_factor_required()}),
        "without": [admin.email for admin in accounts.list_admins() if not admin.has_two_factor],
    }
    if user.has_two_factor:
        context["form"] = form or ManageForm(formdata=None)
        context["codes_left"] = two_factor.recovery_codes_left(user)
    else:
        context["form"] = form or EnrolForm(formdata=None)
        context.update(_enrolment_context(two_factor.begin_enrolment(user)))
    context["form"].code.data = ""
    if "password" in context["form"]:
        context["form"].password.data = ""
    return render_template("auth/two_factor.html", **context), status, headers or {}


def _code_step(form, action):
    """Run ``action`` with the form's fields; map the refusals to the form and a status."""
    if not form.validate_on_submit():
        return None, _two_factor_page(form=form, status=422)
    try:
        return action(), None
    except (Throttled, Unavailable) as exc:
        form.form_errors.append(exc.message)
        return None, _two_factor_page(form, None, *_refusal(exc))
    except ValidationError as exc:
        apply_errors(form, exc)
        return None, _two_factor_page(form=form, status=422)
    except Conflict as exc:
        flash(exc.message, "info")
        return None, redirect(url_for("auth.two_factor_settings"))


@bp.post("/account/two-factor/enrol")
@login_required
def enrol() -> ResponseReturnValue:
    form = EnrolForm()
    user = current_user._get_current_object()
    codes, refused = _code_step(
        form, lambda: two_factor.confirm_enrolment(user, form.code.data, client_ip())
    )
    if refused:
        return refused
    return _recovery_codes(codes, url_for("auth.two_factor_settings"))


@bp.post("/account/two-factor/recovery-codes")
@login_required
def regenerate_recovery_codes() -> ResponseReturnValue:
    form = ManageForm()
    user = current_user._get_current_object()
    codes, refused = _code_step(
        form,
        lambda: two_factor.regenerate_recovery_codes(
            user, form.password.data, form.code.data, client_ip()
        ),
    )
    if refused:
        return refused
    return _recovery_codes(codes, url_for("auth.two_factor_settings"))


@bp.post("/account/two-factor/disable")
@login_required
def disable_two_factor() -> ResponseReturnValue:
    form = ManageForm()
    user = current_user._get_current_object()
    _, refused = _code_step(
        form, lambda: two_factor.disable(user, form.password.data, form.code.data, client_ip())
    )
    if refused:
        return refused
    if accounts.two_factor_required():
        flash(
            "Two-factor sign-in is off. Every admin needs it here: sign in again to set it "
            "up with your new device.",
            "info",
        )
    else:
        flash("Two-factor sign-in is off for your account.", "success")
    return redirect(url_for("auth.two_factor_settings"))


@bp.post("/account/two-factor/required")
@login_required
def two_factor_required() -> ResponseReturnValue:
    form = RequiredForm()
    if not form.validate_on_submit():
        return _two_factor_page(required_form=form, status=422)
    try:
        accounts.set_two_factor_required(form.required.data, current_user._get_current_object())
    except ValidationError as exc:
        form.form_errors.extend(exc.fields.values())
        return _two_factor_page(required_form=form, status=422)
    if form.required.data:
        flash("Two-factor sign-in is now required for every admin.", "success")
    else:
        flash("Two-factor sign-in is no longer required.", "success")
    return redirect(url_for("auth.two_factor_settings"))
