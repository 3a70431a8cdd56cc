"""Heartbeat ping endpoints: /ping/<code>[/start|/fail|/log|/<exit status>], and slug URLs
/ping/<ping key>/<slug>[/start|/fail|/log|/<exit status>].

Called by scripts (curl in a crontab), so: no login (the code, or the ping key, is the
secret), no CSRF, no first-run redirect, and short plain-text answers: 200 "OK", 404 "not
found", 429. The same URLs serve Healthchecks' clients: its run ids (``?rid=<uuid>``), its
slug URLs with ``?create=1`` (201 "Created"), its Ping-Body-Limit header.

/ping/<a>/<b> is a code with a suffix when <a> is shaped like a code (a UUID), else a slug
URL whose <a> is the ping key: the key is never shaped like a code (app.services.ping_key).

The same URLs under /compat/healthchecks/ping answer as the hosted Healthchecks does: a ping
over the rate limit is "OK (rate limited)" with 200 (not stored), so that `curl --retry`,
which retries a 429, does not come back for more.
"""

from __future__ import annotations

import re

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from app.extensions import csrf
from app.models.history import PING_FAIL, PING_LOG, PING_START, PING_SUCCESS
from app.services import pings
from app.services.errors import Conflict, NotFound, Throttled, ValidationError
from app.web.security import client_ip

bp = Blueprint("ping", __name__, url_prefix="/ping")
hosted_bp = Blueprint("compat_healthchecks_ping", __name__, url_prefix="/compat/healthchecks/ping")
csrf.exempt(bp)
csrf.exempt(hosted_bp)

METHODS = ("GET", "POST", "HEAD")
_CHUNK = 64 * 1024
_SUFFIXES = {"start": PING_START, "fail": PING_FAIL, "log": PING_LOG}
# The characters of a ping key and of a slug in a slug URL.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_-]+")
RID_INVALID = "invalid uuid format"
RATE_LIMITED = "OK (rate limited)"
URL_INVALID = "invalid url format"


def _text(
    body: str, status: int = 200, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
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
    rid: str | None = None,
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
        rid=rid,
    )


def _ping(
    code: str, kind: str | None, exit_status: int | None = None, created: bool = False
) -> ResponseReturnValue:
    # Every answer says how much of a body is kept, as Healthchecks' ping URLs do, and may
    # be read by a page on any site (a browser-side ping).
    headers = {
        "Ping-Body-Limit": str(pings.BODY_KEEP_BYTES),
        "Access-Control-Allow-Origin": "*",
    }
    try:
        record(code, kind, exit_status, *read_body(), rid=request.args.get("rid"))
    except NotFound:
        return _text("not found", 404, headers)
    except Throttled as exc:
        if request.blueprint == hosted_bp.name:
            return _text(RATE_LIMITED, 200, headers)
        headers["Retry-After"] = str(exc.retry_after)
        return _text("rate limit exceeded", 429, headers)
    except ValidationError as exc:
        if "rid" in exc.fields:
            return _text(RID_INVALID, 400, headers)
        return _text(next(iter(exc.fields.values()), exc.message), 400, headers)
    if created:
        return _text("Created", 201, headers)
    return _text("OK", 200, headers)


def _suffix(suffix: str) -> tuple[str | None, int | None] | None:
    """A ping URL's last segment as (kind, exit status): start, fail, log, or an exit
    status (digits; kind None, judged by the service); None for anything else."""
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix], None
    if suffix.isascii() and suffix.isdigit():
        digits = suffix.lstrip("0") or "0"
        # Too long to be a status: stands for one out of range, never parsed at length.
        return None, int(digits) if len(digits) <= 3 else 256
    return None


def _slug_ping(
    key: str, slug: str, kind: str | None, exit_status: int | None = None
) -> ResponseReturnValue:
    """A ping by the ping key and a heartbeat's slug; ``?create=1`` makes the heartbeat
    when no heartbeat has the slug (201 "Created")."""
    if not _SEGMENT_RE.fullmatch(key) or not _SEGMENT_RE.fullmatch(slug):
        return _text("not found", 404)
    if slug != slug.lower():
        return _text(URL_INVALID, 400)
    try:
        code, created = pings.code_for_slug(key, slug, request.args.get("create") == "1")
    except NotFound:
        return _text("not found", 404)
    except Conflict as exc:
        return _text(exc.message, 409)
    except ValidationError as exc:
        return _text(next(iter(exc.fields.values()), exc.message), 400)
    return _ping(code, kind, exit_status, created=created)


def success(code: str) -> ResponseReturnValue:
    return _ping(code, PING_SUCCESS)


def code_or_slug(first: str, second: str) -> ResponseReturnValue:
    """/ping/<code>/<start|fail|log|exit status>, or /ping/<ping key>/<slug>."""
    if not pings.is_code(first):
        return _slug_ping(first, second, PING_SUCCESS)
    suffix = _suffix(second)
    if suffix is None:
        return _text("not found", 404)
    return _ping(first, *suffix)


def slug_suffix(key: str, slug: str, suffix: str) -> ResponseReturnValue:
    """/ping/<ping key>/<slug>/<start|fail|log|exit status>."""
    kind = _suffix(suffix)
    if kind is None or pings.is_code(key):
        return _text("not found", 404)
    return _slug_ping(key, slug, *kind)


for _blueprint in (bp, hosted_bp):
    _blueprint.add_url_rule("/<code>", view_func=success, methods=METHODS)
    # /ping/<uuid>/ is the same URL to Healthchecks.
    _blueprint.add_url_rule("/<code>/", "success_slash", success, methods=METHODS)
    _blueprint.add_url_rule("/<first>/<second>", view_func=code_or_slug, methods=METHODS)
    _blueprint.add_url_rule("/<key>/<slug>/<suffix>", view_func=slug_suffix, methods=METHODS)
