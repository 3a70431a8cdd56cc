"""Dashboard pages: monitors."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("monitors", __name__, url_prefix="/monitors")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="monitors")
