"""/api/system: workers, queues, the scheduler, Redis and the database; setup status."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import accounts, system
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import public, require_scope


@bp.get("/system")
@require_scope("system:read")
def system_overview() -> ResponseReturnValue:
    return jsonify(out.plain(system.overview()))


@bp.get("/system/redis")
@require_scope("system:read")
def redis_status() -> ResponseReturnValue:
    status = system.redis_status()
    return jsonify(status), 200 if status["ok"] else 503


@bp.get("/setup/status")
@public
def setup_status() -> ResponseReturnValue:
    return jsonify(completed=accounts.setup_completed())
