"""What every dashboard area shares: a blueprint whose pages are for signed-in admins only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import login_required


def blueprint(name: str, import_name: str, **options: Any) -> Blueprint:
    """A blueprint that sends visitors who are not signed in to the login page."""
    bp = Blueprint(name, import_name, **options)

    @bp.before_request
    @login_required
    def _require_login() -> None:
        """Checked once per request, before any view of the area runs."""

    return bp
