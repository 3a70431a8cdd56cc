"""Dashboard pages: incidents."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("incidents", __name__, url_prefix="/incidents")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="incidents")
