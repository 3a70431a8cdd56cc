"""Liveness for load balancers and `upcron up`: database and Redis both answering."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from app.services import system

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    database = system.database_status()
    redis_ = system.redis_status()
    body = {
        "status": "ok",
        "database": database,
        "redis": "ok" if redis_["ok"] else f"error: {redis_['error']}",
    }
    if database != "ok" or not redis_["ok"]:
        body["status"] = "error"
        return jsonify(body), 503
    return jsonify(body)
