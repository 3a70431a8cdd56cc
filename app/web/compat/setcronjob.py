"""Compatibility facade: SetCronJob's API (FastCron since 2023) under /compat/setcronjob.

Scripts written for SetCronJob keep working when they change the base URL and the token:
``/api/<target>.<action>`` (also ``/api/v1/`` and ``/app/v1/``, ``target_action``, any case),
GET or POST, parameters in the query, a form body or a JSON body, names in any case, the
token as ``token`` (or ``Authorization: Bearer``). Answers are SetCronJob's envelope:
``{"status": "success", "code": 0, "data": …}`` or ``{"status": "error", "code": n,
"message": …}``.

The token is an Upcron API key with the native API's scopes, rate limit and quota. This
module only translates: names, units, enums, schedules (arrays or English intervals to cron
expressions and back) and errors. Every rule and change is the services'.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.engine import schedule, state
from app.engine.probe import USER_AGENT
from app.models import CronExecution, CronJob, Group
from app.models.history import OK
from app.models.types import utcnow
from app.services import cron_jobs, fields, groups, history, system
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
from app.services.pagination import PER_PAGE_MAX, Page
from app.web import decoding
from app.web.api.auth import authorize_key, principal

bp = Blueprint("compat_setcronjob", __name__, url_prefix="/compat/setcronjob")

# Envelope codes. SetCronJob documents only 11 (a bad token); the others are ours, one per
# kind of failure, so that scripts can tell them apart.
CODE_OK = 0
CODE_UNKNOWN_CALL = 1
CODE_INVALID_TOKEN = 11
CODE_FORBIDDEN = 12
CODE_RATE_LIMITED = 13
CODE_INVALID = 20
CODE_NOT_FOUND = 21
CODE_CONFLICT = 22
CODE_UNSUPPORTED = 23
CODE_UNAVAILABLE = 30
CODE_SERVER = 50

INVALID_TOKEN = "Invalid API token, user not found."
LIST_PAGE_SIZE = 1000
LOGS_DEFAULT = 100
LOGS_MAX = 1000
INT_MAX = 2**31 - 1

# Application errors travel in the envelope with HTTP 200, as SetCronJob answers them:
# its clients read "status" and "code", and a script that fails on any 4xx would stop
# working. Only a refused rate limit and an outage get a 503 (the documented status).
_ERRORS: tuple[tuple[type[ServiceError], int, int], ...] = (
    (ValidationError, CODE_INVALID, 200),
    (NotFound, CODE_NOT_FOUND, 200),
    (Conflict, CODE_CONFLICT, 200),
    (AuthenticationFailed, CODE_INVALID_TOKEN, 200),
    (Forbidden, CODE_FORBIDDEN, 200),
    (Throttled, CODE_RATE_LIMITED, 503),
    (Unavailable, CODE_UNAVAILABLE, 503),
)

_CALL_RE = re.compile(r"(?:api|api/v1|app/v1)/([a-z]+)[._]([a-z]+)", re.IGNORECASE)


class Unsupported(ServiceError):
    """A SetCronJob action Upcron has no equivalent for."""


# --- envelope and errors --------------------------------------------------------------------


def _success(data: Any) -> Response:
    return jsonify(status="success", code=CODE_OK, data=data, info=[])


def _error(
    code: int, message: str, http_status: int = 200, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    return jsonify(status="error", code=code, message=message), http_status, headers or {}


# Our field names in service errors, as a SetCronJob client named them.
_FIELD_NAMES = {
    "cron_expr": "expression",
    "method": "httpMethod",
    "headers": "httpHeaders",
    "body": "postData",
    "auth_username": "username",
    "auth_password": "password",
    "timeout_ms": "timeout",
    "auto_disable_after": "failureThreshold",
    "notify_failure_after": "notifyEvery",
    "notify_on_failure": "notify",
    "notify_on_disable": "notify",
    "expected_status": "ignoreHttpStatus",
}


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    code, status = next(
        ((code, status) for kind, code, status in _ERRORS if isinstance(exc, kind)),
        (CODE_UNSUPPORTED, 200),
    )
    message = exc.message
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationFailed):
        message = INVALID_TOKEN
    elif isinstance(exc, ValidationError) and exc.fields:
        message = " ".join(
            f"{_FIELD_NAMES.get(name, name)}: {text}" for name, text in exc.fields.items()
        )
    elif isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    return _error(code, message, status, headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    messages = {
        405: f"Method {request.method} is not allowed here; use GET or POST.",
        413: "The request body is too large (the limit is 1 MiB).",
        500: "Something went wrong on our side; it has been logged.",
    }
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    code = CODE_SERVER if status >= 500 else CODE_INVALID
    return _error(code, messages.get(status, exc.description or exc.name), status, headers)


# --- reading the request --------------------------------------------------------------------


def _merge(target: dict[str, Any], pairs: MultiDict | dict) -> None:
    """Add parameters with their names lower-cased (clients differ in case) and PHP arrays
    (``minute[]=1&minute[]=2``) gathered into lists."""
    items = pairs.lists() if isinstance(pairs, MultiDict) else ((k, [v]) for k, v in pairs.items())
    for raw_name, values in items:
        name = str(raw_name).lower()
        if "[" in name and name.endswith("]"):
            base = name[: name.index("[")]
            existing = target.get(base)
            target[base] = (existing if isinstance(existing, list) else []) + list(values)
        else:
            target[name] = values[0] if len(values) == 1 else list(values)


def _params() -> dict[str, Any]:
    """The query and the body (form, query string or JSON), the body winning."""
    params: dict[str, Any] = {}
    _merge(params, request.args)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _merge(params, request.form)
        return params
    raw = request.get_data(cache=True)
    if not raw.strip():
        return params
    text = raw.decode("utf-8", "replace")
    if request.mimetype.endswith("json") or text.lstrip().startswith("{"):
        try:
            body = decoding.loads(text)
        except ValueError:
            raise ValidationError({}, "The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ValidationError({}, "Send the JSON body as an object of names and values.")
        _merge(params, body)
    else:
        form = MultiDict(parse_qsl(text, keep_blank_values=True))
        _merge(params, decoding.refuse_unstorable(form, "The form"))
    return params


def _token(params: dict[str, Any]) -> str:
    token = params.get("token")
    if not token:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not isinstance(token, str) or not token.strip():
        raise AuthenticationFailed(INVALID_TOKEN)
    return token.strip()


def _number(params: dict[str, Any], name: str, low: int, high: int, default: Any = None) -> int:
    value = params.get(name, default)
    if value is None or value == "":
        if default is None:
            raise ValidationError({name: "Required."})
        value = default
    try:
        return fields.whole_number(low, high)(value)
    except ValueError as exc:
        raise ValidationError({name: str(exc)}) from None


def _id(params: dict[str, Any]) -> int:
    return _number(params, "id", 1, INT_MAX)


# --- schedules ------------------------------------------------------------------------------

_SCHEDULE_FIELDS = ("minute", "hour", "day", "month", "weekday")
# A single cron list item: digits, names, ranges, steps, the wildcard.
_ITEM_RE = re.compile(r"[0-9A-Za-z*/-]+")
_UNIT_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 604800),
}
_INTERVAL_PART = r"(\d{1,6})\s*([a-z]+)"
_INTERVAL_RE = re.compile(rf"(?:every\s+)?{_INTERVAL_PART}(?:[\s,]+(?:and\s+)?{_INTERVAL_PART})*")
_DEFAULT_EXPRESSION = "15 minutes"  # FastCron's default for a new cron job


def interval_to_cron(text: str) -> str | None:
    """The cron expression for an English interval ("1 hour", "1 min 30 sec"), or None when
    ``text`` is not one. Raises ValueError for an interval no cron expression runs at.

    Only intervals that divide an hour or a day evenly, a day and a week run at even spacing
    under cron; anything else (65 minutes, 30 seconds) is refused rather than approximated.
    """
    lowered = " ".join(text.lower().split())
    if not _INTERVAL_RE.fullmatch(lowered):
        return None
    parts = re.findall(_INTERVAL_PART, lowered)
    if any(unit not in _UNIT_SECONDS for _, unit in parts):
        return None
    seconds = sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)
    expression = schedule.every(seconds)
    if expression is not None:
        return expression
    raise ValueError(
        f"An interval of {text.strip()} cannot be written as a cron schedule: cron jobs run on "
        "whole minutes, at intervals that divide an hour or a day evenly (such as 15 minutes "
        "or 6 hours), daily or weekly. Send a crontab expression for anything else."
    )


def _field_text(name: str, value: Any) -> str:
    """One cron field from a SetCronJob array (or single value); empty or "*" is every value."""
    raw = value if isinstance(value, list) else [value]
    items: list[str] = []
    for item in raw:
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ValidationError({name: "Send numbers, or an array of numbers."})
        items.extend(part.strip() for part in str(item).split(",") if part.strip())
    if not items or "*" in items:
        return "*"
    for item in items:
        if not _ITEM_RE.fullmatch(item):
            raise ValidationError({name: f"'{item}' is not a {name} value."})
    return ",".join(items)


def arrays_to_cron(params: dict[str, Any], current: str | None) -> str:
    """A cron expression from SetCronJob's ``minute``…``weekday`` arrays; fields not sent
    keep their value in ``current`` (or are "*" for a new job)."""
    texts = list(schedule.cron_fields(current)) if current else ["*"] * 5
    for i, name in enumerate(_SCHEDULE_FIELDS):
        if name in params:
            texts[i] = _field_text(name, params[name])
    if "second" in params and _field_text("second", params["second"]) not in ("0", "00", "*"):
        raise ValidationError({"second": "Cron jobs run on whole minutes: second can only be 0."})
    return " ".join(texts)


def cron_to_arrays(expr: str) -> dict[str, list[str]]:
    """SetCronJob's schedule arrays for a cron expression; ``arrays_to_cron`` reads them back
    to the same schedule.

    A field that is "*" stays ["*"]. Others list their values, except a day field that
    starts with "*" (such as */2): under cron's day rule that spelling means something a list
    of the same days does not, so it is kept as written.
    """
    texts, values = schedule.cron_fields(expr), schedule.field_values(expr)
    arrays = {"second": ["0"]}
    for i, name in enumerate(_SCHEDULE_FIELDS):
        if texts[i] == "*":
            arrays[name] = ["*"]
        elif texts[i].startswith("*") and name in ("day", "weekday"):
            arrays[name] = texts[i].split(",")
        else:
            arrays[name] = [str(value) for value in values[i]]
    return arrays


def _schedule(params: dict[str, Any], job: CronJob | None) -> str | None:
    """The cron expression the request asks for, or None to keep the job's."""
    expression = params.get("expression")
    if isinstance(expression, str) and expression.strip():
        try:
            return interval_to_cron(expression) or expression
        except ValueError as exc:
            raise ValidationError({"expression": str(exc)}) from None
    if expression is not None and not isinstance(expression, str):
        raise ValidationError({"expression": "Must be text."})
    if any(name in params for name in (*_SCHEDULE_FIELDS, "second")):
        return arrays_to_cron(params, _cron_of(job) if job else None)
    return None if job else interval_to_cron(_DEFAULT_EXPRESSION)


