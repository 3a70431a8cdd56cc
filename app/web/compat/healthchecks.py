"""Compatibility facade: Healthchecks' Management API (healthchecks.io), under
/compat/healthchecks.

People leaving Healthchecks point their API base URL at ``/compat/healthchecks/api/`` and
their ping URLs at ``/ping/`` (app.web.ping serves Healthchecks' ping URLs, run ids and slug
URLs), nothing else:

- ``/api/v3/checks/…`` (and ``/api/v1/``, ``/api/v2/``, which differ only where Healthchecks'
  do): Healthchecks' checks are our heartbeats, addressed by their ping code (a check's
  uuid), or by the ``unique_key`` Healthchecks derives from it for read-only keys;
- ``/api/v3/channels/``, ``/badges/``, ``/status/``.

Keys are the native API's keys, presented as ``X-Api-Key`` (or as ``api_key`` in a POST's
JSON body, as Healthchecks allows). Reading needs ``monitors:read``; a key without
``monitors:write`` is what Healthchecks calls a read-only key: checks are shown without
their uuid and URLs, with ``unique_key`` instead. Changing checks, and the endpoints
Healthchecks keeps from read-only keys (pings, ping bodies, channels), need
``monitors:write``. Errors are ``{"error": "…"}`` with Healthchecks' status codes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from app.models import Monitor, Ping
from app.models.monitor import (
    KIND_HEARTBEAT,
    STATE_DOWN,
    STATE_LATE,
    STATE_NEW,
    STATE_PAUSED,
    STATE_UP,
)
from app.models.types import utcnow
from app.services import channels, incidents, monitors, pings, system, tags
from app.services.api_keys import INVALID
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    ServiceError,
    Throttled,
    ValidationError,
)
from app.services.pagination import PER_PAGE_MAX
from app.web import api, decoding
from app.web.api import auth

bp = Blueprint("compat_healthchecks", __name__, url_prefix="/compat/healthchecks")

API = "/api/v<int(min=1, max=3):v>"
MISSING_KEY = "missing api key"
WRONG_KEY = "wrong api key"
NOT_PAUSED = "check is not paused"
UNPARSABLE = "could not parse request body"
NOT_AN_OBJECT = "json validation error: value is not an object"
PINGS_SHOWN = 100  # the newest pings a listing shows, as a Healthchecks account's log does
DEFAULT_TIMEOUT = 86400  # what a check created without a schedule expects: a ping a day…
DEFAULT_GRACE = 3600  # …with an hour's grace
DURATION_MAX = 31536000  # a year, Healthchecks' bound on timeout and grace
TIMESTAMP_MAX = 10000000000  # year 2286: Healthchecks' sanity bound on start and end

# --- errors ----------------------------------------------------------------------------------


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    return jsonify(error=message), status, headers or {}


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    """Domain errors as Healthchecks answers them: a bad request is 400 (never 422), an
    unknown key 401 "wrong api key"."""
    status = api.http_status(exc, {ValidationError: 400})
    headers: dict[str, str] = {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, ValidationError) and exc.fields:
        field, text = next(iter(exc.fields.items()))
        return _error(f"json validation error: {field}: {text}", status, headers)
    if isinstance(exc, AuthenticationFailed) and exc.message == INVALID:
        return _error(WRONG_KEY, status, headers)
    return _error(exc.message, status, headers)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    """Malformed, unstorable or oversized bodies, unknown paths: 4xx in the same shape;
    text no database can store is a request Healthchecks could not parse either (400)."""
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    status = 400 if isinstance(exc, decoding.UnusableText) else exc.code or 500
    return _error(exc.description or exc.name, status, headers)


@bp.errorhandler(InternalServerError)
def internal_error(exc: InternalServerError) -> ResponseReturnValue:
    return _error("Something went wrong on our side; it has been logged.", 500)


@bp.after_request
def _cors(response: Response) -> Response:
    # Healthchecks' API may be called from pages on any site; the key rides in a header.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "X-Api-Key"
    return response


# --- auth and input --------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    """A POST's JSON object (Healthchecks reads it whatever its content type); {} without
    a body."""
    if request.method != "POST":
        return {}
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = decoding.loads(raw)
    except ValueError:
        raise ValidationError({}, UNPARSABLE) from None
    if not isinstance(body, dict):
        raise ValidationError({}, NOT_AN_OBJECT)
    return body


def _authorize(scope: str) -> bool:
    """Check the key for ``scope``; True when it is read-only in Healthchecks' sense (it
    cannot change heartbeats), so answers leave out what only writers see."""
    secret = request.headers.get("X-Api-Key", "").strip()
    if not secret:
        secret = str(_body().get("api_key", "")).strip()
    if not secret:
        raise AuthenticationFailed(MISSING_KEY)
    principal = auth.authorize_key(secret, scope)
    return not principal.can("monitors:write")


def _heartbeat(code: str) -> Monitor:
    """The heartbeat a check's uuid names; only canonical uuids name any."""
    if not pings.is_code(code):
        raise NotFound("not found")
    try:
        return monitors.get_by_code(code)
    except NotFound:
        raise NotFound("not found") from None


