"""Compatibility facade: the CronUptime API (cronuptime.com) under /compat/cronuptime.

Scripts written for ``https://www.cronuptime.com/api`` keep working when their base URL
becomes ``http(s)://<upcron>/compat/cronuptime/api`` and their token an Upcron API key (or
their own token, imported with ``upcron create-api-key --secret``). They read CronUptime's
own objects: the raw table rows of its database, in their column order, with uuid ids,
epoch-millisecond times and 0/1 flags.

- Monitors are our http monitors (keyword monitors when a keyword is set); cron jobs are our
  cron jobs (on a cron expression read in UTC, or on an interval); incidents are ours, of
  any monitor or cron job.
- ``expected_min``/``expected_max`` are our expected status range; ``confirmation_period_sec``
  and ``recovery_period_sec`` our failure and recovery thresholds, counted in checks
  (``1 + ceil(period / interval_sec)``; read back as ``(threshold - 1) * interval_sec``).
- Auth: ``Authorization: Bearer <key>`` exactly (CronUptime's check); every refused key is
  401 ``Unauthorized``; a missing scope 403 with CronUptime's text.
- Errors: ``{"error": "<message>"}``; validation is 400, as CronUptime answers it.

Every rule and change goes through the same services as the native API.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from app.models import CronJob, Incident, IncidentUpdate, Monitor
from app.models.history import OK
from app.models.monitor import KIND_HTTP, KIND_KEYWORD, STATE_DEGRADED, STATE_DOWN, STATE_UP
from app.services import cron_jobs, fields, incidents, monitors
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    ServiceError,
    Throttled,
    ValidationError,
)
from app.services.pagination import PER_PAGE_MAX
from app.web import api
from app.web.api import auth
from app.web.api.bodies import json_body
from app.web.api.serializers import epoch_ms

bp = Blueprint("compat_cronuptime", __name__, url_prefix="/compat/cronuptime/api")

UNAUTHORIZED = "Unauthorized"
NO_FIELDS = "No fields to update"
MONITOR_REQUIRED = "url, interval_sec, and timeout_ms are required"
CRON_REQUIRED = "url, method, and timeout_ms are required"
CRON_SCHEDULE_REQUIRED = "Either cron_expr or interval_sec is required"
ACTION_INVALID = 'action must be "resolve" or "reopen"'
INCIDENT_REQUIRED = "type and source_id are required"
TYPE_INVALID = 'type must be "monitor" or "cron"'
NOT_AN_OBJECT = "Send the fields as a JSON object."
CRON_KEYWORD = (
    "Cron jobs here do not look for a keyword in the response; leave keyword out, or use a monitor."
)
# Defaults a CronUptime client reads as null (the checker's own defaults).
MONITOR_STATUS_DEFAULT = "200-399"
CRON_STATUS_DEFAULT = "200-299"
LIMIT_DEFAULT = 50
THRESHOLD_MAX = 100
# Events have no id column of their own: a uuid derived from the incident's and the entry's.
_EVENT_NAMESPACE = uuid.UUID("5b0e8d4e-35a8-4f0e-9d0c-6a4f3c1f7a21")

# The writable fields of each object: a PUT with none of them has nothing to update.
MONITOR_FIELDS = (
    "name",
    "url",
    "urls",
    "method",
    "interval_sec",
    "timeout_ms",
    "expected_min",
    "expected_max",
    "keyword",
    "headers_json",
    "body",
    "recovery_period_sec",
    "confirmation_period_sec",
    "use_tr_proxy",
    "is_active",
)
CRON_FIELDS = (
    "name",
    "url",
    "method",
    "headers_json",
    "body",
    "cron_expr",
    "interval_sec",
    "timeout_ms",
    "expected_min",
    "expected_max",
    "keyword",
    "is_active",
)
# Our field names in the client's words, for error messages.
_THEIR_NAMES = {
    "headers": "headers_json",
    "expected_status": "expected_min",
    "failure_threshold": "confirmation_period_sec",
    "recovery_threshold": "recovery_period_sec",
    "paused": "is_active",
    "enabled": "is_active",
}


# --- errors ----------------------------------------------------------------------------------


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    return jsonify(error=message), status, headers or {}


def _message(exc: ValidationError) -> str:
    if not exc.fields:
        return exc.message
    return "; ".join(f"{_THEIR_NAMES.get(k, k)}: {v}" for k, v in exc.fields.items())


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    if isinstance(exc, AuthenticationFailed):
        return _error(401, UNAUTHORIZED)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}
    status = api.http_status(exc, {ValidationError: 400})
    message = _message(exc) if isinstance(exc, ValidationError) else exc.message
    return _error(status, message, headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    """Malformed, oversized or unstorable bodies (400, 413, 422) as ``{"error"}``."""
    return _error(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(500)
def _internal_error(exc: Exception) -> ResponseReturnValue:
    return _error(500, "Internal server error")


def _json(value: Any, status: int = 200) -> Response:
    """``value`` as JSON with its keys in the order built: CronUptime answers table rows in
    their column order (jsonify would sort them)."""
    text = current_app.json.dumps(value, sort_keys=False)
    return Response(text, status=status, mimetype="application/json")


# --- reading the dialect ---------------------------------------------------------------------


def _authorize(scope: str) -> None:
    """The token from ``Authorization: Bearer <token>`` (that prefix exactly, as CronUptime
    checks it), authenticated, counted and holding ``scope``."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise AuthenticationFailed(UNAUTHORIZED)
    auth.authorize_key(header[7:], scope)


