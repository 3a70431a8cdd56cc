"""Heartbeat pings: recording one (the hot path of /ping) and listing a heartbeat's pings.

Recording is built for throughput: one indexed lookup by code, one INSERT and one UPDATE in a
short transaction, on plain columns rather than an ORM object graph. It waits on nothing but
SQL: with Redis down the rate limit fails open and the new deadline follows on the scheduler's
next rebuild, because a lost ping would raise a false alarm.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm as so

from app.engine import results, scheduler, state
from app.extensions import db, redis_client
from app.models import Monitor, Ping
from app.models.history import PING_FAIL, PING_KINDS, PING_SUCCESS
from app.models.monitor import KIND_HEARTBEAT
from app.models.types import utcnow
from app.services import monitors, notifications
from app.services.errors import NotFound, Throttled, ValidationError
from app.services.pagination import Page, paginate

log = logging.getLogger(__name__)

BODY_KEEP_BYTES = 100 * 1024  # stored with the ping; the rest of a body is only counted
BODY_MAX_BYTES = 10 * 1024 * 1024  # larger bodies are refused (413) before anything is stored
USER_AGENT_MAX = 500
REMOTE_ADDR_MAX = 64
RATE_WINDOW_SEC = 60
# Count one ping in a window key that expires on its own; one round trip.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""
# Codes are lower-case UUIDs; anything else cannot match and costs no lookup.
_CODE_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_monitors = Monitor.__table__
_pings = Ping.__table__
# What a ping reads: the state it may change and what the next deadline depends on. The rest
# of the row, and the ORM's object graph, are never loaded on this path.
_COLUMNS = (
    "id",
    "kind",
    "name",
    "period_sec",
    "cron_expr",
    "timezone",
    "grace_sec",
    "max_run_sec",
    "min_run_sec",
    "manual_resume",
    "paused",
    "state",
    "state_changed_at",
    "last_ping_at",
    "last_start_at",
    "last_duration_ms",
    "last_error",
    "consecutive_failures",
    "consecutive_successes",
)
_CHANGEABLE = _COLUMNS[_COLUMNS.index("paused") :]
# Built once: compiling statements per ping would cost more than running them.
_SELECT = (
    sa.select(*(_monitors.c[name] for name in _COLUMNS))
    .where(_monitors.c.code == sa.bindparam("code"), _monitors.c.kind == KIND_HEARTBEAT)
    .with_for_update()
)
_INSERT = _pings.insert()
_UPDATE = (
    _monitors.update()
    .where(_monitors.c.id == sa.bindparam("monitor_id"))
    .values({c: sa.bindparam(f"new_{c}", type_=_monitors.c[c].type) for c in _CHANGEABLE})
)


def _kind_of(kind: str | None, exit_status: int | None) -> str:
    if exit_status is not None:
        if not 0 <= exit_status <= 255:
            raise ValidationError({"exit_status": "Use an exit status from 0 to 255."})
        return PING_SUCCESS if exit_status == 0 else PING_FAIL
    if kind not in PING_KINDS:
        raise ValidationError({"kind": f"Choose one of {', '.join(PING_KINDS)}."})
    return kind


def _check_rate(code: str, now: datetime) -> None:
    """Count the ping against its code's fixed one-minute window; Throttled over the limit.

    Fails open: a Redis outage must not turn a working job into a missing-ping alarm.
    """
    limit = current_app.config["PING_RATE_LIMIT"]
    if not limit:
        return
    second = int(now.timestamp())
    # The code is the ping URL's secret: Redis holds only its hash.
    digest = hashlib.sha256(code.encode()).hexdigest()[:32]
    key = f"upcron:ping:rate:{digest}:{second // RATE_WINDOW_SEC}"
    try:
        count = redis_client.conn.eval(_COUNT, 1, key, 2 * RATE_WINDOW_SEC)
    except redis.RedisError as exc:
        log.warning("ping rate limit skipped, Redis unavailable: %s", exc)
        return
    if count > limit:
        raise Throttled(
            "Too many pings for this code; try again later.",
            retry_after=RATE_WINDOW_SEC - second % RATE_WINDOW_SEC,
        )


def _body_text(body: bytes) -> str | None:
    if not body:
        return None
    text = body[:BODY_KEEP_BYTES].decode("utf-8", errors="replace")
    # PostgreSQL text cannot hold NUL; a binary body is kept as readable as it gets.
    return text.replace("\x00", "\ufffd")


def record_ping(
    code: str,
    kind: str | None,
    exit_status: int | None,
    method: str,
    remote_addr: str | None,
    user_agent: str | None,
    body_bytes: bytes,
    now: datetime | None = None,
    body_size: int | None = None,
) -> int:
    """Record one ping to the heartbeat with ``code`` and apply it; returns the monitor id.

    ``kind`` is success, start, fail or log; with an ``exit_status`` (0-255) it is None and
    0 means success, anything else failure. The first 100 KB of ``body_bytes`` are kept;
    ``body_size`` is the whole body's length when the caller kept only a prefix. Raises
    ValidationError (bad kind or exit status), Throttled (over the code's rate limit) or
    NotFound (no heartbeat has this code).
    """
    kind = _kind_of(kind, exit_status)
    if not _CODE_RE.fullmatch(code):
        raise NotFound("not found")
    _check_rate(code, now or utcnow())
    ping = {
        "kind": kind,
        "exit_status": exit_status,
        "method": method[:10],
        "remote_addr": (remote_addr or None) and remote_addr[:REMOTE_ADDR_MAX],
        "user_agent": (user_agent or None) and user_agent[:USER_AGENT_MAX],
        "body": _body_text(body_bytes),
        "body_size": len(body_bytes) if body_size is None else body_size,
        "duration_ms": None,
    }
    # Lock the row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two
    # pings to one code, or a ping and a deadline evaluation, never lose each other's update.
    # Everything that can be done before the lock was done above: it is held only for what
    # follows, up to the commit.
    connection = db.session.connection()
    row = connection.execute(_SELECT, {"code": code}).one_or_none()
    if row is None:
        db.session.commit()  # end the (write-locking, on SQLite) transaction at once
        raise NotFound("not found")
    # Read the clock only once the row is ours: pings to one code then take effect in the
    # order of their times, and the last one's time is the one that stays.
    now = now or utcnow()
    # The state rules read and set attributes; a plain namespace carries the values through
    # them without an ORM object, and one UPDATE writes them back.
    monitor = SimpleNamespace(**row._mapping)
    if kind in (PING_SUCCESS, PING_FAIL):
        ping["duration_ms"] = state.run_duration_ms(monitor, now)
    events = state.apply_ping(monitor, kind, exit_status, now)
    connection.execute(_INSERT, {**ping, "monitor_id": monitor.id, "created_at": now})
    changes = {
        name: getattr(monitor, name)
        for name in _CHANGEABLE
        if getattr(monitor, name) != row._mapping[name]
    }
    if changes:
        connection.execute(
            _UPDATE,
            {"monitor_id": monitor.id, **{f"new_{n}": getattr(monitor, n) for n in _CHANGEABLE}},
        )
    if events:
        results.monitor_incidents(monitor, events, now)
    db.session.commit()
    if changes:
        # A Monitor this session loaded earlier would still show the state before this ping;
        # bring it up to date in place (expiring it would open a transaction on next use).
        loaded = db.session.identity_map.get(so.util.identity_key(Monitor, monitor.id))
        if loaded is not None:
            for name, value in changes.items():
                so.attributes.set_committed_value(loaded, name, value)
        scheduler.refresh("heartbeat", monitor.id, row=monitor)
    if events:
        notifications.dispatch([("monitor", monitor.id, event) for event in events], now)
    return monitor.id


def list_pings(monitor_id: int, page: Any = 1, per_page: Any = 50) -> Page:
    """A heartbeat's pings, newest first, each with its stored body."""
    monitors.get_heartbeat(monitor_id)
    query = (
        sa.select(Ping)
        .where(Ping.monitor_id == monitor_id)
        .order_by(Ping.created_at.desc(), Ping.id.desc())
    )
    return paginate(query, page, per_page)
