"""Dashboard pages: system."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("system", __name__, url_prefix="/system")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="system")
