"""Compatibility facade: the cron-job.org REST API under /compat/cron-job-org.

Scripts and client libraries written for https://api.cron-job.org keep working when their
base URL becomes ``http(s)://<upcron>/compat/cron-job-org`` and their key an Upcron API key
(``Authorization: Bearer <key>``, scopes ``cron-jobs:read`` / ``cron-jobs:write``). Jobs are
our cron jobs and folders our groups; every change goes through the same services as the
native API, so what a client creates here is the same object under /api/cron-jobs.

The dialect, as cron-job.org answers it: bodies ``{"job": {…}}`` and ``{"folder": {…}}``,
results wrapped in one named member (``jobDetails``, ``jobId``…), enum codes for statuses and
methods, schedules as value lists (see cron_job_org_schedule), errors as a bare status code
with no body (we add the reason in an ``X-Upcron-Error`` header for people reading logs),
per-method rate limits and a daily quota per key (100 unless the key sets its own), CORS
open to every origin. Requests are checked in its order: route (404), key (401/403),
per-method limit (429), daily quota (429), then the request itself (400).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from app.engine import schedule
from app.models import CronExecution, CronJob, Group
from app.models import history as outcomes
from app.models.types import utcnow
from app.services import api_keys, cron_jobs, fields, groups, history, ratelimit
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Throttled,
    Unavailable,
    ValidationError,
)
from app.web import decoding
from app.web.api import IdConverter, auth
from app.web.compat import cron_job_org_schedule as cjo_schedule

bp = Blueprint("compat_cron_job_org", __name__, url_prefix="/compat/cron-job-org")

READ, WRITE = "cron-jobs:read", "cron-jobs:write"
DAILY_QUOTA_DEFAULT = 100
HISTORY_MAX = 50
PREDICTIONS = 3
# Per-method limits as (requests, window seconds), counted per key in epoch-aligned windows.
RATE_LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    "list_jobs": ((5, 1),),
    "get_job": ((5, 1),),
    "create_job": ((1, 1), (5, 60)),
    "update_job": ((5, 1),),
    "delete_job": ((5, 1),),
    "job_history": ((5, 1),),
    "job_history_item": ((5, 1),),
    "list_folders": ((5, 1),),
    "get_folder": ((5, 1),),
    "create_folder": ((1, 1), (10, 60)),
    "update_folder": ((1, 1),),
    "delete_folder": ((1, 1),),
}

# RequestMethod codes 0-8; TRACE and CONNECT exist in the enum but our service refuses them.
METHODS = ("GET", "POST", "OPTIONS", "HEAD", "PUT", "DELETE", "TRACE", "CONNECT", "PATCH")
# JobStatus codes of our execution outcomes; 0 (unknown) for a job that has not run.
STATUS_OK = 1
STATUS_HTTP_ERROR = 4
_STATUS = {
    outcomes.OK: STATUS_OK,
    outcomes.FAILED_DNS: 2,
    outcomes.FAILED_CONNECT: 3,
    outcomes.FAILED_HTTP_STATUS: STATUS_HTTP_ERROR,
    outcomes.FAILED_TIMEOUT: 5,
    outcomes.FAILED_TOO_MUCH_DATA: 6,
    outcomes.FAILED_BLOCKED_TARGET: 7,
    outcomes.FAILED_INTERNAL: 8,
}
STATUS_OTHER = 9  # TLS failures, keyword mismatches: "failed (unknown reason)"
TIMEOUT_DEFAULT_MS = CronJob.__table__.c.timeout_ms.default.arg
IDENTIFIER_RE = re.compile(r"[0-9-]+")
# Our field names → theirs, so the error header names what the client sent.
_FIELD_NAMES = {
    "name": "title",
    "url": "url",
    "enabled": "enabled",
    "save_responses": "saveResponses",
    "redirect_success": "redirectSuccess",
    "timeout_ms": "requestTimeout",
    "method": "requestMethod",
    "group": "folderId",
    "cron_expr": "schedule",
    "timezone": "schedule.timezone",
    "expires_at": "schedule.expiresAt",
    "auth_username": "auth.user",
    "auth_password": "auth.password",
    "notify_failure_after": "notification.onFailureCount",
    "headers": "extendedData.headers",
    "body": "extendedData.body",
}


@bp.record_once
def _register_converters(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("id", IdConverter)


# --- errors, CORS ---------------------------------------------------------------------------


def _bare(
    status: int, reason: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """cron-job.org's error: the status line alone. ``reason`` rides in a header, as ASCII on
    one line, for people reading logs; clients rely on the code."""
    response = Response(status=status, headers=headers or {})
    response.headers.pop("Content-Type", None)
    if reason:
        response.headers["X-Upcron-Error"] = " ".join(
            reason.encode("ascii", "replace").decode().split()
        )[:500]
    return response


def _reason(exc: ValidationError) -> str:
    fields = "; ".join(f"{_FIELD_NAMES.get(k, k)}: {v}" for k, v in exc.fields.items())
    return fields or exc.message


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    if isinstance(exc, ValidationError):
        taken = exc.fields.get("name") == groups.NAME_TAKEN
        return _bare(409 if taken else 400, _reason(exc))
    if isinstance(exc, Throttled):
        return _bare(429, exc.message, {"Retry-After": str(exc.retry_after)})
    kinds = (
        (NotFound, 404),
        (Conflict, 409),
        (AuthenticationFailed, 401),
        (Forbidden, 403),
        (Unavailable, 503),
    )
    status = next((code for kind, code in kinds if isinstance(exc, kind)), 400)
    return _bare(status, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _bare(exc.code or 500, exc.description)


@bp.errorhandler(500)
def _internal_error(exc: Exception) -> Response:
    return _bare(500)


@bp.before_request
def _preflight() -> Response | None:
    """CORS preflight on any path: 204 with what cron-job.org allows."""
    if request.method == "OPTIONS":
        return Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, PUT, PATCH, DELETE",
                "Access-Control-Allow-Headers": (
                    "Content-Type, Authorization, X-Requested-With, X-Api-Key"
                ),
                "Access-Control-Max-Age": "1800",
            },
        )
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    response.headers["Pragma"] = "no-cache"
    response.headers["Expires"] = "0"
    return response


# --- admission ------------------------------------------------------------------------------


def _admit(operation: str, scope: str) -> None:
    """Key (401/403), per-method limit (429), daily quota (429), then the scope (403)."""
    secret = auth.presented_secret()
    if secret is None:
        raise AuthenticationFailed(api_keys.MISSING)
    key = auth.authenticate_key(secret).api_key
    assert key is not None  # authenticate_key returns the key it authenticated
    retry_after = ratelimit.hit_windows(
        key.id, f"cron-job-org:{operation}", RATE_LIMITS[operation], utcnow()
    )
    if retry_after is not None:
        raise Throttled("Rate limit of this API method exceeded.", retry_after)
    auth.count_request(key, key.daily_quota or DAILY_QUOTA_DEFAULT)
    api_keys.require_scope(key.scopes, scope)


def _method(operation: str, scope: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            _admit(operation, scope)
            return view(*args, **kwargs)

        # Read by the test that lists every route's scope; a function attribute, as in api.auth.
        wrapped.required_scope = scope  # type: ignore[attr-defined]
        return wrapped

    return decorate


# --- reading the dialect --------------------------------------------------------------------


def _payload(member: str) -> dict[str, Any]:
    """``{member: {…}}`` from the body. Any content type is read (cron-job.org wants
    application/json or text/json; reading more breaks no client)."""
    try:
        data = decoding.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        data = None
    inner = data.get(member) if isinstance(data, dict) else None
    if not isinstance(inner, dict):
        raise ValidationError({member: f'Send {{"{member}": {{…}}}} as JSON.'})
    return inner


def _truthy(value: Any) -> bool:
    """PHP's ``!!value``, which cron-job.org applies to its flags ("true" in the docs' curl
    example is a string), except that the string "false" means false."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false")
    return bool(value)


