"""/api/monitors: every kind of monitor (``"type"``: http, keyword, tcp, dns, ping or heartbeat)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.models import Monitor
from app.models.history import SUBJECT_MONITOR
from app.models.types import utcnow
from app.services import history, monitors, pings
from app.services.errors import ValidationError
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import principal, require_scope
from app.web.api.bodies import json_body


def _show(row: Monitor) -> dict[str, Any]:
    return out.monitor(row, show_code=principal().can("monitors:write"))


def _input() -> Any:
    """The body with the API's ``type`` under the services' name ``kind``."""
    body = json_body()
    if isinstance(body, dict) and "type" in body and "kind" not in body:
        body = {("kind" if name == "type" else name): value for name, value in body.items()}
    return body


def _write(operation: Callable[..., Monitor], *args: Any) -> Monitor:
    """Run a create/update, naming ``type`` (not ``kind``) in its field errors."""
    try:
        return operation(*args)
    except ValidationError as exc:
        if "kind" in exc.fields:
            exc.fields = {("type" if k == "kind" else k): v for k, v in exc.fields.items()}
        raise


@bp.get("/monitors")
@require_scope("monitors:read")
def list_monitors() -> ResponseReturnValue:
    args = request.args
    page = monitors.list_monitors(
        kind=args.get("type"),
        state=args.get("state"),
        group=args.get("group"),
        tag=args.getlist("tag"),
        search=args.get("search"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 50),
    )
    return out.page_response(page, [_show(m) for m in page.items])


@bp.post("/monitors")
@require_scope("monitors:write")
def create_monitor() -> ResponseReturnValue:
    return jsonify(_show(_write(monitors.create, _input()))), 201


@bp.get("/monitors/<monitor:monitor_id>")
@require_scope("monitors:read")
def get_monitor(monitor_id: int) -> ResponseReturnValue:
    return jsonify(_show(monitors.get(monitor_id)))


@bp.put("/monitors/<monitor:monitor_id>")
@require_scope("monitors:write")
def update_monitor(monitor_id: int) -> ResponseReturnValue:
    return jsonify(_show(_write(monitors.update, monitor_id, _input())))


@bp.delete("/monitors/<monitor:monitor_id>")
@require_scope("monitors:write")
def delete_monitor(monitor_id: int) -> ResponseReturnValue:
    monitors.delete(monitor_id)
    return jsonify(success=True)


@bp.post("/monitors/<monitor:monitor_id>/pause")
@require_scope("monitors:write")
def pause_monitor(monitor_id: int) -> ResponseReturnValue:
    return jsonify(_show(monitors.pause(monitor_id)))


@bp.post("/monitors/<monitor:monitor_id>/resume")
@require_scope("monitors:write")
def resume_monitor(monitor_id: int) -> ResponseReturnValue:
    return jsonify(_show(monitors.resume(monitor_id)))


@bp.get("/monitors/<monitor:monitor_id>/history")
@require_scope("monitors:read")
def monitor_history(monitor_id: int) -> ResponseReturnValue:
    args = request.args
    page = history.check_history(
        monitor_id,
        start=args.get("start"),
        end=args.get("end"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 50),
    )
    return out.page_response(page, [out.check_result(r) for r in page.items])


@bp.get("/monitors/<monitor:monitor_id>/uptime")
@require_scope("monitors:read")
def monitor_uptime(monitor_id: int) -> ResponseReturnValue:
    monitors.get(monitor_id)
    return jsonify(history.uptime(SUBJECT_MONITOR, monitor_id, utcnow()))


@bp.get("/monitors/<monitor:monitor_id>/pings")
@require_scope("monitors:read")
def monitor_pings(monitor_id: int) -> ResponseReturnValue:
    args = request.args
    page = pings.list_pings(monitor_id, page=args.get("page", 1), per_page=args.get("per_page", 50))
    return out.page_response(page, [out.ping(p) for p in page.items])


@bp.post("/monitors/<monitor:monitor_id>/regenerate-code")
@require_scope("monitors:write")
def regenerate_code(monitor_id: int) -> ResponseReturnValue:
    return jsonify(_show(monitors.regenerate_code(monitor_id)))