def _body() -> dict[str, Any]:
    """The JSON object of the request, whatever its declared type (CronUptime reads the body
    as JSON without looking at the Content-Type)."""
    data = json_body(any_content_type=True)
    if not isinstance(data, dict):
        raise ValidationError({}, NOT_AN_OBJECT)
    return data


def _falsy(value: Any) -> bool:
    """JavaScript's falsiness, by which CronUptime stores an optional value as null."""
    return value is None or value is False or value == 0 or value == ""


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError({name: "Must be a whole number."})
    try:
        number = float(value)
    except ValueError:
        raise ValidationError({name: "Must be a whole number."}) from None
    if not math.isfinite(number) or number != int(number) or abs(number) > 2**31:
        raise ValidationError({name: "Must be a whole number."})
    return int(number)


def _flag(value: Any) -> bool:
    """``is_active``: true, 1 or "1"/"true" is on; false, 0, null and "" off."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return not _falsy(value)


def _headers(value: Any) -> Any:
    """``headers_json``: an object, or the JSON text of one (what CronUptime hands back)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value  # "Name: value" lines, which the service reads too
        return parsed
    return value


def _status_range(data: dict[str, Any], current: str | None, default: str) -> str | None:
    """Our expected status range from ``expected_min``/``expected_max``, either of which may
    be left out (keeping the current bound) or null (the default bound)."""
    if "expected_min" not in data and "expected_max" not in data:
        return None
    low, high = _bounds(current or default)
    default_low, default_high = _bounds(default)
    if "expected_min" in data:
        given = data["expected_min"]
        low = default_low if _falsy(given) else _whole(given, "expected_min")
    if "expected_max" in data:
        given = data["expected_max"]
        high = default_high if _falsy(given) else _whole(given, "expected_max")
    return f"{low}-{high}"


def _bounds(ranges: str) -> tuple[int, int]:
    """The lowest and highest status of an expected status text ("200-299,304")."""
    numbers = [int(n) for part in ranges.split(",") for n in part.split("-") if n.strip()]
    return min(numbers), max(numbers)


def _threshold(value: Any, interval_sec: int, name: str) -> int:
    """A period in seconds as a number of checks in a row: the first one and as many more as
    the period spans at ``interval_sec``."""
    if _falsy(value):
        return 1
    seconds = _whole(value, name)
    if seconds < 0:
        raise ValidationError({name: "Must be 0 or more seconds."})
    return min(THRESHOLD_MAX, 1 + math.ceil(seconds / max(1, interval_sec)))