def _number(value: Any, name: str) -> int:
    try:
        return cjo_schedule.whole(value, name)
    except ValueError as exc:
        raise ValidationError({name: str(exc)}) from None


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError({name: "Must be text."})
    return str(value)


def _object(value: Any, name: str) -> dict[str, Any]:
    """A sub-object; ``[]`` and null count as empty (PHP encodes an empty object as [])."""
    if value in (None, []):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({name: "Must be an object."})
    return value


def _headers_in(value: Any) -> dict[str, str]:
    """extendedData.headers: CR and LF removed, trimmed, empty pairs dropped ([] is {})."""
    if value in (None, []):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"extendedData.headers": "Must be an object of names and values."})
    clean = {}
    for key, item in value.items():
        key = str(key).replace("\r", "").replace("\n", "").strip()
        item = _text(item, "extendedData.headers").replace("\r", "").replace("\n", "").strip()
        if key and item:
            clean[key] = item
    return clean


def _schedule_in(given: Any, job: CronJob | None) -> dict[str, Any]:
    """Native ``cron_expr``, ``timezone`` and ``expires_at`` from a (partial) JobSchedule.

    On create a missing list means every value. On update a missing list keeps the job's
    own, which needs the job's expression to be one the lists can say exactly.
    """
    given = _object(given, "schedule")
    data: dict[str, Any] = {}
    old_zone = job.timezone if job else "UTC"
    zone = old_zone
    if "timezone" in given:
        try:
            zone = schedule.validate_timezone(_text(given["timezone"], "timezone"))
            data["timezone"] = zone
        except ValueError:
            pass  # cron-job.org ignores a zone it does not know and keeps the old one
    try:
        if any(name in given for name in cjo_schedule.RANGES) or job is None:
            expression = _cron_of(job) if job else None
            current = cjo_schedule.from_cron(expression) if expression else None
            lists = {}
            for name in cjo_schedule.RANGES:
                if name in given:
                    lists[name] = cjo_schedule.normalise(name, given[name])
                elif current is None:
                    lists[name] = list(cjo_schedule.EVERY)
                elif not current.exact:
                    raise ValueError(
                        f"This job's schedule ({expression}) has no exact list "
                        "form; send all five lists to replace it."
                    )
                else:
                    lists[name] = current.lists[name]
            data["cron_expr"] = cjo_schedule.to_cron(lists)
        if "expiresAt" in given:
            data["expires_at"] = cjo_schedule.expires_to_utc(given["expiresAt"], zone)
        elif job is not None and job.expires_at is not None and zone != old_zone:
            # expiresAt is a wall time in the job's zone: the same number in the new zone.
            wall = cjo_schedule.expires_from_utc(job.expires_at, old_zone)
            data["expires_at"] = cjo_schedule.expires_to_utc(wall, zone)
    except ValueError as exc:
        raise ValidationError({"schedule": str(exc)}) from None
    return data


