"""/api/settings/history and /api/history: how long history is kept, and clearing it;
/api/settings/status-page: what the public status page shows."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import history, status_page
from app.web.api import bp
from app.web.api.auth import require_scope
from app.web.api.bodies import json_body


@bp.get("/settings/history")
@require_scope("settings:read")
def get_history_settings() -> ResponseReturnValue:
    return jsonify(history.get_retention())


@bp.put("/settings/history")
@require_scope("settings:write")
def update_history_settings() -> ResponseReturnValue:
    return jsonify(history.update_retention(json_body()))


@bp.delete("/history")
@require_scope("settings:write")
def clear_history() -> ResponseReturnValue:
    return jsonify(success=True, deleted=history.clear_all())


@bp.get("/settings/status-page")
@require_scope("settings:read")
def get_status_page_settings() -> ResponseReturnValue:
    return jsonify(status_page.describe())


@bp.put("/settings/status-page")
@require_scope("settings:write")
def update_status_page_settings() -> ResponseReturnValue:
    return jsonify(status_page.update_settings(json_body()))
