"""/api/incidents: the incident list, one incident with its timeline, resolve and reopen."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import incidents
from app.services.errors import ValidationError
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import principal, require_scope
from app.web.api.bodies import json_body

# CronUptime's vocabulary, accepted beside ours: ?status=ongoing, ?type=cron|all and
# PATCH {"action": "resolve"|"reopen"}.
_STATUS_ALIASES: dict[str | None, str | None] = {"ongoing": "open", "all": None}
_TYPE_ALIASES: dict[str | None, str | None] = {"cron": "cron_job", "all": None}
_ACTIONS = {"resolve": "resolved", "reopen": "open"}
ACTION_ERROR = 'action must be "resolve" or "reopen"'


@bp.get("/incidents")
@require_scope("incidents:read")
def list_incidents() -> ResponseReturnValue:
    args = request.args
    status = args.get("status")
    subject = args.get("type")
    page = incidents.list_incidents(
        status=_STATUS_ALIASES.get(status, status),
        subject=_TYPE_ALIASES.get(subject, subject),
        monitor_id=args.get("monitor_id"),
        cron_job_id=args.get("cron_job_id"),
        page=args.get("page", 1),
        per_page=args.get("per_page", args.get("limit", 50)),
        offset=args.get("offset"),
    )
    body = {
        "incidents": [out.incident(i) for i in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
        "limit": page.per_page,
        "offset": page.offset,
    }
    return jsonify(body), 200, out.page_headers(page)


@bp.get("/incidents/<incident:incident_id>")
@require_scope("incidents:read")
def get_incident(incident_id: int) -> ResponseReturnValue:
    return jsonify(out.incident(incidents.get(incident_id), with_updates=True))


@bp.patch("/incidents/<incident:incident_id>")
@require_scope("incidents:write")
def update_incident(incident_id: int) -> ResponseReturnValue:
    body = json_body()
    if isinstance(body, dict) and "action" in body and "status" not in body:
        body = dict(body)
        action = body.pop("action")
        if not isinstance(action, str) or action not in _ACTIONS:
            raise ValidationError({"action": ACTION_ERROR}, ACTION_ERROR)
        body["status"] = _ACTIONS[action]
    incident = incidents.update(incident_id, body, actor=principal().actor)
    return jsonify(out.incident(incident, with_updates=True))


@bp.post("/incidents/<incident:incident_id>/updates")
@require_scope("incidents:write")
def add_incident_update(incident_id: int) -> ResponseReturnValue:
    update = incidents.add_update(incident_id, json_body(), actor=principal().actor)
    return jsonify(out.incident_update(update)), 201