def _cron_of(job: CronJob) -> str:
    """The job's cron expression; an interval job (made elsewhere) as the nearest one."""
    return schedule.as_cron(job.cron_expr, job.interval_sec)


def _folder_in(value: Any) -> str | None:
    folder_id = _number(value, "folderId")
    if folder_id == 0:
        return None
    try:
        return groups.get(folder_id).name
    except NotFound:
        raise ValidationError({"folderId": f"There is no folder {folder_id}."}) from None


def _job_in(given: dict[str, Any], job: CronJob | None) -> dict[str, Any]:
    """The native fields for a DetailedJob (create, ``job`` None) or a delta of one."""
    data: dict[str, Any] = {}
    if job is None:  # cron-job.org's defaults where ours differ
        data |= {
            "enabled": False,
            "notify_on_failure": False,
            "notify_on_recovery": False,
            "notify_on_disable": False,
        }
    if "url" in given:
        data["url"] = _text(given["url"], "url").strip()
    if "title" in given or job is None:
        # Our cron jobs need a name: an empty title names the job after its URL (in the
        # dashboard), and it reads back here as the empty title it was given.
        title = _text(given.get("title"), "title").strip()
        if title:
            data["name"] = title
        else:
            data["name_from_url"] = True
    for theirs, ours in (
        ("enabled", "enabled"),
        ("saveResponses", "save_responses"),
        ("redirectSuccess", "redirect_success"),
    ):
        if theirs in given:
            data[ours] = _truthy(given[theirs])
    if "requestMethod" in given:
        data["method"] = METHODS[min(8, max(0, _number(given["requestMethod"], "requestMethod")))]
    if "requestTimeout" in given:
        seconds = _number(given["requestTimeout"], "requestTimeout")
        data["timeout_ms"] = TIMEOUT_DEFAULT_MS if seconds <= 0 else seconds * 1000
    if "folderId" in given:
        data["group"] = _folder_in(given["folderId"])
    if "schedule" in given or job is None:
        data |= _schedule_in(given.get("schedule", {}), job)
    if "auth" in given:
        data |= _auth_in(given["auth"], job)
    if "notification" in given:
        data |= _notification_in(given["notification"])
    if "extendedData" in given:
        extended = _object(given["extendedData"], "extendedData")
        if "headers" in extended:
            data["headers"] = _headers_in(extended["headers"])
        if "body" in extended:
            data["body"] = _text(extended["body"], "extendedData.body")
    return data


