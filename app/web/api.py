"""The native JSON API under /api (grows with the API issue)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from app.extensions import csrf
from app.services import accounts, system

bp = Blueprint("api", __name__, url_prefix="/api")
# API clients authenticate per request, not with a browser session's form token.
csrf.exempt(bp)


@bp.get("/setup/status")
def setup_status():
    return jsonify(completed=accounts.setup_completed())


@bp.get("/system/redis")
def redis_test():
    if not current_user.is_authenticated:
        return jsonify(error="Unauthorized"), 401
    status = system.redis_status()
    return jsonify(status), 200 if status["ok"] else 503
