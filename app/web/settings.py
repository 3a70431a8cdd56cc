"""Dashboard pages: settings. History retention and clearing, and the ping key of slug ping
URLs, live here; the admins, status page and account pages are reached from the same
sub-navigation."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from app import durations
from app.services import history, ping_key
from app.services.errors import ValidationError
from app.web import admin

bp = admin.blueprint("settings", __name__, url_prefix="/settings")

UNITS = {"days": 86400, "hours": 3600, "seconds": 1}
CLEAR_PHRASE = "clear history"
TTL_RANGE = (
    f"Choose from 1 hour to {history.TTL_MAX // 86400} days (10 years), or keep history forever."
)


class RetentionForm(FlaskForm):
    amount = StringField("Keep raw history for")
    unit = SelectField("Unit", validate_choice=False)
    unlimited = BooleanField("Keep history forever (no limit)")


class ClearForm(FlaskForm):
    confirmation = StringField(f"Type “{CLEAR_PHRASE}” to confirm")


class PingKeyForm(FlaskForm):
    """Carries only the CSRF token of the "new ping key" button."""


def _units(ttl_seconds: int) -> list[tuple[str, str]]:
    """Days and hours; seconds only when the stored value (set through the API) needs them."""
    names = ["days", "hours"] + (["seconds"] if ttl_seconds % 3600 else [])
    return [(name, name) for name in names]


def _initial(retention: dict) -> dict:
    amount, unit = durations.largest_unit(retention["ttl_seconds"], UNITS)
    return {"amount": str(amount), "unit": unit, "unlimited": retention["unlimited"]}


def describe(retention: dict) -> str:
    """The retention in words: "kept forever", "kept for 30 days"."""
    if retention["unlimited"]:
        return "kept forever"
    kept = _initial(retention)
    unit = kept["unit"][:-1] if kept["amount"] == "1" else kept["unit"]
    return f"kept for {kept['amount']} {unit}"


def _render(
    retention_form: RetentionForm | None = None,
    clear_form: ClearForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    retention = history.get_retention()
    retention_form = retention_form or RetentionForm(data=_initial(retention))
    retention_form.unit.choices = _units(retention["ttl_seconds"])
    return (
        render_template(
            "settings/index.html",
            kept=describe(retention),
            retention_form=retention_form,
            clear_form=clear_form or ClearForm(formdata=None),
            stored=history.stored_counts(),
            ping_key=ping_key.get(),
            ping_base=f"{current_app.config['BASE_URL']}/ping",
            ping_key_form=PingKeyForm(formdata=None),
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    return _render()


@bp.post("/retention")
def retention() -> ResponseReturnValue:
    form = RetentionForm()
    if not form.validate_on_submit():
        return _render(retention_form=form, status=422)
    amount = (form.amount.data or "").strip()
    data = {"unlimited": form.unlimited.data}
    # With "forever" ticked an empty amount is fine; a wrong one is still pointed out.
    if amount or not form.unlimited.data:
        if not (amount.isascii() and amount.isdigit()) or form.unit.data not in UNITS:
            form.amount.errors = [TTL_RANGE]
            return _render(retention_form=form, status=422)
        data["ttl_seconds"] = int(amount) * UNITS[form.unit.data]
    try:
        saved = history.update_retention(data)
    except ValidationError:
        form.amount.errors = [TTL_RANGE]
        return _render(retention_form=form, status=422)
    flash(f"Retention saved: history is {describe(saved)}.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/clear-history")
def clear_history() -> ResponseReturnValue:
    """Delete all history, but only once the exact phrase has been typed: a slip of the
    mouse must not wipe months of records."""
    form = ClearForm()
    if not form.validate_on_submit():
        return _render(clear_form=form, status=422)
    if (form.confirmation.data or "").strip().lower() != CLEAR_PHRASE:
        form.confirmation.errors = [f"Type “{CLEAR_PHRASE}” exactly; nothing was deleted."]
        return _render(clear_form=form, status=422)
    deleted = history.clear_all()
    flash(f"History cleared: {sum(deleted.values())} rows deleted.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/ping-key")
def regenerate_ping_key() -> ResponseReturnValue:
    """A new ping key: slug ping URLs with the old one answer "not found" from now on."""
    if not PingKeyForm().validate_on_submit():
        return _render(status=400)
    ping_key.regenerate()
    flash("New ping key made: update every slug ping URL that used the old one.", "success")
    return redirect(url_for("settings.index") + "#ping-key")