def _auth_in(given: Any, job: CronJob | None) -> dict[str, Any]:
    """JobAuth: we keep credentials only while enabled (no separate switch). The password
    reads as ``fields.MASK``; sent back so, the stored one stays."""
    given = _object(given, "auth")
    current_user = (job.auth_username or "") if job else ""
    current_password = (job.auth_password or "") if job else ""
    enable = _truthy(given.get("enable", bool(current_user)))
    if not enable:
        return {"auth_username": None, "auth_password": None}
    password = _text(given.get("password", current_password), "auth.password")
    return {
        "auth_username": _text(given.get("user", current_user), "auth.user"),
        # The password reads as the mask (write-only, as in the native API); sent back, it keeps.
        "auth_password": current_password if password == fields.MASK else password,
    }


def _notification_in(given: Any) -> dict[str, Any]:
    """JobNotificationSettings; the SSL-expiry settings have no counterpart and are ignored."""
    given = _object(given, "notification")
    data: dict[str, Any] = {}
    for theirs, ours in (
        ("onFailure", "notify_on_failure"),
        ("onSuccess", "notify_on_recovery"),
        ("onDisable", "notify_on_disable"),
    ):
        if theirs in given:
            data[ours] = _truthy(given[theirs])
    if "onFailureCount" in given:
        count = _number(given["onFailureCount"], "notification.onFailureCount")
        data["notify_failure_after"] = max(1, count)
    return data


# --- writing the dialect --------------------------------------------------------------------


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _status(outcome: str | None) -> int:
    if outcome is None:
        return 0
    return _STATUS.get(outcome, STATUS_OTHER)