def _all_heartbeats(**filters: Any) -> list[Monitor]:
    found, page = [], 1
    while True:
        batch = monitors.list_monitors(
            kind=KIND_HEARTBEAT, page=page, per_page=PER_PAGE_MAX, **filters
        )
        found += batch.items
        if page >= batch.pages:
            return found
        page += 1


def unique_key(code: str | None) -> str:
    """Healthchecks' stable id of a check for read-only keys: the SHA-1 of the first half
    of its uuid's hex digits."""
    assert code is not None, "every heartbeat has a ping code"
    return hashlib.sha1(uuid.UUID(code).hex[:16].encode()).hexdigest()


# --- checks ----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _status(monitor: Monitor, v: int) -> str:
    """Our heartbeat states in Healthchecks' words: late is "grace"; API v1 also says
    "started" while a run is open."""
    if monitor.paused or monitor.state == STATE_PAUSED:
        return "paused"
    if v == 1 and monitor.last_start_at is not None and monitor.state != STATE_DOWN:
        return "started"
    return {STATE_NEW: "new", STATE_UP: "up", STATE_LATE: "grace"}.get(monitor.state, "down")


def _next_ping(monitor: Monitor) -> datetime | None:
    """When the grace period starts, as Healthchecks shows it: the expected ping of a check
    that is up (or late), or sooner the start of a run in progress."""
    found = monitors.heartbeat_status(monitor.id)
    expected = found["expected_at"] if monitor.state in (STATE_UP, STATE_LATE) else None
    running = found["running_since"] if monitor.state != STATE_DOWN else None
    moments = [moment for moment in (expected, running) if moment is not None]
    return min(moments, default=None)


def _check(monitor: Monitor, v: int, readonly: bool) -> dict[str, Any]:
    base = current_app.config["BASE_URL"]
    data: dict[str, Any] = {
        "name": monitor.name,
        "slug": monitor.slug,
        "tags": " ".join(tags.names_of(monitor)),
        "desc": monitor.description or "",
        "grace": monitor.grace_sec,
        "n_pings": pings.count_pings(monitor.id),
        "status": _status(monitor, v),
        "started": monitor.last_start_at is not None,
        "last_ping": _iso(monitor.last_ping_at),
        "next_ping": _iso(_next_ping(monitor)),
        "manual_resume": monitor.manual_resume,
        # Accepted, never applied: pings of every method count, and nothing is filtered.
        "methods": "",
        "subject": "",
        "subject_fail": "",
        "start_kw": "",
        "success_kw": "",
        "failure_kw": "",
        "filter_subject": False,
        "filter_body": False,
        "filter_http_body": False,
        "filter_default_fail": False,
        "badge_url": f"{base}/badge/{monitor.slug}/status.svg",
    }
    if monitor.last_duration_ms:
        data["last_duration"] = monitor.last_duration_ms // 1000
    if readonly:
        data["unique_key"] = unique_key(monitor.code)
    else:
        update_url = f"{base}{bp.url_prefix}/api/v{v}/checks/{monitor.code}"
        data |= {
            "uuid": monitor.code,
            "ping_url": f"{base}/ping/{monitor.code}",
            "update_url": update_url,
            "pause_url": f"{update_url}/pause",
            "resume_url": f"{update_url}/resume",
            "channels": ",".join(sorted(str(channel.id) for channel in monitor.channels)),
        }
    if monitor.cron_expr:
        data |= {"schedule": monitor.cron_expr, "tz": monitor.timezone}
    else:
        data["timeout"] = monitor.period_sec
    return data