def _optional_text(value: Any) -> Any:
    return None if _falsy(value) else value


# --- writing the dialect ---------------------------------------------------------------------


def _user_id() -> str:
    """CronUptime's owner column: the admin who made the key in use ("" for none)."""
    key = g.principal.api_key if g.get("principal") else None
    return str(key.created_by_id) if key is not None and key.created_by_id else ""


def _headers_json(headers: dict[str, str] | None) -> str | None:
    """The headers as JSON text, secret values masked (they are write-only, as in the
    native API; sent back masked, the stored values stay)."""
    return json.dumps(fields.masked_headers(headers)) if headers else None


def _range_or_null(expected: str, default: str) -> tuple[int | None, int | None]:
    return (None, None) if expected == default else _bounds(expected)


def _period(threshold: int, interval_sec: int) -> int | None:
    return (threshold - 1) * interval_sec or None


def monitor_out(row: Monitor) -> dict[str, Any]:
    expected_min, expected_max = _range_or_null(row.expected_status, MONITOR_STATUS_DEFAULT)
    next_run = None
    if not row.paused:
        next_run = epoch_ms(
            (row.last_checked_at or row.created_at) + timedelta(seconds=row.interval_sec)
        )
    last_status = None
    if row.state in (STATE_UP, STATE_DEGRADED):
        last_status = "up"
    elif row.state == STATE_DOWN:
        last_status = "down"
    return {
        "id": row.uuid,
        "name": None if row.name_from_url else row.name,
        "url": row.url,
        "urls": None,
        "interval_sec": row.interval_sec,
        "timeout_ms": row.timeout_ms,
        "expected_min": expected_min,
        "expected_max": expected_max,
        "keyword": row.keyword or None,
        "is_active": 0 if row.paused else 1,
        "next_run_at": next_run,
        "locked_at": None,
        "last_status": last_status,
        "last_latency_ms": row.last_response_ms,
        "last_checked_at": epoch_ms(row.last_checked_at),
        "created_at": epoch_ms(row.created_at),
        "recovery_period_sec": _period(row.recovery_threshold, row.interval_sec),
        "confirmation_period_sec": _period(row.failure_threshold, row.interval_sec),
        "user_id": _user_id(),
        "headers_json": _headers_json(row.headers),
        "body": row.body,
        "method": row.method,
        "use_tr_proxy": 0,
    }


def cron_job_out(row: CronJob) -> dict[str, Any]:
    expected_min, expected_max = _range_or_null(row.expected_status, CRON_STATUS_DEFAULT)
    upcoming = cron_jobs.next_runs(row.id, 1)
    last_status = None
    if row.last_outcome is not None:
        last_status = "success" if row.last_outcome == OK else "fail"
    return {
        "id": row.uuid,
        "name": None if row.name_from_url else row.name,
        "url": row.url,
        "method": row.method,
        "headers_json": _headers_json(row.headers),
        "body": row.body,
        "cron_expr": row.cron_expr,
        "interval_sec": row.interval_sec,
        "timeout_ms": row.timeout_ms,
        "expected_min": expected_min,
        "expected_max": expected_max,
        "keyword": None,
        "is_active": 1 if row.enabled else 0,
        "next_run_at": epoch_ms(upcoming[0]) if upcoming else None,
        "locked_at": None,
        "last_status": last_status,
        "last_run_at": epoch_ms(row.last_run_at),
        "fail_streak": row.consecutive_failures,
        "created_at": epoch_ms(row.created_at),
        "guest_ip": None,
        "expires_at": epoch_ms(row.expires_at),
        "user_id": _user_id(),
    }