def _job_out(row: CronJob, detailed: bool) -> dict[str, Any]:
    upcoming = cron_jobs.next_runs(row.id, 1)
    data = {
        "jobId": row.id,
        "enabled": row.enabled,
        "title": "" if row.name_from_url else row.name,
        "saveResponses": row.save_responses,
        "url": row.url,
        "lastStatus": _status(row.last_outcome),
        "lastDuration": row.last_duration_ms or 0,
        "lastExecution": _epoch(row.last_run_at) or 0,
        "sslCertExpiry": None,
        "nextExecution": _epoch(upcoming[0]) if upcoming else None,
        "type": 0,
        # -1 is cron-job.org's "the default timeout", which is ours too (30 s).
        "requestTimeout": -1
        if row.timeout_ms == TIMEOUT_DEFAULT_MS
        else math.ceil(row.timeout_ms / 1000),
        "redirectSuccess": row.redirect_success,
        "folderId": row.group_id or 0,
        "schedule": {
            "timezone": row.timezone,
            "expiresAt": cjo_schedule.expires_from_utc(row.expires_at, row.timezone),
            **cjo_schedule.from_cron(_cron_of(row)).lists,
        },
        "requestMethod": METHODS.index(row.method),
    }
    if detailed:
        data["auth"] = {
            "enable": bool(row.auth_username),
            "user": row.auth_username or "",
            "password": fields.MASK if row.auth_password else "",
        }
        data["notification"] = {
            "onFailure": row.notify_on_failure,
            "onFailureCount": row.notify_failure_after,
            "onSuccess": row.notify_on_recovery,
            "onDisable": row.notify_on_disable,
            "onSslCertExpiry": False,
            "onSslCertExpirySeconds": 604800,
        }
        data["extendedData"] = {
            "headers": fields.masked_headers(row.headers),
            "secretHeadersSet": fields.secret_headers_set(row.headers),
            "body": row.body or "",
        }
    return data


def _identifier(row: CronExecution) -> str:
    """``jobId-mday-month-jobLogId`` of the planned time (UTC), the month counted from 0."""
    planned = row.planned_at
    return f"{row.cron_job_id}-{planned.day}-{planned.month - 1}-{row.id}"


def _status_text(row: CronExecution) -> str:
    if row.outcome in (outcomes.OK, outcomes.FAILED_HTTP_STATUS) and row.status_code:
        try:
            return HTTPStatus(row.status_code).phrase
        except ValueError:
            return ""
    return row.error or ""


def _history_out(row: CronExecution, url: str, detailed: bool) -> dict[str, Any]:
    connected = row.tls_us or row.connect_us or 0
    data = {
        "jobLogId": row.id,
        "jobId": row.cron_job_id,
        "identifier": _identifier(row),
        "date": _epoch(row.started_at),
        "datePlanned": _epoch(row.planned_at),
        "jitter": row.jitter_ms,
        "url": url,
        "duration": row.duration_ms or 0,
        "status": _status(row.outcome),
        "statusText": _status_text(row),
        "httpStatus": row.status_code or 0,
        "headers": None,
        "body": None,
        "stats": {
            "nameLookup": row.dns_us or 0,
            "connect": row.connect_us or 0,
            "appConnect": row.tls_us or 0,
            "preTransfer": connected,
            "startTransfer": row.first_byte_us or 0,
            "total": row.total_us or 0,
        },
        "sslCertExpiry": None,
    }
    if detailed:
        headers = row.response_headers or {}
        data["headers"] = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        data["body"] = row.response_body or ""
    return data


def _all_jobs() -> list[CronJob]:
    jobs, page = [], 1
    while True:
        batch = cron_jobs.list_cron_jobs(page=page, per_page=200)
        jobs.extend(batch.items)
        if len(jobs) >= batch.total or not batch.items:
            return jobs
        page += 1


# --- jobs -----------------------------------------------------------------------------------


@bp.get("/jobs")
@_method("list_jobs", READ)
def list_jobs() -> ResponseReturnValue:
    jobs = [_job_out(row, detailed=False) for row in _all_jobs()]
    jobs.sort(key=lambda job: (not job["enabled"], job["lastStatus"], job["url"]))
    return jsonify(jobs=jobs, someFailed=False)