# The check's fields as Healthchecks types them: a value of another type (null included) is
# refused with its message, before any rule of ours is asked.
_STRINGS = (
    "name",
    "slug",
    "tags",
    "desc",
    "schedule",
    "tz",
    "methods",
    "channels",
    "subject",
    "subject_fail",
    "start_kw",
    "success_kw",
    "failure_kw",
)
_NUMBERS: tuple[str, ...] = ("timeout", "grace")
_BOOLEANS: tuple[str, ...] = ("manual_resume", "filter_subject", "filter_body", "filter_http_body")
_BOOLEANS += ("filter_default_fail",)
_UNIQUE_FIELDS = ("name", "slug", "tags", "timeout", "grace")
_LONGEST = {"name": 100, "slug": 100, "schedule": 100, "subject": 200, "subject_fail": 200}
_LONGEST |= {"start_kw": 200, "success_kw": 200, "failure_kw": 200}
# Our fields' errors under the names the client sent.
_FIELD_NAMES = {
    "description": "desc",
    "period_sec": "timeout",
    "cron_expr": "schedule",
    "timezone": "tz",
    "grace_sec": "grace",
}


def _invalid(message: str) -> ValidationError:
    return ValidationError({}, f"json validation error: {message}")


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    """The body's check fields, each of Healthchecks' type and within its bounds."""
    spec = {}
    for name, value in body.items():
        if name in _STRINGS:
            if not isinstance(value, str):
                raise _invalid(f"{name} is not a string")
            if len(value) > _LONGEST.get(name, len(value)):
                raise _invalid(f"{name} is too long")
        elif name in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid(f"{name} is not a number")
            if value < 60:
                raise _invalid(f"{name} is too small")
            if value > DURATION_MAX:
                raise _invalid(f"{name} is too large")
        elif name in _BOOLEANS:
            if not isinstance(value, bool):
                raise _invalid(f"{name} is not a boolean")
        elif name == "unique":
            if not isinstance(value, list):
                raise _invalid("unique is not an array")
            if any(item not in _UNIQUE_FIELDS for item in value):
                raise _invalid("an item in 'unique' has unexpected value")
        else:
            continue  # api_key, and fields Healthchecks has since dropped or never had
        spec[name] = value
    if spec.get("methods", "") not in ("", "POST"):
        raise _invalid("methods has unexpected value")
    return spec


def _channel_ids(value: str) -> list[int]:
    """``channels``: "*" (every channel), "" (none), or channel ids or names, by commas."""
    known = channels.list_channels()
    if value == "*":
        return [channel.id for channel in known]
    ids = []
    for part in value.split(",") if value else []:
        if not part:
            raise ValidationError({}, "empty channel identifier")
        matches = [c for c in known if str(c.id) == part or c.name == part]
        if not matches:
            raise ValidationError({}, f"invalid channel identifier: {part}")
        if len(matches) > 1:
            raise ValidationError({}, f"non-unique channel identifier: {part}")
        ids.append(matches[0].id)
    return ids


def _values(spec: dict[str, Any], v: int) -> dict[str, Any]:
    """The check's fields as the monitor service's. A schedule makes a cron heartbeat and
    wins over a timeout, as in Healthchecks; slugs are chosen only in v3, and an empty name
    or slug leaves the current one."""
    values: dict[str, Any] = {}
    if spec.get("name"):  # our heartbeats always have a name: "" keeps the current one
        values["name"] = spec["name"]
    if "desc" in spec:
        values["description"] = spec["desc"]
    if "tags" in spec:
        values["tags"] = spec["tags"].split()
    if spec.get("slug") and v >= 3:
        values["slug"] = spec["slug"]
    if "schedule" in spec:
        values["cron_expr"] = spec["schedule"]
    elif "timeout" in spec:
        values["period_sec"] = spec["timeout"]
    if "tz" in spec:
        values["timezone"] = spec["tz"]
    if "grace" in spec:
        values["grace_sec"] = spec["grace"]
    if "manual_resume" in spec:
        values["manual_resume"] = spec["manual_resume"]
    if "channels" in spec:
        values["channels"] = _channel_ids(spec["channels"])
    return values


