"""/api/bulk: one action on many monitors, heartbeats and cron jobs, in one transaction."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import api_keys, bulk
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import authorize, mark_scope
from app.web.api.bodies import json_body


def needed_scopes(body: Any) -> list[str]:
    """Writing each kind of item the body names (monitors:write also when it names none,
    so an empty request is refused like any other), and maintenance:write to start
    maintenance."""
    named = isinstance(body, dict)
    needed = []
    if named and body.get("monitor_ids"):
        needed.append("monitors:write")
    if named and body.get("cron_job_ids"):
        needed.append("cron-jobs:write")
    if not needed:
        needed.append("monitors:write")
    if named and body.get("action") == "maintenance":
        needed.append("maintenance:write")
    return needed


@bp.post("/bulk")
def run_bulk() -> ResponseReturnValue:
    caller = authorize(None)  # the scopes depend on the body, checked once it is read
    body = json_body()
    for scope in needed_scopes(body):
        api_keys.require_scope(caller.scopes, scope)
    return jsonify(out.bulk_result(bulk.run(body)))


# The scope every bulk request may need; the OpenAPI document names the others.
mark_scope(run_bulk, "monitors:write")
