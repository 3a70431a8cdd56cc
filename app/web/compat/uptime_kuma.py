"""Compatibility facade: Uptime Kuma's push URLs, ``/api/push/<push token>``.

Uptime Kuma's push monitors are how its users watch cron jobs: the job calls
``/api/push/<token>?status=up&msg=OK&ping=`` when it runs. Here every heartbeat has a push
token (kept as it was when imported from Uptime Kuma), so such a job keeps working with only
the host changed.

- Any method; the query says it all. ``status`` ``up`` (the default) is a success ping; any
  other value is a failure ping. ``msg`` (default ``OK``) is kept as the ping's body, and
  ``ping`` (milliseconds, as a number) as the run's length.
- Answers as Uptime Kuma does: ``{"ok": true}``, or 404 ``{"ok": false, "msg": "…"}`` for an
  unknown token, a paused heartbeat ("not active") or a ``ping`` out of range. Over the
  heartbeat's rate limit the answer is 429 in the same shape (Uptime Kuma has no limit).

No key, no session and no CSRF: the token is the secret, as on /ping.
"""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.models.history import PING_FAIL, PING_SUCCESS
from app.services import monitors
from app.services.errors import NotFound, Throttled
from app.web import ping as native_ping

bp = Blueprint("compat_uptime_kuma", __name__)

# Every method: Uptime Kuma's route takes them all (HEAD comes with GET).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
NOT_FOUND = "Monitor not found or not active."
# Uptime Kuma's own bound for ``ping``; a run time beyond what we store is kept as that.
PING_MAX_MS = 100_000_000_000
DURATION_MAX_MS = 2**31 - 1


_NUMBER_START = re.compile(r"\s*[+-]?(Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")


def _answer(
    ok: bool, message: str | None = None, status: int = 200, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    body = {"ok": True} if ok else {"ok": False, "msg": message}
    return jsonify(body), status, headers or {}


def _reported_ms(value: str | None) -> float | None:
    """``ping`` as Uptime Kuma reads it: JavaScript's parseFloat (the number at the start,
    so "12ms" is 12), with 0 and no number meaning none."""
    match = _NUMBER_START.match(value or "")
    if match is None:
        return None
    return float(match.group(0)) or None


@bp.route("/api/push/<token>", methods=METHODS)
def push(token: str) -> ResponseReturnValue:
    args = request.args
    reported = _reported_ms(args.get("ping"))
    if reported is not None and not 0 <= reported <= PING_MAX_MS:
        return _answer(False, f"Invalid ping value. Must be between 0 and {PING_MAX_MS} ms.", 404)
    try:
        heartbeat = monitors.get_by_push_token(token)
    except NotFound:
        return _answer(False, NOT_FOUND, 404)
    if heartbeat.paused or heartbeat.code is None:
        return _answer(False, NOT_FOUND, 404)
    kind = PING_SUCCESS if args.get("status", "up") == "up" else PING_FAIL
    message = args.get("msg") or "OK"
    body = message.encode("utf-8", "replace")
    duration = None if reported is None else min(round(reported), DURATION_MAX_MS)
    try:
        native_ping.record(heartbeat.code, kind, None, body, len(body), duration_ms=duration)
    except NotFound:
        return _answer(False, NOT_FOUND, 404)  # deleted meanwhile
    except Throttled as exc:
        return _answer(False, "Too many requests.", 429, {"Retry-After": str(exc.retry_after)})
    return _answer(True)