# --- cron jobs: SetCronJob's CronArgs in, its Cron object out ---------------------------------

# NotifyCode of the oldest API: 0 never, 1 on failure, 2 always, 3 only when auto-disabled.
_NOTIFY_CODES = {
    0: {"notify_on_failure": False, "notify_on_disable": False},
    1: {"notify_on_failure": True},
    2: {"notify_on_failure": True},
    3: {"notify_on_failure": False, "notify_on_disable": True},
}
ANY_STATUS = "100-599"
SUCCESS_STATUS = "200-299"
# CronArgs with a direct counterpart. Others (retry, pattern, instances, userAgent…) are
# accepted and ignored, as the general rule for unknown fields asks.
_RENAMED = {
    "url": "url",
    "timezone": "timezone",
    "httpmethod": "method",
    "postdata": "body",
    "httpheaders": "headers",
    "username": "auth_username",
    "password": "auth_password",
    "notifyevery": "notify_failure_after",
    "failurethreshold": "auto_disable_after",
}


def _notify(value: Any) -> dict[str, bool]:
    if isinstance(value, int) and not isinstance(value, bool) and value in _NOTIFY_CODES:
        return _NOTIFY_CODES[value]
    if isinstance(value, str) and value.strip() in ("0", "1", "2", "3"):
        return _NOTIFY_CODES[int(value)]
    try:
        return {"notify_on_failure": fields.boolean(value)}
    except ValueError:
        raise ValidationError(
            {"notify": "Send true or false, or a notify code from 0 to 3."}
        ) from None