def _write(operation: Callable[..., Monitor], *args: Any) -> Monitor:
    try:
        return operation(*args)
    except ValidationError as exc:
        exc.fields = {_FIELD_NAMES.get(k, k): text for k, text in exc.fields.items()}
        raise


def _existing(spec: dict[str, Any]) -> Monitor | None:
    """The heartbeat ``unique`` asks to update instead of creating one: the oldest whose
    listed fields all equal the body's (none when the body lacks one of them)."""
    listed = spec.get("unique") or []
    if not listed or any(name not in spec for name in listed):
        return None
    return monitors.find_heartbeat(
        name=spec["name"] if "name" in listed else None,
        slug=spec["slug"] if "slug" in listed else None,
        tag_names=spec["tags"].split() if "tags" in listed else None,
        period_sec=spec["timeout"] if "timeout" in listed else None,
        grace_sec=spec["grace"] if "grace" in listed else None,
    )


@bp.get(f"{API}/checks/")
def list_checks(v: int) -> ResponseReturnValue:
    readonly = _authorize("monitors:read")
    found = _all_heartbeats(tag=request.args.getlist("tag") or None)
    slug = request.args.get("slug")
    if slug:
        found = [monitor for monitor in found if monitor.slug == slug]
    return jsonify(checks=[_check(monitor, v, readonly) for monitor in found])


@bp.post(f"{API}/checks/")
def create_check(v: int) -> ResponseReturnValue:
    spec = _spec(_body())
    _authorize("monitors:write")
    existing = _existing(spec)
    if existing is not None:
        monitor = _write(monitors.update, existing.id, _values(spec, v))
        return jsonify(_check(monitor, v, False)), 200
    values = {
        "kind": KIND_HEARTBEAT,
        "name": spec.get("name") or spec.get("slug") or "unnamed",
        "period_sec": DEFAULT_TIMEOUT,
        "grace_sec": DEFAULT_GRACE,
        "channels": [],  # Healthchecks assigns none unless told
        **_values(spec, v),
    }
    if "cron_expr" in values:
        values.pop("period_sec")
    return jsonify(_check(_write(monitors.create, values), v, False)), 201


@bp.get(f"{API}/checks/<code>")
def get_check(v: int, code: str) -> ResponseReturnValue:
    readonly = _authorize("monitors:read")
    if len(code) == 40:  # a unique_key: read-only keys know checks by it
        for monitor in _all_heartbeats():
            if unique_key(monitor.code) == code:
                return jsonify(_check(monitor, v, readonly))
        raise NotFound("not found")
    return jsonify(_check(_heartbeat(code), v, readonly))


@bp.post(f"{API}/checks/<code>")
def update_check(v: int, code: str) -> ResponseReturnValue:
    spec = _spec(_body())
    _authorize("monitors:write")
    monitor = _heartbeat(code)
    values = _values(spec, v)
    if values:
        monitor = _write(monitors.update, monitor.id, values)
    return jsonify(_check(monitor, v, False))


