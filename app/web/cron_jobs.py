"""Dashboard pages: cron jobs."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("cron_jobs", __name__, url_prefix="/cron-jobs")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="cron jobs")