def _timeout_ms(value: Any) -> Any:
    """Seconds (SetCronJob) to milliseconds (Upcron); the service checks the range."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValidationError({"timeout": "Must be a number of seconds."}) from None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValidationError({"timeout": "Must be a number of seconds."})
    return round(seconds * 1000)


def _group_name(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "0")) or value == 0:
        return None
    try:
        group_id = fields.whole_number(1, INT_MAX)(value)
    except ValueError:
        raise ValidationError({"group": "Must be a group id, or empty for none."}) from None
    return groups.get(group_id).name


def _expected_status(value: Any, job: CronJob | None) -> str | None:
    """``ignoreHttpStatus``: true accepts any status; false undoes only that, keeping a
    custom list of codes set in Upcron."""
    try:
        ignore = fields.boolean(value)
    except ValueError as exc:
        raise ValidationError({"ignoreHttpStatus": str(exc)}) from None
    if ignore:
        return ANY_STATUS
    current = job.expected_status if job else SUCCESS_STATUS
    return SUCCESS_STATUS if current == ANY_STATUS else None


_FAILED = object()


def cron_args(params: dict[str, Any], job: CronJob | None) -> dict[str, Any]:
    """The service's fields for SetCronJob CronArgs; ``job`` is the job being edited.

    Raises one ValidationError naming every parameter that cannot be translated.
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def translate(convert: Callable[..., Any], *args: Any) -> Any:
        try:
            return convert(*args)
        except ValidationError as exc:
            errors.update(exc.fields)
            return _FAILED

    for theirs, ours in _RENAMED.items():
        if theirs in params:
            value = params[theirs]
            data[ours] = "" if value is None and ours in ("body", "headers") else value
    converted = {
        "timeout_ms": ("timeout", _timeout_ms),
        "group": ("group", _group_name),
        "notify": ("notify", _notify),
        "expected_status": ("ignorehttpstatus", lambda value: _expected_status(value, job)),
    }
    for ours, (theirs, convert) in converted.items():
        if theirs in params:
            value = translate(convert, params[theirs])
            if value is _FAILED or (ours == "expected_status" and value is None):
                continue
            if ours == "notify":
                data.update(value)
            else:
                data[ours] = value
    expression = translate(_schedule, params, job)
    if expression not in (None, _FAILED):
        data["cron_expr"] = expression
    if errors:
        raise ValidationError(errors)
    # SetCronJob's name is optional; ours is not, so a job without one is named by its URL.
    name = params.get("name")
    if "name" in params and not (isinstance(name, str) and not name.strip()):
        data["name"] = name
    else:
        url = data.get("url", job.url if job else None)
        if isinstance(url, str) and url.strip() and (job is None or "name" in params):
            data["name"] = url.strip()[:200]
    return data