@bp.delete(f"{API}/checks/<code>")
def delete_check(v: int, code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitor = _heartbeat(code)
    shown = _check(monitor, v, False)
    monitors.delete(monitor.id)
    return jsonify(shown)


@bp.post(f"{API}/checks/<code>/pause")
def pause_check(v: int, code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    return jsonify(_check(monitors.pause(_heartbeat(code).id), v, False))


@bp.post(f"{API}/checks/<code>/resume")
def resume_check(v: int, code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitor = _heartbeat(code)
    if not monitor.paused:
        raise Conflict(NOT_PAUSED)
    return jsonify(_check(monitors.resume(monitor.id), v, False))


# --- pings and flips -------------------------------------------------------------------------


def _ping(ping: Ping, monitor: Monitor, v: int) -> dict[str, Any]:
    base = current_app.config["BASE_URL"]
    body_url = None
    if ping.body:
        body_url = f"{base}{bp.url_prefix}/api/v{v}/checks/{monitor.code}/pings/{ping.id}/body"
    data = {
        "type": ping.kind,
        "date": ping.created_at.astimezone(UTC).isoformat(),
        "n": ping.id,
        "scheme": "https" if base.startswith("https:") else "http",
        "remote_addr": ping.remote_addr or "",
        "method": ping.method,
        "ua": ping.user_agent or "",
        "rid": ping.rid,
        "body_url": body_url,
    }
    if ping.duration_ms is not None:
        data["duration"] = round(ping.duration_ms / 1000, 2)
    return data


@bp.get(f"{API}/checks/<code>/pings/")
def list_pings(v: int, code: str) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitor = _heartbeat(code)
    page = pings.list_pings(monitor.id, per_page=PINGS_SHOWN)
    return jsonify(pings=[_ping(ping, monitor, v) for ping in page.items])


@bp.get(f"{API}/checks/<code>/pings/<int:n>/body")
def ping_body(v: int, code: str, n: int) -> ResponseReturnValue:
    _authorize("monitors:write")
    monitor = _heartbeat(code)
    if n > api.BIGINT_MAX:
        raise NotFound("not found")
    ping = pings.get_ping(monitor.id, n)
    if not ping.body:
        raise NotFound("not found")
    return ping.body, 200, {"Content-Type": "text/plain; charset=utf-8"}


def _timestamp(name: str, high: int) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        number = int(value) if len(value) <= 20 else -1
    except ValueError:
        number = -1
    if not 0 <= number <= high:
        raise ValidationError({}, f"Invalid query parameter: {name}")
    return number


@bp.get(f"{API}/checks/<code>/flips/")
def list_flips(v: int, code: str) -> ResponseReturnValue:
    """Changes between up and down, newest first: each incident's start and resolution."""
    _authorize("monitors:read")
    if len(code) == 40:
        found = [m for m in _all_heartbeats() if unique_key(m.code) == code]
        if not found:
            raise NotFound("not found")
        monitor = found[0]
    else:
        monitor = _heartbeat(code)
    start = _timestamp("start", TIMESTAMP_MAX)
    end = _timestamp("end", TIMESTAMP_MAX)
    seconds = _timestamp("seconds", DURATION_MAX)
    since = None if start is None else datetime.fromtimestamp(start, UTC)
    if seconds:
        threshold = utcnow() - timedelta(seconds=seconds)
        since = threshold if since is None else max(since, threshold)
    until = None if end is None else datetime.fromtimestamp(end, UTC)
    flips = incidents.flips(monitor.id, since, until)
    return jsonify(flips=[{"timestamp": _iso(moment), "up": int(up)} for moment, up in flips])


# --- channels, badges, status ----------------------------------------------------------------


@bp.get(f"{API}/channels/")
def list_channels(v: int) -> ResponseReturnValue:
    _authorize("monitors:write")
    return jsonify(
        channels=[
            {"id": str(channel.id), "name": channel.name, "kind": channel.kind}
            for channel in channels.list_channels()
        ]
    )


@bp.get(f"{API}/badges/")
def list_badges(v: int) -> ResponseReturnValue:
    """Badges of the public heartbeats (our badges show public items only), each under its
    slug: our badges are per item, not per tag."""
    _authorize("monitors:read")
    base = current_app.config["BASE_URL"]
    badges = {}
    for monitor in _all_heartbeats():
        if not monitor.public:
            continue
        svg = f"{base}/badge/{monitor.slug}/status.svg"
        shields = f"{base}/badge/{monitor.slug}/shields.json"
        badges[monitor.slug] = {
            "svg": svg,
            "svg3": svg,
            "json": shields,
            "json3": shields,
            "shields": shields,
            "shields3": shields,
        }
    return jsonify(badges=badges)


@bp.get(f"{API}/status/")
def status(v: int) -> ResponseReturnValue:
    """The database answers: 200 "OK", as Healthchecks' own check of itself; no key."""
    if system.database_status() != "ok":
        return "database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "OK", 200, {"Content-Type": "text/plain; charset=utf-8"}
