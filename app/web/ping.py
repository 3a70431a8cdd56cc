"""Heartbeat ping endpoints: /ping/<code>[/start|/fail|/log|/<exit status>].

Called by scripts (curl in a crontab), so: no login (the code is the secret), no CSRF, no
first-run redirect, and short plain-text answers: 200 "OK", 404 "not found", 429.
"""

from __future__ import annotations

from flask import Blueprint, request

from app.extensions import csrf
from app.models.history import PING_FAIL, PING_LOG, PING_START, PING_SUCCESS
from app.services import pings
from app.services.errors import NotFound, Throttled, ValidationError
from app.web.security import client_ip

bp = Blueprint("ping", __name__, url_prefix="/ping")
csrf.exempt(bp)

METHODS = ("GET", "POST", "HEAD")
_CHUNK = 64 * 1024


def _text(body: str, status: int = 200, headers: dict | None = None):
    return body, status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}


def read_body() -> tuple[bytes, int]:
    """The body's first BODY_KEEP_BYTES and its whole length, never holding more in memory
    (also how the compatibility facades' ping URLs read their payloads)."""
    environ = request.environ
    if environ.get("CONTENT_LENGTH") in (None, "", "0") and (
        "HTTP_TRANSFER_ENCODING" not in environ
    ):
        # No length and not chunked: by HTTP's rules there is no body, and most pings (a
        # curl GET in a crontab) come so; setting up the stream would cost them more.
        return b"", 0
    request.max_content_length = pings.BODY_MAX_BYTES
    kept, size = bytearray(), 0
    while chunk := request.stream.read(_CHUNK):
        size += len(chunk)
        if len(kept) < pings.BODY_KEEP_BYTES:
            kept += chunk[: pings.BODY_KEEP_BYTES - len(kept)]
    return bytes(kept), size


def record(
    code: str,
    kind: str | None,
    exit_status: int | None,
    body: bytes,
    size: int,
    duration_ms: int | None = None,
) -> int:
    """Record a ping that came in this request, with its method, address and user agent;
    shared by /ping and the facades' ping URLs. Returns the heartbeat's id."""
    return pings.record_ping(
        code,
        kind,
        exit_status,
        request.method,
        client_ip(),
        request.headers.get("User-Agent"),
        body,
        body_size=size,
        duration_ms=duration_ms,
    )


def _ping(code: str, kind: str | None, exit_status: int | None = None):
    try:
        record(code, kind, exit_status, *read_body())
    except NotFound:
        return _text("not found", 404)
    except Throttled as exc:
        return _text("rate limit exceeded", 429, {"Retry-After": str(exc.retry_after)})
    except ValidationError as exc:
        return _text(next(iter(exc.fields.values()), exc.message), 400)
    return _text("OK")


@bp.route("/<code>", methods=METHODS)
def success(code: str):
    return _ping(code, PING_SUCCESS)


@bp.route("/<code>/start", methods=METHODS)
def start(code: str):
    return _ping(code, PING_START)


@bp.route("/<code>/fail", methods=METHODS)
def fail(code: str):
    return _ping(code, PING_FAIL)


@bp.route("/<code>/log", methods=METHODS)
def log(code: str):
    return _ping(code, PING_LOG)


@bp.route("/<code>/<int:exit_status>", methods=METHODS)
def exit_status(code: str, exit_status: int):
    return _ping(code, None, exit_status)