def _status_code(job: CronJob, now: datetime) -> int:
    """StatusCode: 0 active, 1 disabled by a person, 2 expired, 4 disabled after failures."""
    if job.enabled:
        return 2 if job.expires_at is not None and job.expires_at <= now else 0
    return 4 if state.disabled_for_failing(job) else 1


def _seconds(milliseconds: int | None) -> float | int:
    value = (milliseconds or 0) / 1000
    return int(value) if value.is_integer() else value


def _cron_of(job: CronJob) -> str:
    """The job's cron expression; an interval job (made elsewhere) as the nearest one."""
    return schedule.as_cron(job.cron_expr, job.interval_sec)


def cron_out(job: CronJob, now: datetime) -> dict[str, Any]:
    """The Cron object: the legacy fields and the later ones together. The target password
    and secret header values are write-only, as in the native API."""
    expression = _cron_of(job)
    values = schedule.field_values(expression)
    return {
        "id": job.id,
        "group": job.group_id,
        "name": job.name,
        "url": job.url,
        "expression": expression,
        **cron_to_arrays(expression),
        "timezone": job.timezone,
        "timeout": _seconds(job.timeout_ms),
        "httpMethod": job.method,
        "httpHeaders": fields.headers_text(job.headers),
        "secretHeadersSet": fields.secret_headers_set(job.headers),
        "postData": job.body or "",
        "username": job.auth_username or "",
        "fail": job.consecutive_failures,
        "status": _status_code(job, now),
        "notify": job.notify_on_failure,
        "notifyEvery": job.notify_failure_after,
        "failureThreshold": job.auto_disable_after,
        "ignoreHttpStatus": job.expected_status == ANY_STATUS,
        # Runs on a day the schedule runs: what SetCronJob charged in points per day.
        "points": len(values[0]) * len(values[1]),
    }


