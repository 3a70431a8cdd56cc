"""Compatibility facade: the Cronhub API (cronhub.io), under /compat/cronhub.

People leaving Cronhub change the base URL and the key, nothing else:

- ``/api/v1/monitors…``: Cronhub monitors are our heartbeat monitors, addressed by their ping
  code (Cronhub's monitor uuid); answers in ``{"success": true, "response": …}``.
- ``/api/v1/schedulers…``: Cronhub schedulers are our HTTP cron jobs; each answer sits under
  its own key (``scheduler``, ``created``, ``paused``…).
- ``/ping|start|finish|fail/<uuid>``: pings, any method, recorded by the same service as
  /ping; an optional payload (``?payload=`` or the body) is kept as the ping's body.

Keys are the native API's keys with the same scopes, presented as ``X-Api-Key``. Errors are
``{"success": false, "response": "<message>"}``; a missing or wrong key answers 403, the
status Cronhub's own clients take to mean "bad key". Bodies may be form-encoded (as Cronhub's
documentation sends them) or JSON; unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from app import durations
from app.engine import schedule
from app.models import CronJob, Monitor
from app.models.history import PING_FAIL, PING_START, PING_SUCCESS
from app.models.monitor import KIND_HEARTBEAT, STATE_DOWN, STATE_NEW, STATE_PAUSED
from app.services import cron_jobs, fields, monitors
from app.services.errors import (
    AuthenticationFailed,
    NotFound,
    ServiceError,
    Throttled,
    ValidationError,
)
from app.services.pagination import PER_PAGE_MAX
from app.web import api
from app.web import ping as native_ping
from app.web.api import auth
from app.web.api.bodies import json_body

bp = Blueprint("compat_cronhub", __name__, url_prefix="/compat/cronhub")

MISSING_KEY = "Missing API key: send it in the X-Api-Key header."
PAYLOAD_MAX_CHARS = 1000
# Every method a script might use on a ping URL (HEAD comes with GET).
PING_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# --- errors ----------------------------------------------------------------------------------


def _failure(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> ResponseReturnValue:
    return jsonify(success=False, response=message, **extra), status, headers or {}


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    """Domain errors in Cronhub's shape; a validation error names each field, in Cronhub's
    field names, under ``errors`` as well."""
    # A refused key is 403: what Cronhub's own clients read as a bad key.
    status = api.http_status(exc, {AuthenticationFailed: 403}, default=403)
    headers: dict[str, str] = {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, ValidationError) and exc.fields:
        message = " ".join(f"{name}: {text}" for name, text in exc.fields.items())
        return _failure(status, message, headers, errors=exc.fields)
    return _failure(status, exc.message, headers)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    """Malformed or oversized bodies (400, 413, 415) in Cronhub's shape too."""
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return _failure(exc.code or 500, exc.description or exc.name, headers)


@bp.errorhandler(InternalServerError)
def internal_error(exc: InternalServerError) -> ResponseReturnValue:
    return _failure(500, "Something went wrong on our side; it has been logged.")


# --- shared translation ----------------------------------------------------------------------


def _authorize(scope: str) -> None:
    secret = auth.presented_secret()
    if secret is None:
        raise AuthenticationFailed(MISSING_KEY)
    auth.authorize_key(secret, scope)


def _input() -> dict[str, Any]:
    """The request's fields: JSON, or form-encoded fields merged over query parameters (the
    way Cronhub's framework reads input)."""
    if request.is_json:
        body = json_body()
        if not isinstance(body, dict):
            raise ValidationError({}, "Send the fields as a JSON object of names and values.")
        return body
    return {**request.args.to_dict(), **request.form.to_dict()}