def incident_out(row: Incident, with_source: bool = True) -> dict[str, Any]:
    source: Monitor | CronJob | None = row.monitor if row.monitor_id is not None else row.cron_job
    # Incidents are deleted with their subject (ON DELETE CASCADE), so one is always there.
    assert source is not None, "an incident outlives no subject"
    data = {
        "id": row.uuid,
        "type": "monitor" if row.monitor_id is not None else "cron",
        "source_id": source.uuid,
        "started_at": epoch_ms(row.started_at),
        "resolved_at": epoch_ms(row.resolved_at),
        "last_update_at": epoch_ms(row.updated_at),
        "user_id": _user_id(),
        "cause": row.cause,
        "http_status": None,
        "screenshot_url": None,
    }
    if with_source:
        data["source_name"] = None if source.name_from_url else source.name
        data["source_url"] = monitors.target(source) if isinstance(source, Monitor) else source.url
    return data


def _event_type(entry: IncidentUpdate) -> str:
    """Our timeline entries in CronUptime's event types: a reopening is a "started" event, a
    resolution nobody asked for (the engine's) "auto_resolved"."""
    if entry.kind == "reopened":
        return "started"
    if entry.kind == "resolved" and entry.author_id is None and entry.api_key_id is None:
        return "auto_resolved"
    return entry.kind


def event_out(incident: Incident, entry: IncidentUpdate) -> dict[str, Any]:
    author = entry.author
    return {
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, f"{incident.uuid}/{entry.id}")),
        "incident_id": incident.uuid,
        "user_id": str(author.id) if author is not None else None,
        "event_type": _event_type(entry),
        "content": entry.message,
        "created_at": epoch_ms(entry.created_at),
        "updated_at": epoch_ms(entry.created_at),
        "user_name": (entry.api_key.name if entry.api_key is not None else None)
        if author is None
        else author.email,
        "user_email": author.email if author is not None else None,
        "user_image": None,
    }


# --- monitors --------------------------------------------------------------------------------


def _monitor(value: str) -> Monitor:
    """A monitor of this dialect (http or keyword) by uuid; any other is not found."""
    row = monitors.get_by_uuid(value)
    if row.kind not in (KIND_HTTP, KIND_KEYWORD):
        raise NotFound("Monitor not found")
    return row


def _monitor_values(data: dict[str, Any], current: Monitor | None) -> dict[str, Any]:
    """CronUptime's monitor fields as the monitor service's."""
    values: dict[str, Any] = {}
    if "name" in data:
        if _falsy(data["name"]):
            values["name_from_url"] = True
        else:
            values["name"] = data["name"]
    elif current is None:
        values["name_from_url"] = True
    for name in ("url", "method", "interval_sec", "timeout_ms"):
        if name in data:
            values[name] = data[name]
    if "method" in values and _falsy(values["method"]):
        values["method"] = "GET"
    if "body" in data:
        values["body"] = _optional_text(data["body"])
    if "headers_json" in data:
        values["headers"] = None if _falsy(data["headers_json"]) else _headers(data["headers_json"])
    if "keyword" in data:
        keyword = _optional_text(data["keyword"])
        values["keyword"] = keyword
        values["kind"] = KIND_KEYWORD if keyword is not None else KIND_HTTP
    expected = _status_range(
        data, current.expected_status if current else None, MONITOR_STATUS_DEFAULT
    )
    if expected is not None:
        values["expected_status"] = expected
    interval = values.get("interval_sec", current.interval_sec if current else None)
    interval = _whole(interval, "interval_sec") if interval is not None else 60
    for theirs, ours in (
        ("confirmation_period_sec", "failure_threshold"),
        ("recovery_period_sec", "recovery_threshold"),
    ):
        if theirs in data or current is None:
            values[ours] = _threshold(data.get(theirs), interval, theirs)
    if "is_active" in data and current is not None:
        values["paused"] = not _flag(data["is_active"])
    return values


def _all(list_page, **filters) -> list:
    found, page = [], 1
    while True:
        batch = list_page(page=page, per_page=PER_PAGE_MAX, **filters)
        found += batch.items
        if page >= batch.pages:
            return found
        page += 1


