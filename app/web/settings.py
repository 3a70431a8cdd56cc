"""Dashboard pages: settings."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="settings")
