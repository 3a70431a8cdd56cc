"""Dashboard pages: heartbeats."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("heartbeats", __name__, url_prefix="/heartbeats")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="heartbeats")