def _output(body: str | None) -> str:
    """The first and last 4 KB of a response, as SetCronJob's logs keep it."""
    body = body or ""
    return body if len(body) <= 8192 else body[:4096] + body[-4096:]


def log_out(row: CronExecution, url: str) -> dict[str, Any]:
    """ExecutionLog, later shape (one Attempt per execution), with the legacy fields too."""
    status = 0 if row.outcome == OK else 1
    body = row.response_body
    attempt = {
        "url": url,
        "output": _output(body),
        "downloaded": len(body.encode()) if body else 0,
        "httpStatus": row.status_code or 0,
        "error": row.error or "",
        "message": row.outcome,
        "ip": "",
        "source_ip": "",
        "time": int(row.planned_at.timestamp()),
        "startTime": row.started_at.timestamp(),
        "executionTime": _seconds(row.duration_ms),
        "status": status,
        "nameLookupTime": _seconds((row.dns_us or 0) // 1000),
        "connectTime": _seconds((row.connect_us or 0) // 1000),
        "startTransferTime": _seconds((row.first_byte_us or 0) // 1000),
    }
    return {
        "jobId": row.cron_job_id,
        "no": row.id,
        "startTime": int(row.started_at.timestamp()),
        "executionTime": attempt["executionTime"],
        "status": status,
        "httpStatus": attempt["httpStatus"],
        "downloaded": attempt["downloaded"],
        "ip": "",
        "result": [attempt],
    }


def group_out(group: Group, deleted: bool = False) -> dict[str, Any]:
    return {"id": None if deleted else group.id, "name": group.name}


def _collect(fetch: Callable[..., Any], limit: int, first_page: int = 1) -> list[Any]:
    """Up to ``limit`` items from a paged service list, from page ``first_page`` of pages as
    large as the services allow."""
    items: list[Any] = []
    page = first_page
    while len(items) < limit:
        result = fetch(page=page, per_page=PER_PAGE_MAX)
        items.extend(result.items)
        if page >= result.pages:
            break
        page += 1
    return items[:limit]


def _logs(rows: list[CronExecution]) -> list[dict[str, Any]]:
    urls: dict[int, str] = {}
    for row in rows:
        if row.cron_job_id not in urls:
            urls[row.cron_job_id] = cron_jobs.get(row.cron_job_id).url
    return [log_out(row, urls[row.cron_job_id]) for row in rows]


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Action:
    scope: str
    handler: Callable[[dict[str, Any]], Any]


_ACTIONS: dict[str, _Action] = {}


def action(name: str, scope: str) -> Callable:
    """Register the handler of ``target.action``, callable with the key's ``scope``."""

    def register(handler: Callable[[dict[str, Any]], Any]) -> Callable:
        _ACTIONS[name] = _Action(scope, handler)
        return handler

    return register


@action("cron.list", "cron-jobs:read")
def cron_list(params: dict[str, Any]) -> list[dict[str, Any]]:
    page = _number(params, "page", 1, 1000, default=1)
    keyword = params.get("keyword")
    keyword = keyword if isinstance(keyword, str) else None
    per_list = LIST_PAGE_SIZE // PER_PAGE_MAX

    def fetch(page: int, per_page: int) -> Page:
        return cron_jobs.list_cron_jobs(keyword=keyword, page=page, per_page=per_page)

    now = utcnow()
    jobs = _collect(fetch, LIST_PAGE_SIZE, (page - 1) * per_list + 1)
    return [cron_out(job, now) for job in jobs]


@action("cron.get", "cron-jobs:read")
def cron_get(params: dict[str, Any]) -> dict[str, Any]:
    return cron_out(cron_jobs.get(_id(params)), utcnow())


@action("cron.add", "cron-jobs:write")
def cron_add(params: dict[str, Any]) -> dict[str, Any]:
    try:
        job = cron_jobs.create(cron_args(params, None))
    except ValidationError as exc:
        # A name is ours to require, and it comes from the URL: the URL's error says it all.
        if "name" not in params and len(exc.fields) > 1:
            exc.fields.pop("name", None)
        raise
    return cron_out(job, utcnow())


@action("cron.edit", "cron-jobs:write")
def cron_edit(params: dict[str, Any]) -> dict[str, Any]:
    job_id = _id(params)
    job = cron_jobs.update(job_id, cron_args(params, cron_jobs.get(job_id)))
    return cron_out(job, utcnow())


@action("cron.enable", "cron-jobs:write")
def cron_enable(params: dict[str, Any]) -> dict[str, Any]:
    return cron_out(cron_jobs.enable(_id(params)), utcnow())


@action("cron.disable", "cron-jobs:write")
def cron_disable(params: dict[str, Any]) -> dict[str, Any]:
    return cron_out(cron_jobs.disable(_id(params)), utcnow())


@action("cron.delete", "cron-jobs:write")
def cron_delete(params: dict[str, Any]) -> dict[str, Any]:
    job_id = _id(params)
    data = cron_out(cron_jobs.get(job_id), utcnow())
    cron_jobs.delete(job_id)
    return data | {"id": None}


@action("cron.run", "cron-jobs:write")
def cron_run(params: dict[str, Any]) -> int:
    job_id = _id(params)
    if params.get("time") not in (None, ""):
        at = _number(params, "time", 0, 2**40)
        if at > time.time() + 60:
            raise Unsupported(
                "Runs can only be started now; a run at a later time is not supported."
            )
    return int(cron_jobs.run_now(job_id).timestamp())


@action("cron.logs", "cron-jobs:read")
def cron_logs(params: dict[str, Any]) -> list[dict[str, Any]]:
    job_id = _id(params)
    limit = _number(params, "limit", 1, LOGS_MAX, default=LOGS_DEFAULT)

    def fetch(page: int, per_page: int) -> Page:
        return history.executions(job_id, page=page, per_page=per_page)

    return _logs(_collect(fetch, limit))


@action("cron.failures", "cron-jobs:read")
def cron_failures(params: dict[str, Any]) -> list[dict[str, Any]]:
    job_id = _id(params) if params.get("id") not in (None, "") else None
    limit = _number(params, "limit", 1, LOGS_MAX, default=LOGS_DEFAULT)

    def fetch(page: int, per_page: int) -> Page:
        return history.failed_executions(job_id, page=page, per_page=per_page)

    return _logs(_collect(fetch, limit))


@action("cron.next", "cron-jobs:read")
def cron_next(params: dict[str, Any]) -> list[int]:
    runs = cron_jobs.next_runs(_id(params), cron_jobs.NEXT_RUNS_MAX)
    return [int(run.timestamp()) for run in runs]


@action("cron.pause", "cron-jobs:write")
def cron_pause(params: dict[str, Any]) -> NoReturn:
    raise Unsupported(
        "Pausing for a while is not supported: disable the cron job with cron.disable and "
        "enable it again with cron.enable."
    )


@action("group.list", "cron-jobs:read")
def group_list(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [group_out(group) for group in groups.list_groups()]


@action("group.get", "cron-jobs:read")
def group_get(params: dict[str, Any]) -> dict[str, Any]:
    return group_out(groups.get(_id(params)))


@action("group.lookup", "cron-jobs:read")
def group_lookup(params: dict[str, Any]) -> list[dict[str, Any]]:
    name = params.get("name")
    name = name.strip().lower() if isinstance(name, str) else ""
    # Group names are unique regardless of case, so there is at most one.
    return [group_out(group) for group in groups.list_groups() if group.name.lower() == name]


@action("group.add", "cron-jobs:write")
def group_add(params: dict[str, Any]) -> dict[str, Any]:
    return group_out(groups.create(params.get("name")))


@action("group.edit", "cron-jobs:write")
def group_edit(params: dict[str, Any]) -> dict[str, Any]:
    return group_out(groups.rename(_id(params), params.get("name")))


@action("group.delete", "cron-jobs:write")
def group_delete(params: dict[str, Any]) -> dict[str, Any]:
    group_id = _id(params)
    data = group_out(groups.get(group_id), deleted=True)
    groups.delete(group_id)
    return data


@action("group.vanish", "cron-jobs:write")
def group_vanish(params: dict[str, Any]) -> dict[str, Any]:
    group_id = _id(params)
    data = group_out(groups.get(group_id), deleted=True)
    cron_jobs.delete_in_group(group_id, delete_group=True)
    return data


@action("group.empty", "cron-jobs:write")
def group_empty(params: dict[str, Any]) -> dict[str, Any]:
    group_id = _id(params)
    cron_jobs.delete_in_group(group_id)
    return group_out(groups.get(group_id))


@action("group.items", "cron-jobs:read")
def group_items(params: dict[str, Any]) -> list[dict[str, Any]]:
    name = groups.get(_id(params)).name

    def fetch(page: int, per_page: int) -> Page:
        return cron_jobs.list_cron_jobs(group=name, page=page, per_page=per_page)

    now = utcnow()
    return [cron_out(job, now) for job in _collect(fetch, LIST_PAGE_SIZE)]


def _account() -> dict[str, Any]:
    """The Account object for the calling key: Upcron has no plans, so no limits to report
    (0) and an expiry only when the key has one."""
    key = principal().api_key
    assert key is not None  # every call is authorized by its token (see dispatch)
    return {
        "id": key.id,
        "name": key.name,
        "timezone": cron_jobs.default_timezone(),
        "plan": "Upcron",
        "dailyExec": 0,
        "memberLimit": 0,
        "expiryDate": key.expires_at.date().isoformat() if key.expires_at else None,
    }


@action("account.get", "settings:read")
def account_get(params: dict[str, Any]) -> dict[str, Any]:
    return _account()


@action("account.edit", "settings:write")
def account_edit(params: dict[str, Any]) -> dict[str, Any]:
    if "timezone" in params:
        cron_jobs.set_default_timezone(params["timezone"])
    return _account()


@action("account.secret", "settings:write")
def account_secret(params: dict[str, Any]) -> NoReturn:
    raise Unsupported(
        "The __secret__ placeholder is not supported: put the value in the cron job's URL, "
        "POST data or headers."
    )


@action("server.time", "system:read")
def server_time(params: dict[str, Any]) -> int:
    return int(time.time())


@action("server.timezones", "system:read")
def server_timezones(params: dict[str, Any]) -> list[str]:
    return schedule.timezone_names()


@action("server.useragent", "system:read")
def server_useragent(params: dict[str, Any]) -> str:
    return USER_AGENT


@action("server.ip", "system:read")
def server_ip(params: dict[str, Any]) -> dict[str, dict[str, str]]:
    return system.worker_addresses()


# --- the one route --------------------------------------------------------------------------

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/<path:call>", methods=_METHODS)
def dispatch(call: str) -> ResponseReturnValue:
    if request.method not in ("GET", "HEAD", "POST"):
        raise MethodNotAllowed(valid_methods=["GET", "HEAD", "POST"])
    match = _CALL_RE.fullmatch(call)
    name = f"{match.group(1).lower()}.{match.group(2).lower()}" if match else None
    if name not in _ACTIONS:
        return _error(
            CODE_UNKNOWN_CALL,
            f"Unknown API call '{call}'. Calls look like /api/cron.list; the targets are "
            "cron, group, account and server.",
            404,
        )
    params = _params()
    found = _ACTIONS[name]
    authorize_key(_token(params), found.scope)
    return _success(found.handler(params))
