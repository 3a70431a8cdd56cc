"""Dashboard pages: system. The database, Redis (with a test button), RQ workers, queue depths
and the scheduler's leader and last tick."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request

from app.models.types import utcnow
from app.services import system
from app.web import admin

bp = admin.blueprint("system", __name__, url_prefix="/system")


class ActionForm(FlaskForm):
    """Carries only the CSRF token of the Redis test button."""


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template(
        "system/index.html", report=system.overview(), now=utcnow(), action_form=ActionForm()
    )


@bp.post("/redis-test")
def redis_test() -> ResponseReturnValue:
    """Ping Redis now; htmx shows the result next to the button, a plain form a flash."""
    if not ActionForm().validate_on_submit():
        abort(400)
    result = system.redis_status()
    if htmx_request.htmx:
        return render_template("system/_redis_result.html", result=result)
    if result["ok"]:
        answer = f"Redis answered in {result['latency_ms']} ms (version {result['version']})."
        flash(answer, "success")
    else:
        flash(f"Redis did not answer: {result['error']}", "error")
    return redirect(url_for("system.index"))
