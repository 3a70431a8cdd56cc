"""Dashboard pages: api keys."""

from __future__ import annotations

from flask import render_template

from app.web import admin

bp = admin.blueprint("api_keys", __name__, url_prefix="/api-keys")


@bp.get("/")
def index():
    return render_template("placeholder.html", area="api keys")
