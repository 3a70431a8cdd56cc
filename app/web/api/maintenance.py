"""/api/maintenance: maintenance windows, each with its status and coming periods."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.models.types import utcnow
from app.services import maintenance
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import require_scope
from app.web.api.bodies import json_body


@bp.get("/maintenance")
@require_scope("maintenance:read")
def list_maintenance() -> ResponseReturnValue:
    args = request.args
    page = maintenance.list_windows(
        page=args.get("page", 1),
        per_page=args.get("per_page", args.get("limit", 50)),
        offset=args.get("offset"),
    )
    now = utcnow()
    return out.page_response(page, [out.maintenance_window(w, now) for w in page.items])


@bp.post("/maintenance")
@require_scope("maintenance:write")
def create_maintenance() -> ResponseReturnValue:
    return jsonify(out.maintenance_window(maintenance.create(json_body()), utcnow())), 201


@bp.get("/maintenance/<id:window_id>")
@require_scope("maintenance:read")
def get_maintenance(window_id: int) -> ResponseReturnValue:
    return jsonify(out.maintenance_window(maintenance.get(window_id), utcnow()))


@bp.put("/maintenance/<id:window_id>")
@require_scope("maintenance:write")
def update_maintenance(window_id: int) -> ResponseReturnValue:
    window = maintenance.update(window_id, json_body())
    return jsonify(out.maintenance_window(window, utcnow()))


@bp.delete("/maintenance/<id:window_id>")
@require_scope("maintenance:write")
def delete_maintenance(window_id: int) -> ResponseReturnValue:
    maintenance.delete(window_id)
    return jsonify(success=True)
