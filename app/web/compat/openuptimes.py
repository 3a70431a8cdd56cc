"""Compatibility facade: the OpenUptimes API (github.com/jexxme/openUptimes) under
/compat/openuptimes, so its scripts keep working with a new base URL and an Upcron API key.

- Its *services* are our http monitors, addressed by name (unique among http monitors when
  created or renamed here). ``visible`` is our ``public``; ``expectedStatus`` our
  ``expected_status``; ``timeout`` (ms) our ``timeout_ms``.
- Status and the documented per-service history come from the public status page, with its
  privacy rules (public items only, no URLs), like the native ``/api/status``.
- Ping-all checks every active http monitor now, through the same probe as the scheduler.
- History TTL, clearing history, setup and the Redis test use the services the native API
  uses.

OpenUptimes' documentation and its code disagree on many shapes. Paths of both are served;
objects answer with the fields of both. Where one shape must win (an array or an object),
the code's does: a script that works today was tried against the code.

Keys: ``Authorization: Bearer`` or ``X-API-Key``, with the native API's scopes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, HTTPException

from app.engine.checks import Outcome
from app.models import CheckResult, Monitor
from app.models.history import OK
from app.models.types import utcnow
from app.services import accounts, history, monitors, page_cache, status_page, system
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    ServiceError,
    Throttled,
    ValidationError,
)
from app.web import api
from app.web.api.auth import authorize, presented_secret
from app.web.api.bodies import json_body
from app.web.api.serializers import epoch_ms

bp = Blueprint("compat_openuptimes", __name__, url_prefix="/compat/openuptimes")

SERVICE_NOT_FOUND = "Service not found"
NAME_TAKEN = "Service with this name already exists"
NAME_AND_URL = "Name and URL are required"
NAME_REQUIRED = "Service name is required"
GITHUB_MISSING_KEY = "Unauthorized. Missing API key for GitHub Actions request."
GITHUB_INVALID_KEY = "Unauthorized. Invalid API key."
REFRESH_DEFAULT_MS = 60_000
# Our field names as OpenUptimes calls them, for error messages.
_THEIR_NAMES = {
    "expected_status": "expectedStatus",
    "public": "visible",
    "timeout_ms": "timeout",
    "ttl_seconds": "ttl",
}
# OpenUptimes' history windows: how far back, and how many entries at most.
_RANGES = {
    "30m": (timedelta(minutes=30), 30),
    "1h": (timedelta(hours=1), 60),
    "2h": (timedelta(hours=2), 120),
    "24h": (timedelta(hours=24), 1440),
    "7d": (timedelta(days=7), 1008),
    "30d": (timedelta(days=30), 1440),
    "90d": (timedelta(days=90), 129_600),
    "all": (None, 129_600),
}
_DAYS_RE = re.compile(r"([1-9][0-9]{0,4})d")


# ---------------------------------------------------------------------------------------------
# Errors: OpenUptimes' code answers {"error": text}, its docs {"error": true, "message", "status"};
# a client of either reads this.


def _error(status: int, text: str, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    return jsonify(error=text, message=text, status=status), status, headers or {}


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    status = api.http_status(exc, {ValidationError: 400})
    text = exc.message
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationError) and exc.fields:
        text = " ".join(f"{_THEIR_NAMES.get(k, k)}: {v}" for k, v in exc.fields.items())
    elif isinstance(exc, NotFound):
        text = SERVICE_NOT_FOUND
    elif isinstance(exc, Conflict) and exc.message == monitors.NAME_TAKEN:
        text = NAME_TAKEN
    elif isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="Upcron API"'
    return _error(status, text, headers)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    return _error(exc.code or 500, exc.description or exc.name)


def _body() -> dict[str, Any]:
    """The JSON object sent, whatever its declared type: OpenUptimes never looked at it."""
    body = json_body(any_content_type=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object.")
    return body


def _public(key: str, render: Callable[[], bytes]) -> Response:
    """A public document through the status page's cache, readable from any site."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    document = page_cache.fetch(status_page.CACHE_PREFIX + "compat:ou:" + digest, render)
    response = Response(document.body, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# Services


def _service(monitor: Monitor) -> dict[str, Any]:
    expected = monitor.expected_status
    return {
        "id": monitor.id,
        "name": monitor.name,
        "url": monitor.url,
        "description": monitor.description,
        # OpenUptimes compares one status code; ranges set in Upcron are shown as they are.
        "expectedStatus": int(expected) if expected.isdigit() else expected,
        "visible": monitor.public,
        "method": monitor.method,
        "timeout": monitor.timeout_ms,
    }


def _monitor_fields(body: dict[str, Any]) -> dict[str, Any]:
    """A Service as monitor fields. OpenUptimes stores the whole object it is sent, so what
    it checks by (description, expected status, visibility) takes its default when absent;
    ``method`` and ``timeout``, which its checker ignores, change only when given. Other
    fields are ignored."""
    expected = body.get("expectedStatus", 200)
    data = {
        "kind": "http",
        "name": body["name"],
        "url": body["url"],
        "description": body.get("description"),
        "expected_status": str(expected) if type(expected) is int else expected,
        "public": body.get("visible", True),
    }
    if "method" in body:
        data["method"] = body["method"]
    if "timeout" in body:
        data["timeout_ms"] = body["timeout"]
    return data


def _service_body() -> dict[str, Any]:
    body = _body()
    if not body.get("name") or not body.get("url"):
        raise BadRequest(NAME_AND_URL)
    return body


def _named() -> str:
    """The service a PUT or DELETE is about: ``?name=`` (code) or ``?serviceName=`` (docs)."""
    name = request.args.get("name") or request.args.get("serviceName")
    if not name:
        raise BadRequest(NAME_REQUIRED)
    return name


def _all_services() -> list:
    services, page = [], 1
    while True:
        listing = monitors.list_monitors(kind="http", page=page, per_page=200)
        services += listing.items
        if page >= listing.pages:
            return services
        page += 1


@bp.get("/api/services")
def list_services() -> ResponseReturnValue:
    authorize("monitors:read")
    # Deleting a monitor deletes its history, so there are never deleted services to list.
    tag = {"isDeleted": False} if request.args.get("includeDeleted") == "true" else {}
    return jsonify([_service(m) | tag for m in _all_services()])


@bp.post("/api/services")
def add_service() -> ResponseReturnValue:
    authorize("monitors:write")
    service = _service(monitors.create(_monitor_fields(_service_body()), unique_name=True))
    return jsonify(service | {"success": True, "service": service}), 201


@bp.put("/api/services")
def update_service() -> ResponseReturnValue:
    authorize("monitors:write")
    name = _named()
    data = _monitor_fields(_service_body())
    monitor = monitors.find_by_name(name)
    service = _service(monitors.update(monitor.id, data, unique_name=True))
    return jsonify(service | {"success": True, "service": service})


@bp.delete("/api/services")
def delete_service() -> ResponseReturnValue:
    authorize("monitors:write")
    monitors.delete(monitors.find_by_name(_named()).id)
    return jsonify(success=True, message="Service deleted")


# ---------------------------------------------------------------------------------------------
# Checking everything now


def _result(outcome: Outcome) -> dict[str, Any]:
    """One check as OpenUptimes' CheckResult: up only when the monitor's rules pass."""
    took_ms = round(outcome.result.total_us / 1000)
    result = {
        "status": "up" if outcome.outcome == OK else "down",
        "timestamp": epoch_ms(outcome.started_at) + took_ms,
        "responseTime": took_ms,
    }
    if outcome.result.status_code is not None:
        result["statusCode"] = outcome.result.status_code
    if outcome.error:
        result["error"] = outcome.error
    return result


@bp.get("/api/ping")
def ping_all() -> ResponseReturnValue:
    # A GET that runs every check: a key is required, never the browser session.
    try:
        authorize("monitors:write", session=False)
    except AuthenticationFailed:
        if "runId" not in request.args:
            raise
        # The GitHub Actions workflow's request, answered in its words.
        missing = presented_secret() is None
        return _error(401, GITHUB_MISSING_KEY if missing else GITHUB_INVALID_KEY)
    if request.args.get("action") == "reset_intervals":
        return jsonify(
            status="success",
            message="Upcron checks each service on its own interval; there is nothing to reset.",
            timestamp=epoch_ms(utcnow()),
        )
    started = utcnow()
    checked = monitors.check_now()
    finished = utcnow()
    results = [{"name": m.name, "url": m.url} | _result(outcome) for m, outcome in checked]
    refresh_ms = min((m.interval_sec * 1000 for m, _ in checked), default=REFRESH_DEFAULT_MS)
    took_ms = round((finished - started).total_seconds() * 1000)
    return jsonify(
        status="success",
        success=True,
        timestamp=epoch_ms(finished),
        nextPing=epoch_ms(finished) + refresh_ms,
        refreshInterval=refresh_ms,
        executionTime=took_ms,
        duration=took_ms,
        results=results,
        services=results,
    )


# ---------------------------------------------------------------------------------------------
# Status and history


def _public_check(check: status_page.Check) -> dict[str, Any]:
    return {
        "status": "up" if check.up else "down",
        "timestamp": epoch_ms(check.at),
        "responseTime": check.response_ms,
    }


def _current(item: status_page.Item) -> dict[str, Any] | None:
    """The latest check as a CheckResult; none while pending or paused."""
    if item.status in (status_page.PENDING, status_page.PAUSED) or not item.last_checked_at:
        return None
    return {
        "status": item.status,
        "timestamp": epoch_ms(item.last_checked_at),
        "responseTime": item.response_ms,
    }


@bp.get("/api/status")
def status() -> ResponseReturnValue:
    """What the public status page shows, one entry per item. ``url`` is always null and
    ``filterByVisibility`` has no effect: the public never sees URLs or private items."""
    with_history = request.args.get("history") == "true"
    limit = request.args.get("limit", "60")

    def render() -> bytes:
        entries = []
        for item in status_page.summary().items:
            checks = status_page.recent_checks(item, limit) if with_history else []
            entries.append(
                {
                    "name": item.name,
                    "url": None,
                    "description": item.description,
                    "config": {"visible": True},
                    "currentStatus": _current(item),
                    "history": [_public_check(c) for c in checks],
                    "status": item.status,
                    "lastChecked": epoch_ms(item.last_checked_at),
                    "responseTime": item.response_ms,
                }
            )
        return _json(entries)

    return _public(f"status\0{with_history}\0{limit}", render)


@bp.get("/api/history/<path:name>")
def service_history(name: str) -> ResponseReturnValue:
    """The documented history of one public service: ``{"name", "history"}``."""
    limit = request.args.get("limit", "60")

    def render() -> bytes:
        item = status_page.find_by_name(name)
        checks = status_page.recent_checks(item, limit)
        return _json({"name": item.name, "history": [_public_check(c) for c in checks]})

    return _public(f"history\0{name}\0{limit}", render)


def _window(args: Mapping[str, str]) -> tuple[datetime | None, datetime | None, int]:
    """(start, end, most entries) from ``startTime``/``endTime`` (ms, both) or ``timeRange``."""
    if args.get("startTime") and args.get("endTime"):
        try:
            start, end = (
                datetime.fromtimestamp(int(args[name]) / 1000, UTC)
                for name in ("startTime", "endTime")
            )
        except (ValueError, OverflowError, OSError):
            raise BadRequest("startTime and endTime must be times in milliseconds.") from None
        minutes = math.ceil((end - start).total_seconds() / 60)
        return start, end, min(max(minutes, 60), history.LATEST_MAX)
    name = args.get("timeRange", "1h")
    if name in _RANGES:
        span, limit = _RANGES[name]
    elif match := _DAYS_RE.fullmatch(name):
        days = int(match.group(1))
        per_day = 144 if days <= 7 else 48 if days <= 30 else 24 if days <= 90 else 12
        span, limit = timedelta(days=days), days * per_day
    else:
        raise BadRequest(f"timeRange must be one of {', '.join(_RANGES)} or a number of days (7d).")
    return (utcnow() - span if span else None), None, min(limit, history.LATEST_MAX)


@bp.get("/api/history")
def histories() -> ResponseReturnValue:
    """The code's history: ``?service=<name>`` or every service, as an array. The documented
    ``?serviceName=`` answers like ``/api/history/<name>``."""
    if "serviceName" in request.args and "service" not in request.args:
        return service_history(request.args["serviceName"])
    authorize("monitors:read")
    start, end, limit = _window(request.args)
    name = request.args.get("service")
    if name:
        try:
            services = [monitors.find_by_name(name)]
        except NotFound:
            services = []
    else:
        services = _all_services()
    answer = []
    for monitor in services:
        rows = history.latest_checks(monitor.id, start, end, limit)
        if rows:
            answer.append(
                {
                    "name": monitor.name,
                    "isDeleted": False,
                    "url": monitor.url,
                    "description": monitor.description,
                    "history": [_stored_check(row) for row in rows],
                }
            )
    return jsonify(answer)


def _stored_check(row: CheckResult) -> dict[str, Any]:
    took_ms = None if row.total_us is None else round(row.total_us / 1000)
    result = {
        "status": "up" if row.outcome == OK else "down",
        "timestamp": epoch_ms(row.started_at) + (took_ms or 0),
        "responseTime": took_ms,
    }
    if row.status_code is not None:
        result["statusCode"] = row.status_code
    if row.error:
        result["error"] = row.error
    return result


# ---------------------------------------------------------------------------------------------
# History TTL and clearing


def _ttl(retention: dict[str, Any]) -> dict[str, Any]:
    """OpenUptimes' TTL: seconds, 0 meaning unlimited."""
    unlimited = retention["unlimited"]
    return {"ttl": 0 if unlimited else retention["ttl_seconds"], "unlimited": unlimited}


@bp.get("/api/ping-history/ttl")
def get_ttl() -> ResponseReturnValue:
    authorize("settings:read")
    return jsonify(_ttl(history.get_retention()))


@bp.patch("/api/ping-history/ttl")
@bp.patch("/api/ping-history")
def set_ttl() -> ResponseReturnValue:
    authorize("settings:write")
    ttl = _body().get("ttl")
    if ttl is None or ttl == "":
        raise BadRequest("TTL value is required")
    if ttl in (0, "0") and not isinstance(ttl, bool):
        retention = history.set_retention(unlimited=True)
    else:
        retention = history.set_retention(ttl_seconds=ttl, unlimited=False)
    answer = _ttl(retention)
    seconds = "unlimited" if answer["unlimited"] else f"{answer['ttl']} seconds"
    return jsonify(success=True, **answer, message=f"History TTL set to {seconds}")


@bp.delete("/api/ping-history")
def clear_history() -> ResponseReturnValue:
    """Clears all history: Upcron keeps no separate log of ping runs to clear instead."""
    authorize("settings:write")
    return jsonify(success=True, message="Ping history cleared", deleted=history.clear_all())


# ---------------------------------------------------------------------------------------------
# Setup and Redis


@bp.get("/api/setup/status")
def setup_status() -> ResponseReturnValue:
    done = accounts.setup_completed()
    return jsonify(setupComplete=done, completed=done)


@bp.post("/api/setup/complete")
def complete_setup() -> ResponseReturnValue:
    """Create the first admin from ``email`` and ``password`` (Upcron admins sign in with
    both). The body must be declared JSON: before setup there is no key, and a cross-site
    form cannot send that type."""
    body = json_body()
    fields = body if isinstance(body, dict) else {}
    email, password = fields.get("email"), fields.get("password")
    if not password or not isinstance(password, str):
        raise BadRequest("Password is required")
    if accounts.setup_completed():
        authorize("settings:write", session=False)
        raise Conflict("Setup is already complete. Sign in instead.")
    if not email or not isinstance(email, str):
        raise BadRequest("Email is required: Upcron admins sign in with e-mail and password.")
    accounts.create_first_admin(email, password)
    return jsonify(success=True, message="Setup completed")


@bp.get("/api/test-redis")
def test_redis() -> ResponseReturnValue:
    authorize("system:read")
    report = system.redis_status()
    if not report["ok"]:
        return jsonify(success=False, connected=False, error=report["error"]), 500
    return jsonify(
        success=True,
        message="Redis connection successful",
        pingResult="PONG",
        connected=True,
        ping="PONG",
    )