def _newest_first(rows: list) -> list:
    return sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)


@bp.get("/monitors")
def list_monitors() -> ResponseReturnValue:
    _authorize("monitors:read")
    rows = _all(monitors.list_monitors, kind=(KIND_HTTP, KIND_KEYWORD))
    return _json([monitor_out(row) for row in _newest_first(rows)])


@bp.post("/monitors")
def create_monitor() -> ResponseReturnValue:
    _authorize("monitors:write")
    data = _body()
    if any(_falsy(data.get(name)) for name in ("url", "interval_sec", "timeout_ms")):
        raise ValidationError({}, MONITOR_REQUIRED)
    return _json(monitor_out(monitors.create(_monitor_values(data, None))), 201)


@bp.get("/monitors/<monitor_id>")
def get_monitor(monitor_id: str) -> ResponseReturnValue:
    _authorize("monitors:read")
    return _json(monitor_out(_monitor(monitor_id)))


@bp.put("/monitors/<monitor_id>")
def update_monitor(monitor_id: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    current = _monitor(monitor_id)
    data = _body()
    if not any(name in data for name in MONITOR_FIELDS):
        raise ValidationError({}, NO_FIELDS)
    values = _monitor_values(data, current)
    row = monitors.update(current.id, values) if values else current
    return _json(monitor_out(row))


@bp.delete("/monitors/<monitor_id>")
def delete_monitor(monitor_id: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitors.delete(_monitor(monitor_id).id)
    return _json({"success": True})


# --- cron jobs -------------------------------------------------------------------------------


def _cron_values(data: dict[str, Any], current: CronJob | None) -> dict[str, Any]:
    """CronUptime's cron job fields as the cron job service's."""
    values: dict[str, Any] = {}
    if "name" in data:
        if _falsy(data["name"]):
            values["name_from_url"] = True
        else:
            values["name"] = data["name"]
    elif current is None:
        values["name_from_url"] = True
    for name in ("url", "method", "timeout_ms"):
        if name in data:
            values[name] = data[name]
    if "body" in data:
        values["body"] = _optional_text(data["body"])
    if "headers_json" in data:
        values["headers"] = None if _falsy(data["headers_json"]) else _headers(data["headers_json"])
    if not _falsy(data.get("keyword")):
        raise ValidationError({"keyword": CRON_KEYWORD})
    # A schedule given replaces the other; a falsy one is no schedule (CronUptime's null).
    if not _falsy(data.get("cron_expr")):
        values["cron_expr"] = data["cron_expr"]
    elif not _falsy(data.get("interval_sec")):
        values["interval_sec"] = data["interval_sec"]
    expected = _status_range(
        data, current.expected_status if current else None, CRON_STATUS_DEFAULT
    )
    if expected is not None:
        values["expected_status"] = expected
    if current is None:
        values["timezone"] = "UTC"  # CronUptime reads every expression in UTC
    elif "is_active" in data:
        values["enabled"] = _flag(data["is_active"])
    return values


@bp.get("/cron-jobs")
def list_cron_jobs() -> ResponseReturnValue:
    _authorize("cron-jobs:read")
    rows = _all(cron_jobs.list_cron_jobs)
    return _json([cron_job_out(row) for row in _newest_first(rows)])


@bp.post("/cron-jobs")
def create_cron_job() -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    data = _body()
    if any(_falsy(data.get(name)) for name in ("url", "method", "timeout_ms")):
        raise ValidationError({}, CRON_REQUIRED)
    if _falsy(data.get("cron_expr")) and _falsy(data.get("interval_sec")):
        raise ValidationError({}, CRON_SCHEDULE_REQUIRED)
    return _json(cron_job_out(cron_jobs.create(_cron_values(data, None))), 201)


@bp.get("/cron-jobs/<cron_job_id>")
def get_cron_job(cron_job_id: str) -> ResponseReturnValue:
    _authorize("cron-jobs:read")
    return _json(cron_job_out(cron_jobs.get_by_uuid(cron_job_id)))


@bp.put("/cron-jobs/<cron_job_id>")
def update_cron_job(cron_job_id: str) -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    current = cron_jobs.get_by_uuid(cron_job_id)
    data = _body()
    if not any(name in data for name in CRON_FIELDS):
        raise ValidationError({}, NO_FIELDS)
    values = _cron_values(data, current)
    row = cron_jobs.update(current.id, values) if values else current
    return _json(cron_job_out(row))


@bp.delete("/cron-jobs/<cron_job_id>")
def delete_cron_job(cron_job_id: str) -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    cron_jobs.delete(cron_jobs.get_by_uuid(cron_job_id).id)
    return _json({"success": True})


# --- incidents -------------------------------------------------------------------------------

_STATUS_FILTER = {"ongoing": "open", "resolved": "resolved"}
_TYPE_FILTER = {"monitor": "monitor", "cron": "cron_job"}


def _count(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    number = _whole(value, name)
    if number < 0:
        raise ValidationError({name: "Must be 0 or more."})
    return number


@bp.get("/incidents")
def list_incidents() -> ResponseReturnValue:
    _authorize("incidents:read")
    limit = min(_count("limit", LIMIT_DEFAULT), PER_PAGE_MAX)
    offset = _count("offset", 0)
    page = incidents.list_incidents(
        status=_STATUS_FILTER.get(request.args.get("status", "")),
        subject=_TYPE_FILTER.get(request.args.get("type", "")),
        per_page=max(1, limit),
        offset=offset,
    )
    rows = page.items if limit else []
    return _json(
        {
            "incidents": [incident_out(row) for row in rows],
            "total": page.total,
            "limit": limit,
            "offset": offset,
        }
    )


@bp.post("/incidents")
def create_incident() -> ResponseReturnValue:
    _authorize("incidents:write")
    data = _body()
    if _falsy(data.get("type")) or _falsy(data.get("source_id")):
        raise ValidationError({}, INCIDENT_REQUIRED)
    if data["type"] not in ("monitor", "cron"):
        raise ValidationError({}, TYPE_INVALID)
    source_id = data["source_id"] if isinstance(data["source_id"], str) else ""
    monitor_id = cron_job_id = None
    if data["type"] == "monitor":
        monitor_id = monitors.get_by_uuid(source_id).id
    else:
        cron_job_id = cron_jobs.get_by_uuid(source_id).id
    row = incidents.open_manually(
        monitor_id=monitor_id,
        cron_job_id=cron_job_id,
        cause=_optional_text(data.get("cause")),
        actor=g.principal.actor,
    )
    return _json(incident_out(row), 201)


@bp.get("/incidents/<incident_id>")
def get_incident(incident_id: str) -> ResponseReturnValue:
    _authorize("incidents:read")
    row = incidents.get_by_uuid(incident_id)
    events = sorted(row.updates, key=lambda entry: (entry.created_at, entry.id), reverse=True)
    return _json({"incident": incident_out(row), "events": [event_out(row, e) for e in events]})


@bp.patch("/incidents/<incident_id>")
def update_incident(incident_id: str) -> ResponseReturnValue:
    _authorize("incidents:write")
    row = incidents.get_by_uuid(incident_id)
    action = _body().get("action")
    if action not in ("resolve", "reopen"):
        raise ValidationError({}, ACTION_INVALID)
    status = "resolved" if action == "resolve" else "open"
    try:
        row = incidents.update(row.id, {"status": status}, actor=g.principal.actor)
    except Conflict as exc:  # CronUptime answers "already resolved/open" as a bad request
        raise ValidationError({}, exc.message) from None
    return _json(incident_out(row, with_source=False))


@bp.delete("/incidents/<incident_id>")
def delete_incident(incident_id: str) -> ResponseReturnValue:
    _authorize("incidents:write")
    incidents.delete(incidents.get_by_uuid(incident_id).id)
    return _json({"success": True})