def _given(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """The service's field errors under the names the client sent."""
    exc.fields = {names.get(field, field): text for field, text in exc.fields.items()}
    return exc


def _datetime(moment: datetime | None) -> Any:
    """A datetime as this deployment's Cronhub clients parse it (UPCRON_COMPAT_CRONHUB_DATETIME):
    ISO-8601 with offset, as documented, or a serialised PHP DateTime, as the live service
    sent."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if current_app.config["COMPAT_CRONHUB_DATETIME"] == "php":
        return {
            "date": moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "timezone_type": 3,
            "timezone": "UTC",
        }
    return moment.replace(microsecond=0).isoformat()


def _ok(response: Any, status: int = 200) -> ResponseReturnValue:
    return jsonify(success=True, response=response), status


# --- monitors (our heartbeats) ---------------------------------------------------------------

# Cronhub's argument → the monitor service's field.
_MONITOR_ARGS = {
    "name": "name",
    "schedule": "cron_expr",
    "timezone": "timezone",
    "grace_period": "grace_period",
    "running_time": "running_time",
    "running_time_unit": "running_time_unit",
}
# The service's field → the argument its error is reported under.
_MONITOR_ERRORS = {
    "cron_expr": "schedule",
    "period_sec": "schedule",
    "grace_sec": "grace_period",
    "max_run_sec": "running_time",
    "min_run_sec": "running_time",
}
# Required on create and on update alike, as Cronhub documents them.
_MONITOR_REQUIRED = {
    "name": "Enter a name.",
    "schedule": "Enter a cron expression, such as 0 0 * * *.",
    "timezone": "Enter a time zone, such as UTC.",
    "grace_period": "Enter the grace period in minutes, from 1 to 60.",
}
_UNIT_REQUIRED = "Choose the unit of running_time: seconds, minutes, hours, days or weeks."


def _monitor_values() -> dict[str, Any]:
    """A monitor's arguments as the service's fields; the arguments Cronhub requires must be
    there, and a running time needs its unit."""
    data = _input()
    errors: dict[str, str] = {}
    fields.require(data, errors, _MONITOR_REQUIRED)
    if _given(data, "running_time") and not _given(data, "running_time_unit"):
        errors["running_time_unit"] = _UNIT_REQUIRED
    if errors:
        raise ValidationError(errors)
    if "running_time" not in data:
        data.pop("running_time_unit", None)  # a unit alone changes nothing
    return {ours: data[theirs] for theirs, ours in _MONITOR_ARGS.items() if theirs in data}


def _running_time(monitor: Monitor) -> tuple[int | None, str | None]:
    seconds = monitor.max_run_sec
    if not seconds:
        return None, None
    return durations.largest_unit(seconds, monitors.RUNNING_TIME_UNITS)


def _status(monitor: Monitor) -> str:
    """Our heartbeat states in Cronhub's words: a run begun is "running", late but within the
    grace period is still "up" (Cronhub alerts only after the grace), down is "alert"."""
    if monitor.paused or monitor.state == STATE_PAUSED:
        return "paused"
    if monitor.state == STATE_DOWN:
        return "alert"
    if monitor.last_start_at is not None:
        return "running"
    return "new" if monitor.state == STATE_NEW else "up"


def _monitor(monitor: Monitor, created: bool = False) -> dict[str, Any]:
    """A Cronhub monitor; a new one answers its create with status null, as Cronhub does."""
    amount, unit = _running_time(monitor)
    return {
        "name": monitor.name,
        "code": monitor.code,
        "schedule": monitor.cron_expr,
        "grace_period": monitor.grace_sec // 60,
        "timezone": monitor.timezone,
        "status": None if created and monitor.state == STATE_NEW else _status(monitor),
        "last_ping": _datetime(monitor.last_ping_at),
        "running_time": amount,
        "running_time_unit": unit,
        "created_at": _datetime(monitor.created_at),
    }


def _monitor_write(operation: Callable[..., Monitor], *args: Any) -> Monitor:
    try:
        return operation(*args)
    except ValidationError as exc:
        raise _renamed(exc, _MONITOR_ERRORS) from None


@bp.get("/api/v1/monitors")
def list_monitors() -> ResponseReturnValue:
    _authorize("monitors:read")
    found, page = [], 1
    while True:
        batch = monitors.list_monitors(kind=KIND_HEARTBEAT, page=page, per_page=PER_PAGE_MAX)
        found += [_monitor(m) for m in batch.items]
        if page >= batch.pages:
            return _ok(found)
        page += 1


@bp.post("/api/v1/monitors")
def create_monitor() -> ResponseReturnValue:
    _authorize("monitors:write")
    # Cronhub keeps a paused monitor paused whatever pings arrive: resume by hand.
    data = {"kind": KIND_HEARTBEAT, "manual_resume": True, **_monitor_values()}
    return _ok(_monitor(_monitor_write(monitors.create, data), created=True))


@bp.get("/api/v1/monitors/<code>")
def get_monitor(code: str) -> ResponseReturnValue:
    _authorize("monitors:read")
    return _ok(_monitor(monitors.get_by_code(code)))


@bp.put("/api/v1/monitors/<code>")
def update_monitor(code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitor = monitors.get_by_code(code)
    return _ok(_monitor(_monitor_write(monitors.update, monitor.id, _monitor_values())))


@bp.delete("/api/v1/monitors/<code>")
def delete_monitor(code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitors.delete(monitors.get_by_code(code).id)
    return _ok([])


@bp.put("/api/v1/monitors/<code>/pause")
def pause_monitor(code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    return _ok(_monitor(monitors.pause(monitors.get_by_code(code).id)))


@bp.put("/api/v1/monitors/<code>/resume")
def resume_monitor(code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    return _ok(_monitor(monitors.resume(monitors.get_by_code(code).id)))


# --- schedulers (our HTTP cron jobs) ---------------------------------------------------------

_SCHEDULER_TYPES = ("cron", "interval")
_RATE_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
_SCHEDULER_ERRORS = {"method": "http_method", "body": "http_body", "url": "url"}
_SCHEDULER_REQUIRED = {
    "name": "Enter a name.",
    "type": "Choose cron or interval.",
    "url": "Enter the URL to call.",
    "http_method": "Choose the HTTP method, such as get or post.",
}
_CRON_REQUIRED = {
    "schedule": "Enter a cron expression, such as 0 0 * * *.",
    "timezone": "Enter a time zone, such as UTC.",
}
_INTERVAL_REQUIRED = {
    "interval_value": "Enter how many minutes, hours or days lie between runs.",
    "interval_rate": "Choose minutes, hours or days.",
}
_INTERVAL_UNSUPPORTED = (
    "Intervals run on the clock: use a number of minutes that divides an hour, of hours that "
    "divides a day, or 1 day."
)
_type = fields.choice(_SCHEDULER_TYPES)
_interval_value = fields.whole_number(1, None, "Must be a positive whole number.")
_interval_rate = fields.choice(tuple(_RATE_MINUTES))


def _interval_of(job: CronJob) -> tuple[int, str] | None:
    """A job's interval as Cronhub's value and rate: an interval job's, or that of a cron
    expression spelled as this facade stores intervals (with steps, see schedule.every); None
    for any other expression, which is shown as a cron scheduler."""
    if job.cron_expr is None:
        seconds: int | None = job.interval_sec
    else:
        seconds = schedule.step_interval(job.cron_expr)
    if seconds is None:
        return None
    # In whole minutes (at least one), so a rate always divides them.
    amount, rate = durations.largest_unit(max(1, seconds // 60), _RATE_MINUTES)
    return amount, rate or "minutes"


def _http_body(value: Any) -> str | None:
    """Cronhub takes the body as text or, in JSON, as an object or list: kept as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _scheduler_values() -> dict[str, Any]:
    """A scheduler's arguments as the cron-job service's fields (an interval becomes the cron
    expression that fires on it)."""
    data = _input()
    errors: dict[str, str] = {}
    fields.require(data, errors, _SCHEDULER_REQUIRED)
    kind = None
    if "type" in data:
        try:
            kind = _type(data["type"])
        except ValueError as exc:
            errors["type"] = str(exc)
    values = {"name": data.get("name"), "url": data.get("url")}
    if "http_method" in data:
        values["method"] = data["http_method"]
    if "http_body" in data:
        values["body"] = _http_body(data["http_body"])
    if "description" in data:
        values["description"] = data["description"]
    if kind == "cron":
        fields.require(data, errors, _CRON_REQUIRED)
        values["cron_expr"], values["timezone"] = data.get("schedule"), data.get("timezone")
    elif kind == "interval":
        fields.require(data, errors, _INTERVAL_REQUIRED)
        parsed, problems = fields.parse(
            {name: data[name] for name in _INTERVAL_REQUIRED if name in data},
            {"interval_value": _interval_value, "interval_rate": _interval_rate},
        )
        errors.update(problems)
        if len(parsed) == 2:
            minutes = parsed["interval_value"] * _RATE_MINUTES[parsed["interval_rate"]]
            # Spelled with steps, so that _interval_of reads it back as an interval.
            values["cron_expr"] = schedule.every(minutes * 60, steps=True)
            values["timezone"] = "UTC"
            if values["cron_expr"] is None:
                errors["interval_value"] = _INTERVAL_UNSUPPORTED
    if errors:
        raise ValidationError(errors)
    return values


def _scheduler(job: CronJob) -> dict[str, Any]:
    interval = _interval_of(job)
    body: Any = job.body or []
    if job.body:
        try:
            parsed = json.loads(job.body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict | list):
            body = parsed  # given as JSON, shown as JSON; any other text stays text
    return {
        "id": job.id,
        "name": job.name,
        "description": job.description or None,
        "interval_schedule_value": interval[0] if interval else None,
        "interval_schedule_rate": interval[1] if interval else None,
        "type": "interval" if interval else "cron",
        "schedule": None if interval else job.cron_expr,
        "timezone": job.timezone,
        "status": "active" if job.enabled else "paused",
        "url": job.url,
        "http_body": body,
        "http_method": job.method.lower(),
        "created_at": int(job.created_at.timestamp()),
        "updated_at": int(job.updated_at.timestamp()),
    }


def _scheduler_write(operation: Callable[..., CronJob], *args: Any) -> CronJob:
    try:
        return operation(*args)
    except ValidationError as exc:
        raise _renamed(exc, {"cron_expr": "schedule", **_SCHEDULER_ERRORS}) from None


@bp.get("/api/v1/schedulers")
def list_schedulers() -> ResponseReturnValue:
    _authorize("cron-jobs:read")
    found, page = [], 1
    while True:
        batch = cron_jobs.list_cron_jobs(page=page, per_page=PER_PAGE_MAX)
        found += [_scheduler(job) for job in batch.items]
        if page >= batch.pages:
            return jsonify(schedulers=found)
        page += 1


# Documented as POST …/schedulers/create; the REST spelling POST …/schedulers works as well.
@bp.post("/api/v1/schedulers")
@bp.post("/api/v1/schedulers/create")
def create_scheduler() -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    return jsonify(created=_scheduler(_scheduler_write(cron_jobs.create, _scheduler_values())))


@bp.get("/api/v1/schedulers/<id:job_id>")
def get_scheduler(job_id: int) -> ResponseReturnValue:
    _authorize("cron-jobs:read")
    return jsonify(scheduler=_scheduler(cron_jobs.get(job_id)))


@bp.put("/api/v1/schedulers/<id:job_id>")
def update_scheduler(job_id: int) -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    cron_jobs.get(job_id)  # an unknown id is a 404 before its arguments are judged
    job = _scheduler_write(cron_jobs.update, job_id, _scheduler_values())
    return jsonify(updated=_scheduler(job))


@bp.delete("/api/v1/schedulers/<id:job_id>")
def delete_scheduler(job_id: int) -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    cron_jobs.delete(job_id)
    return jsonify(deleted=True)


@bp.put("/api/v1/schedulers/<id:job_id>/pause")
def pause_scheduler(job_id: int) -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    return jsonify(paused=_scheduler(cron_jobs.disable(job_id)))


@bp.put("/api/v1/schedulers/<id:job_id>/resume")
def resume_scheduler(job_id: int) -> ResponseReturnValue:
    _authorize("cron-jobs:write")
    return jsonify(resumed=_scheduler(cron_jobs.enable(job_id)))


# --- pings -----------------------------------------------------------------------------------


def _payload() -> tuple[bytes, int]:
    """The ping's payload: the body, else ``?payload=``; its first 1000 characters are kept
    (Cronhub's limit) and its whole size counted, as /ping does beyond its own limit."""
    body, size = native_ping.read_body()
    if not body and "payload" in request.args:
        body = request.args["payload"].encode()
        size = len(body)
    text = body.decode("utf-8", errors="replace")
    if len(text) > PAYLOAD_MAX_CHARS:
        body = text[:PAYLOAD_MAX_CHARS].encode()
    return body, size


def _ping(code: str, kind: str) -> ResponseReturnValue:
    """Record the ping exactly as /ping does, then answer as Cronhub's ping URLs do."""
    try:
        monitor_id = native_ping.record(code, kind, None, *_payload())
    except NotFound:
        raise NotFound("Monitor not found.") from None
    monitor = monitors.get(monitor_id)
    return jsonify(
        success=True,
        monitor_status=_status(monitor),
        monitor_last_ping=_datetime(monitor.last_ping_at),
    )


@bp.route("/ping/<code>", methods=PING_METHODS)
def ping(code: str) -> ResponseReturnValue:
    return _ping(code, PING_SUCCESS)


@bp.route("/start/<code>", methods=PING_METHODS)
def start(code: str) -> ResponseReturnValue:
    return _ping(code, PING_START)


@bp.route("/finish/<code>", methods=PING_METHODS)
def finish(code: str) -> ResponseReturnValue:
    return _ping(code, PING_SUCCESS)


@bp.route("/fail/<code>", methods=PING_METHODS)
def fail(code: str) -> ResponseReturnValue:
    return _ping(code, PING_FAIL)