@bp.get("/jobs/<id:job_id>")
@_method("get_job", READ)
def get_job(job_id: int) -> ResponseReturnValue:
    return jsonify(jobDetails=_job_out(cron_jobs.get(job_id), detailed=True))


@bp.put("/jobs")
@_method("create_job", WRITE)
def create_job() -> ResponseReturnValue:
    job = cron_jobs.create(_job_in(_payload("job"), None))
    return jsonify(jobId=job.id)


@bp.patch("/jobs/<id:job_id>")
@_method("update_job", WRITE)
def update_job(job_id: int) -> ResponseReturnValue:
    current = cron_jobs.get(job_id)
    cron_jobs.update(job_id, _job_in(_payload("job"), current))
    return jsonify({})


@bp.delete("/jobs/<id:job_id>")
@_method("delete_job", WRITE)
def delete_job(job_id: int) -> ResponseReturnValue:
    cron_jobs.delete(job_id)
    return jsonify({})


@bp.get("/jobs/<id:job_id>/history")
@_method("job_history", READ)
def job_history(job_id: int) -> ResponseReturnValue:
    job = cron_jobs.get(job_id)
    rows = history.executions(job_id, page=1, per_page=HISTORY_MAX).items
    return jsonify(
        history=[_history_out(row, job.url, detailed=False) for row in rows],
        predictions=[_epoch(run) for run in cron_jobs.next_runs(job_id, PREDICTIONS)],
    )


@bp.get("/jobs/<id:job_id>/history/<identifier>")
@_method("job_history_item", READ)
def job_history_item(job_id: int, identifier: str) -> ResponseReturnValue:
    if not IDENTIFIER_RE.fullmatch(identifier):
        raise NotFound("Not found.")
    parts = identifier.split("-")
    if len(parts) != 4 or not all(parts):
        raise ValidationError({"identifier": "Expected jobId-mday-month-jobLogId."})
    job = cron_jobs.get(job_id)
    if len(parts[3]) > 18:  # more than a BIGINT holds: no such row
        raise NotFound("History item not found")
    row = history.execution(job_id, int(parts[3]))
    # The other parts must name this job and the execution's planned day, as the per-day
    # log databases of cron-job.org would.
    if identifier != _identifier(row):
        raise NotFound("History item not found")
    return jsonify(jobHistoryDetails=_history_out(row, job.url, detailed=True))


# --- folders --------------------------------------------------------------------------------


def _folder_out(group: Group) -> dict[str, Any]:
    return {"folderId": group.id, "title": group.name}


@bp.get("/folders")
@_method("list_folders", READ)
def list_folders() -> ResponseReturnValue:
    folders = sorted(groups.list_groups(), key=lambda group: group.name.lower())
    return jsonify(folders=[_folder_out(group) for group in folders])


@bp.get("/folders/<id:folder_id>")
@_method("get_folder", READ)
def get_folder(folder_id: int) -> ResponseReturnValue:
    return jsonify(folderDetails=_folder_out(groups.get(folder_id)))


@bp.put("/folders")
@_method("create_folder", WRITE)
def create_folder() -> ResponseReturnValue:
    return jsonify(folderId=groups.create(_payload("folder").get("title")).id)


@bp.patch("/folders/<id:folder_id>")
@_method("update_folder", WRITE)
def update_folder(folder_id: int) -> ResponseReturnValue:
    groups.rename(folder_id, _payload("folder").get("title"))
    return jsonify({})


@bp.delete("/folders/<id:folder_id>")
@_method("delete_folder", WRITE)
def delete_folder(folder_id: int) -> ResponseReturnValue:
    groups.delete(folder_id)
    return jsonify({})


# --- anything else ---------------------------------------------------------------------------


@bp.route("/", defaults={"rest": ""}, methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"])
@bp.route("/<path:rest>", methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"])
def unknown(rest: str) -> ResponseReturnValue:
    """An unknown route is a bare 404, before any key is looked at (cron-job.org's order)."""
    return _bare(404)
