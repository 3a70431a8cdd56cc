"""Heartbeat pings: recording one (the hot path of /ping) and listing a heartbeat's pings.

Recording is built for throughput: one short SQL transaction and, for most pings, nothing
else. The heartbeat's row is found by its code and locked, the code's rate limit checked
(for most pings on the row alone), the ping inserted, the day's rollup and the heartbeat
updated, all as SQL text compiled once and run on the writer's DBAPI connection.

On PostgreSQL the connection is in pipeline mode (_Writer._connect), and the common ping, a
success to a heartbeat that is up with no run going, is one statement that does all of it
(_COMMON), sent with the others of its batch before any answer is read: a lone one takes one
round trip and one statement. For such a row the rules of app.engine.state come down to a
few assignments, which the statement repeats; tests/integration/test_pings_common.py holds
the two to each other. Any other ping is applied by the rules in Python, from the row a
first trip reads: its three writes are one statement (_writes) that travels with the next
ping's SELECT, two round trips for a lone one.

Only a ping that moves the heartbeat up or down goes through the ORM session, which opens
or resolves its incident. A new deadline reaches Redis only when it comes sooner than the
one there; with Redis down it follows on the scheduler's next rebuild, and the ping is
stored and answered all the same.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm as so
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from app import metrics
from app.engine import schedule, scheduler, state
from app.extensions import db
from app.models import DailyRollup, Monitor, Ping
from app.models.history import PING_FAIL, PING_KINDS, PING_SUCCESS, SUBJECT_MONITOR
from app.models.monitor import KIND_HEARTBEAT, STATE_DOWN, STATE_UP
from app.models.types import utcnow
from app.services import maintenance, monitors, notifications, ping_key, results
from app.services.errors import Conflict, NotFound, Throttled, ValidationError
from app.services.pagination import Page, paginate

log = logging.getLogger(__name__)

BODY_KEEP_BYTES = 100 * 1024  # stored with the ping; the rest of a body is only counted
BODY_MAX_BYTES = 10 * 1024 * 1024  # larger bodies are refused (413) before anything is stored
USER_AGENT_MAX = 500
REMOTE_ADDR_MAX = 64
RATE_WINDOW_SEC = 60
# Codes are lower-case UUIDs; anything else cannot match and costs no lookup.
_CODE_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RID_RE = re.compile(_CODE_RE.pattern, re.IGNORECASE)
RID_INVALID = "Give the run id as a UUID, such as 123e4567-e89b-12d3-a456-426614174000."

# Declarative classes map a Table (typed as any FromClause).
_monitors = cast(sa.Table, Monitor.__table__)
_pings = cast(sa.Table, Ping.__table__)
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
    "last_start_rid",
    "last_duration_ms",
    "last_error",
    "consecutive_failures",
    "consecutive_successes",
    "rate_since",
    "rate_count",
)
_CHANGEABLE = _COLUMNS[_COLUMNS.index("paused") :]
# Built once: compiling statements per ping would cost more than running them.
_SELECT = (
    sa.select(*(_monitors.c[name] for name in _COLUMNS))
    .where(_monitors.c.code == sa.bindparam("code"), _monitors.c.kind == KIND_HEARTBEAT)
    .with_for_update()
)
# A heartbeat's pings after a moment: how many (the rate limit's new bound), and the
# created_at of the limit-th newest (whether the limit is reached, and from when the client
# may ping again).
_SINCE = (
    _pings.c.monitor_id == sa.bindparam("monitor_id"),
    _pings.c.created_at > sa.bindparam("since", type_=_pings.c.created_at.type),
)
_COUNT_SINCE = sa.select(sa.func.count()).where(*_SINCE)
_NTH_RECENT = (
    sa.select(_pings.c.created_at)
    .where(*_SINCE)
    .order_by(_pings.c.created_at.desc())
    .limit(1)
    .offset(sa.bindparam("skip", type_=sa.Integer))
)
_PING_COLUMNS = (
    "monitor_id",
    "created_at",
    "kind",
    "exit_status",
    "method",
    "remote_addr",
    "user_agent",
    "body",
    "body_size",
    "duration_ms",
    "rid",
)
_INSERT = _pings.insert().values({c: sa.bindparam(c) for c in _PING_COLUMNS})


@functools.cache
def _update(columns: tuple[str, ...]) -> sa.Update:
    """The heartbeat's UPDATE of just the columns a ping changed (most change two or three of
    them): each column costs its value's conversion and SQLite's work on the row."""
    return (
        _monitors.update()
        .where(_monitors.c.id == sa.bindparam("monitor_id"))
        .values({c: sa.bindparam(f"new_{c}", type_=_monitors.c[c].type) for c in columns})
    )


def _write_statements(
    dialect: str, ping: dict, rollup: dict | None, columns: tuple[str, ...], new: dict
) -> list[tuple[sa.ClauseElement, dict]]:
    """The statements storing a ping (``ping``: the row's values), its count in the day's
    rollup (None: it counts in none) and the heartbeat's changed ``columns`` (``new``: their
    new_<column> values and updated_at), with their parameters."""
    statements: list[tuple[sa.ClauseElement, dict]] = [(_INSERT, ping)]
    if rollup is not None:
        statements.append((results.rollup_upsert(dialect), rollup))
    if columns:
        statements.append((_update(columns), {"monitor_id": ping["monitor_id"], **new}))
    return statements


@functools.cache
def _writes(columns: tuple[str, ...], rollup: bool) -> sa.Insert:
    """On PostgreSQL, _write_statements as one statement run on the writer's connection: the
    INSERT of the ping, with the rollup's upsert and the heartbeat's UPDATE as data-modifying
    CTEs. Every statement costs psycopg a trip through its query machinery and the server a
    parse, bind and execute of its own, whatever it does: the three together cost little
    more than one of them. The three share one set of parameters: the ping's columns, the
    rollup's and new_<column>/updated_at never clash, but for monitor_id, the same in all.
    Not for the session: given parameters named like the heartbeat's columns (the ping's
    kind, method, body), SQLAlchemy would set those columns too."""
    ctes = [_update(columns).cte("heartbeat")] if columns else []
    if rollup:
        ctes.append(results.rollup_upsert("postgresql").cte("rollup"))
    return _INSERT.add_cte(*ctes)


def _common_changes(now) -> dict:
    """What a common ping (_COMMON) sets in its heartbeat's row beside the rate count: the
    rules of app.engine.state for such a row, given the ping's time (a value, or the
    statement's parameter)."""
    return {
        "last_ping_at": now,
        "last_start_rid": None,
        "last_duration_ms": None,
        "last_error": None,
    }


def _common_statement() -> sa.Select:
    """On PostgreSQL, the whole of the common ping as one statement, sent without waiting for
    anything: a success ping, without a run id or a duration of its own, to a heartbeat that
    is up, has no run in progress and is under its rate limit's bound (_check_rate), at a
    time no earlier than its last ping. For such a row the rules of app.engine.state come
    down to what the statement writes: the ping, one check more in the day's rollup,
    _common_changes and one more ping in the rate count. The row is locked and tested in the
    statement itself (a row changed meanwhile is tested again as it is now), and the
    statement returns the heartbeat's id and new rate count; any other row, or none, returns
    nothing and the ping takes the way of the others (_apply). tests/integration/
    test_pings_common.py holds the statement to the rules: for every row it takes, it writes
    what they write.
    """
    now = sa.bindparam("created_at", type_=_pings.c.created_at.type)
    limit = sa.bindparam("rate_limit", type_=sa.Integer)
    row = (
        sa.select(_monitors.c.id)
        .where(
            _monitors.c.code == sa.bindparam("code"),
            _monitors.c.kind == KIND_HEARTBEAT,
            _monitors.c.state == STATE_UP,
            sa.not_(_monitors.c.paused),
            _monitors.c.last_start_at.is_(None),
            _monitors.c.last_ping_at <= now,
            sa.or_(
                limit == 0,
                sa.and_(
                    _monitors.c.rate_since <= sa.bindparam("since", type_=now.type),
                    _monitors.c.rate_count < limit,
                ),
            ),
        )
        .with_for_update()
        .cte("heartbeat")
    )
    written = (
        _monitors.update()
        .where(_monitors.c.id == row.c.id)
        .values(**_common_changes(now), rate_count=_monitors.c.rate_count + 1, updated_at=now)
        .returning(_monitors.c.id, _monitors.c.rate_count)
        .cte("written")
    )
    counted: dict[str, Any] = results.rollup_row(SUBJECT_MONITOR, 0, datetime.min, 1, 0)
    counted |= {"subject_id": row.c.id, "day": sa.cast(sa.func.timezone("UTC", now), sa.Date)}
    rollups = cast(sa.Table, DailyRollup.__table__)
    source = sa.select(
        *(
            value if isinstance(value, sa.ColumnElement) else sa.literal(value, rollups.c[k].type)
            for k, value in counted.items()
        )
    )
    rollup = results.rollup_upsert("postgresql", source).cte("rollup")
    values = [
        row.c.id if c == "monitor_id" else sa.bindparam(c, type_=_pings.c[c].type)
        for c in _PING_COLUMNS
    ]
    stored = _pings.insert().from_select(_PING_COLUMNS, sa.select(*values)).cte("stored")
    return sa.select(written.c.id, written.c.rate_count).add_cte(rollup, stored)


_COMMON = _common_statement()


def _kind_of(kind: str | None, exit_status: int | None) -> str:
    if exit_status is not None:
        if not 0 <= exit_status <= 255:
            raise ValidationError({"exit_status": "Use an exit status from 0 to 255."})
        return PING_SUCCESS if exit_status == 0 else PING_FAIL
    if kind not in PING_KINDS:
        raise ValidationError({"kind": f"Choose one of {', '.join(PING_KINDS)}."})
    return kind


def is_code(value: str) -> bool:
    """Whether ``value`` is shaped like a ping code (a lower-case UUID)."""
    return _CODE_RE.fullmatch(value) is not None


def parse_rid(value: str | None) -> str | None:
    """A run id as stored: a UUID in its canonical text, lower case; None for none. Any
    other text is refused, so that two spellings of one id always pair."""
    if value is None:
        return None
    if not isinstance(value, str) or not _RID_RE.fullmatch(value):
        raise ValidationError({"rid": RID_INVALID})
    return value.lower()


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
    duration_ms: int | None = None,
    rid: str | None = None,
) -> int:
    """Record one ping to the heartbeat with ``code`` and apply it; returns the monitor id.

    ``kind`` is success, start, fail or log; with an ``exit_status`` (0-255) it is None and
    0 means success, anything else failure. The first 100 KB of ``body_bytes`` are kept;
    ``body_size`` is the whole body's length when the caller kept only a prefix.
    ``duration_ms``: the run's length as the caller reports it (Uptime Kuma's push URL),
    instead of the time since the start ping. ``rid`` is the client's run id (a UUID),
    pairing a start with its end (state.apply_ping). Raises ValidationError (bad kind, exit
    status or run id), Throttled (over the code's rate limit) or NotFound (no heartbeat has
    this code).
    """
    kind = _kind_of(kind, exit_status)
    rid = parse_rid(rid)
    if not _CODE_RE.fullmatch(code):
        raise NotFound("not found")
    ping = {
        "kind": kind,
        "exit_status": exit_status,
        "method": method[:10],
        "remote_addr": (remote_addr or None) and remote_addr[:REMOTE_ADDR_MAX],
        "user_agent": (user_agent or None) and user_agent[:USER_AGENT_MAX],
        "body": _body_text(body_bytes),
        "body_size": len(body_bytes) if body_size is None else body_size,
        "duration_ms": duration_ms,
    }
    limit = current_app.config["PING_RATE_LIMIT"]
    pending = _Ping(code, kind, exit_status, ping, now, limit, rid=rid)
    # The caller's own transaction ends first: on SQLite it holds the write lock that the
    # thread writing this ping, maybe another one, is about to ask for.
    session = _session()
    if session is not None and session.in_transaction():
        session.commit()
    engine = db.engine  # looked up once: each lookup goes through the app context
    outcome = _writer(os.getpid(), engine.url).write(pending, engine)
    if outcome is _TRANSITION:
        # The ping moves the heartbeat up or down: the same steps again in the session,
        # which also opens or resolves its incident in the same transaction.
        with _InSession() as runner:
            outcome = _apply(runner, pending)
            runner.commit()
    if outcome is None:
        raise NotFound("not found")
    metrics.PINGS.labels(kind).inc()
    monitor, before, changes, events = outcome
    if changes:
        # A Monitor this session loaded earlier would still show the state before this ping;
        # bring it up to date in place (expiring it would open a transaction on next use).
        loaded = None
        if session is not None:
            loaded = session.identity_map.get(so.util.identity_key(Monitor, monitor.id))
        if loaded is not None:
            for name, value in changes.items():
                so.attributes.set_committed_value(loaded, name, value)
        # No row before for a common ping (_COMMON): its deadline only moves later.
        if before is not None and _sooner(_deadline(monitor), _deadline(SimpleNamespace(**before))):
            scheduler.refresh("heartbeat", monitor.id, row=monitor)
    if events:
        notifications.dispatch([("monitor", monitor.id, event) for event in events], now)
    return monitor.id


_TRANSITION = object()


@dataclass(slots=True, eq=False)
class _Ping:
    """A ping on its way to the database, and what became of it."""

    code: str
    kind: str
    exit_status: int | None
    values: dict
    now: datetime | None
    rate_limit: int
    done: bool = False
    outcome: Any = None
    error: Exception | None = None
    rid: str | None = None


def _session() -> so.Session | None:
    """The request's session if something in it has used one; creating one just to find it
    empty would cost a ping more than its SQL."""
    return db.session() if db.session.registry.has() else None


def _apply(runner, pending: _Ping):
    """Lock the heartbeat's row, apply the ping to it, store the ping and the new state, all
    in ``runner``'s transaction, which the caller commits.

    Returns None for an unknown code, ``_TRANSITION`` when ``runner`` cannot record state
    transitions (the direct runner), else (monitor values, row before, changed columns,
    events).
    """
    # Lock the row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two
    # pings to one code, or a ping and a deadline evaluation, never lose each other's update.
    row = runner.select(pending.code)
    if row is None:
        return None
    # Read the clock only once the row is ours: pings to one code then take effect in the
    # order of their times, and the last one's time is the one that stays.
    now = pending.now or utcnow()
    # The state rules read and set attributes; a plain namespace carries the values through
    # them without an ORM object, and one UPDATE writes them back.
    monitor = cast(Monitor, SimpleNamespace(**row))  # the columns the rules read
    _check_rate(runner, monitor, now, pending.rate_limit)
    kind, ping = pending.kind, pending.values
    if kind in (PING_SUCCESS, PING_FAIL) and ping["duration_ms"] is None:
        ping["duration_ms"] = state.run_duration_ms(monitor, now, pending.rid)
    events = state.apply_ping(
        monitor, kind, pending.exit_status, now, ping["duration_ms"], rid=pending.rid
    )
    if events and not runner.records_transitions:
        return _TRANSITION
    # Asked only of pings that would move the state (so in the session's runner): under a
    # maintenance window the ping is kept but the state stays; the window's end judges the
    # heartbeat afresh by its schedule.
    held = bool(events) and monitor.id in maintenance.covered(now).monitors
    if held:
        for name in ("paused", "state", "state_changed_at"):
            setattr(monitor, name, row[name])
        events = []
    stored = {**ping, "rid": pending.rid, "monitor_id": monitor.id, "created_at": now}
    changes = {n: getattr(monitor, n) for n in _CHANGEABLE if getattr(monitor, n) != row[n]}
    rollup = None
    if held:
        counted_apart = results.rollup_row(SUBJECT_MONITOR, monitor.id, now, 0, 0)
        rollup = counted_apart | {"maintenance_checks": 1}
    elif kind in (PING_SUCCESS, PING_FAIL) and not monitor.paused:
        # The heartbeat's checks in its uptime: a success, or a failure (a failure ping, or a
        # run too short) that leaves it down. A missed deadline is the other failure.
        failed = int(monitor.state == STATE_DOWN)
        rollup = results.rollup_row(SUBJECT_MONITOR, monitor.id, now, 1, failed)
    new = {f"new_{name}": value for name, value in changes.items()}
    runner.write(stored, rollup, tuple(changes), {"updated_at": now, **new})
    if events:
        results.monitor_incidents(monitor, events, now)
    return monitor, row, changes, events


def _check_rate(runner, monitor: Monitor, now: datetime, limit: int) -> None:
    """Throttled when the heartbeat already has its limit of pings in the last minute;
    otherwise the ping is counted in the heartbeat's row.

    Exact: a sliding minute, counted in SQL under the row lock the ping holds anyway (pings
    to one code queue on it), working with Redis down. Most pings need no count at all: the
    row's rate_count is at least the number of pings stored since rate_since, so when that
    moment is a minute or more ago and the count is under the limit, the last minute holds
    fewer pings still. Only when the bound says nothing is the last minute looked at: one
    indexed lookup answers a ping over the limit (a client hammering a code pays no more);
    one under it also counts the minute, which becomes the new bound. That is about once
    per ``limit`` pings, and once after the limit is lowered or the clock went back.
    """
    since = now - timedelta(seconds=RATE_WINDOW_SEC)
    bounded = monitor.rate_since is not None and monitor.rate_since <= since
    if not limit or (bounded and monitor.rate_count < limit):
        monitor.rate_count += 1  # kept with the limit off too: it may be turned on later
        return
    oldest = runner.nth_recent(monitor.id, since, limit)
    if oldest is not None:
        raise Throttled(
            "Too many pings for this code; try again later.",
            retry_after=max(1, math.ceil((oldest - since).total_seconds())),
        )
    monitor.rate_since, monitor.rate_count = since, runner.count_since(monitor.id, since) + 1


def _deadline(values) -> datetime | None:
    try:
        return state.heartbeat_deadline(values)
    except schedule.ScheduleError:
        # As the scheduler does with the same schedule: said once here, then not watched.
        log.warning("heartbeat %s has an invalid schedule; not watched", values.id)
        return None


def _sooner(new: datetime | None, old: datetime | None) -> bool:
    """Whether a ping's new deadline must reach Redis now: only when it comes sooner.

    The due set may hold a deadline earlier than the true one, never a later one: an early
    deadline fires, its evaluation finds the heartbeat on time and puts back the next one
    (app.tasks.jobs). A success ping only moves the deadline later, so the common ping
    writes nothing to Redis; a start ping with a run-time bound, or the first ping of a new
    heartbeat, brings one sooner and is written at once.
    """
    return new is not None and (old is None or new < old)


class _InSession:
    """Runs the ping's statements in the ORM session: what a state transition needs, since
    opening or resolving its incident goes through the session."""

    records_transitions = True

    def __enter__(self):
        self.connection = db.session.connection()
        return self

    def __exit__(self, *exc_info) -> None:
        if exc_info[0] is not None or db.session().in_transaction():
            db.session.rollback()  # ends the (write-locking, on SQLite) transaction at once

    def select(self, code: str) -> dict | None:
        row = self.connection.execute(_SELECT, {"code": code}).one_or_none()
        return None if row is None else dict(row._mapping)

    def count_since(self, monitor_id: int, since: datetime) -> int:
        values = {"monitor_id": monitor_id, "since": since}
        return self.connection.execute(_COUNT_SINCE, values).scalar_one()

    def nth_recent(self, monitor_id: int, since: datetime, n: int) -> datetime | None:
        values = {"monitor_id": monitor_id, "since": since, "skip": n - 1}
        return self.connection.execute(_NTH_RECENT, values).scalar()

    def write(self, ping: dict, rollup: dict | None, columns: tuple[str, ...], new: dict) -> None:
        dialect = self.connection.dialect.name
        for statement, parameters in _write_statements(dialect, ping, rollup, columns, new):
            self.connection.execute(statement, parameters)

    def commit(self) -> None:
        db.session.commit()


class _Direct:
    """Runs pings' statements on the writer's DBAPI connection, without the session.

    Most pings change nothing but times; for them the ORM's unit of work, result processing
    and events cost several times the SQL itself. The statements are the ones above, compiled
    once per database, and values pass through the same type conversions SQLAlchemy would
    apply (see _compiled). ``lock_fd`` is the descriptor of the file SQLite writers queue on
    (see _Writer), None on PostgreSQL.
    """

    records_transitions = False

    def __init__(self, dialect: str, raw, lock_fd: int | None, pipeline=None):
        self.dialect, self.raw, self.lock_fd, self.pipeline = dialect, raw, lock_fd, pipeline
        self.committed = False

    def __enter__(self):
        self.cursor = self.raw.cursor()
        if self.lock_fd is not None:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            # On PostgreSQL a statement too: psycopg's own BEGIN waits for its answer.
            self.cursor.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if not self.committed:
                # Undoes what was written, so the write lock is free before the next writer
                # is let in.
                self.rollback()
        finally:
            if self.lock_fd is not None:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def _execute(self, statement: sa.ClauseElement, values: dict) -> _Statement:
        return _run(self.cursor, self.dialect, statement, values)

    def _fetch(self, statement: _Statement) -> dict | None:
        found = self.cursor.fetchone()
        if found is None:
            return None
        row = dict(zip(statement.columns, found, strict=True))
        for name, process in statement.results:
            row[name] = process(row[name])
        return row

    def select(self, code: str) -> dict | None:
        return self._fetch(self._execute(_SELECT, {"code": code}))

    def count_since(self, monitor_id: int, since: datetime) -> int:
        self._execute(_COUNT_SINCE, {"monitor_id": monitor_id, "since": since})
        return self.cursor.fetchone()[0]

    def nth_recent(self, monitor_id: int, since: datetime, n: int) -> datetime | None:
        values = {"monitor_id": monitor_id, "since": since, "skip": n - 1}
        found = self._fetch(self._execute(_NTH_RECENT, values))
        return None if found is None else found["created_at"]

    def write(self, ping: dict, rollup: dict | None, columns: tuple[str, ...], new: dict) -> None:
        if self.dialect == "postgresql":
            self._execute(_writes(columns, rollup is not None), {**ping, **(rollup or {}), **new})
            return
        for statement, parameters in _write_statements(self.dialect, ping, rollup, columns, new):
            self._execute(statement, parameters)

    def sync(self) -> None:
        """Wait for the statements sent so far: an error among them is raised now."""
        if self.pipeline is not None:
            self.pipeline.sync()

    def rollback(self) -> None:
        if self.pipeline is None:
            self.raw.rollback()
            return
        # The statements sent after an error were skipped until a sync; the error itself is
        # the one being handled. The ROLLBACK is sent whatever psycopg knows of the
        # transaction, which in pipeline mode lags behind.
        with contextlib.suppress(Exception):
            self.pipeline.sync()
        self.cursor.execute("ROLLBACK")
        self.pipeline.sync()

    def commit(self) -> None:
        if self.pipeline is None:
            self.raw.commit()
        else:
            self.cursor.execute("COMMIT")
            self.pipeline.sync()
        self.committed = True


def _run(cursor, dialect: str, statement: sa.ClauseElement, values: dict) -> _Statement:
    """Execute ``statement`` (compiled once for ``dialect``) with ``values`` on a DBAPI
    cursor, converting them as SQLAlchemy would (_compiled)."""
    compiled = _compiled(dialect, statement)
    values = {**compiled.fixed, **values}
    for key, process in compiled.binds:
        values[key] = process(values[key])
    cursor.execute(compiled.text, values)
    return compiled


def _send_common(raw, pending: _Ping) -> tuple[Any, datetime]:
    """Send the statement of a common ping (_COMMON) on the PostgreSQL connection ``raw``
    without waiting for it. Returns its cursor, whose row, once the pipeline is synced, is
    the heartbeat's id and rate count, or none; and the ping's time."""
    now = pending.now or utcnow()
    values = {
        **pending.values,
        "rid": None,
        "code": pending.code,
        "created_at": now,
        "since": now - timedelta(seconds=RATE_WINDOW_SEC),
        "rate_limit": pending.rate_limit,
    }
    cursor = raw.cursor()
    _run(cursor, "postgresql", _COMMON, values)
    return cursor, now


class _Writer:
    """Writes one process's pings to one database, many in one transaction (group commit).

    A thread queues its ping, then waits for its turn to write. The thread whose turn it is
    writes every ping queued by then, in one transaction, and the threads whose pings it
    wrote find them done when their turn comes. Alone, a ping is written at once; under load,
    one transaction and one commit serve many. And only one thread of a process at a time
    works inside the database's write lock: on SQLite, the one writer of the whole database,
    every other thread that wakes while it is held takes CPU and the GIL from the thread that
    holds it (measured with every thread writing its own: the lock held 1.1 ms a ping).

    SQLite writers of all processes then queue on an exclusive flock of ``lock_path``:
    SQLite's own busy handler makes a writer that finds the database locked sleep and retry
    for up to 100 ms at a time, while a flock wakes the next writer the moment the last one
    lets go.

    The writer keeps one DBAPI connection of its own, outside the engine's pool: checking
    one out and back in for every transaction, with the pool's liveness test, took longer
    than a ping's INSERT. Only the writer's thread whose turn it is uses it.
    """

    def __init__(self, lock_path: str | None):
        self.turn = threading.Lock()
        self.queue_lock = threading.Lock()
        self.queue: list[_Ping] = []
        self.fd = None if lock_path is None else os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        self.connection: sa.PoolProxiedConnection | None = None
        self.pipeline: Any = None
        self._pipeline_mode: Any = None

    def write(self, pending: _Ping, engine: sa.Engine):
        """Write ``pending`` (or find it written) and return _apply's outcome for it."""
        with self.queue_lock:
            self.queue.append(pending)
        with self.turn:
            while not pending.done:
                with self.queue_lock:
                    batch, self.queue = self.queue, []
                self._write(batch, engine)
        if pending.error is not None:
            raise pending.error
        return pending.outcome

    def _write(self, batch: list[_Ping], engine: sa.Engine) -> None:
        # PostgreSQL locks each heartbeat's row: taken in one order, batches never deadlock.
        batch.sort(key=lambda pending: pending.code)
        todo, reconnected, exact = batch, False, False
        while todo:
            current, kept = None, self.connection is not None
            try:
                connection = self.connection or self._connect(engine)
                # The DBAPI connection itself: the pool's proxy around it costs every call.
                raw = connection.dbapi_connection
                if self.pipeline is not None and not exact:
                    todo = self._write_common(raw, todo)
                    if not todo:
                        break
                with _Direct(engine.dialect.name, raw, self.fd, self.pipeline) as runner:
                    for current in todo:
                        try:
                            current.outcome = _apply(runner, current)
                            if exact:
                                runner.sync()
                        except Throttled as exc:  # raised before the ping wrote anything
                            current.error = exc
                    current = None
                    runner.commit()
                todo = []
            except Exception as exc:
                lost = self._lost(exc, engine)
                if lost and kept and not reconnected:
                    # The server closed the connection since the last transaction (a
                    # restart, an idle timeout): the batch goes again on a new one.
                    reconnected = True
                    for pending in todo:
                        pending.outcome, pending.error = None, None
                    continue
                if self.pipeline is not None and not lost and not exact:
                    # The pipeline reports an error with a later statement's result, maybe
                    # another ping's: the batch goes again waiting for each ping's
                    # statements, so that an error is its own ping's.
                    exact = True
                    for pending in todo:
                        pending.outcome, pending.error = None, None
                    continue
                # Undone, all of it. A ping that failed fails alone and the others are
                # written again; when the transaction itself failed, or its connection is
                # gone, every ping in it fails.
                failed = todo if current is None or lost else [current]
                for pending in failed:
                    pending.outcome, pending.error = None, exc
                todo = [pending for pending in todo if pending not in failed]
                for pending in todo:
                    pending.outcome, pending.error = None, None
        for pending in batch:
            pending.done = True

    def _write_common(self, raw, todo: list[_Ping]) -> list[_Ping]:
        """On PostgreSQL, write the common pings of ``todo`` (_COMMON) in a transaction of their
        own, sent whole before any answer is read: one round trip for all of them, and for a
        lone one no BEGIN or COMMIT either. Returns the pings left to write the usual way,
        whose heartbeats the statement did not take.

        Their own transaction, committed before the others begin: each transaction then
        locks rows in the order of their codes, as a batch must (_write); in one, a ping the
        statement left would lock its row after rows of higher codes.
        """
        common = [
            pending
            for pending in todo
            if pending.kind == PING_SUCCESS
            and pending.rid is None
            and pending.values["duration_ms"] is None
        ]
        if not common:
            return todo
        if len(common) == 1:  # a statement is a transaction of its own (autocommit)
            sent = [_send_common(raw, common[0])]
            self.pipeline.sync()
        else:
            with _Direct("postgresql", raw, None, self.pipeline) as runner:
                sent = [_send_common(raw, pending) for pending in common]
                runner.commit()
        for pending, (cursor, now) in zip(common, sent, strict=True):
            found = cursor.fetchone()
            if found is not None:
                monitor_id, rate_count = found
                changes = {**_common_changes(now), "rate_count": rate_count}
                pending.outcome = (SimpleNamespace(id=monitor_id), None, changes, [])
        return [pending for pending in todo if pending.outcome is None]

    def _connect(self, engine: sa.Engine) -> sa.PoolProxiedConnection:
        """Open the writer's connection; on PostgreSQL, in pipeline mode for good.

        In pipeline mode a statement is sent without waiting for the ones before it; the
        writer waits only where it reads a result. A ping's writes (one statement, _writes)
        go with the next ping's SELECT, the BEGIN with the first SELECT and the COMMIT with
        the last ping's writes: a batch of n pings takes n + 1 round trips instead of 4n + 2,
        and 2n + 2 statements.
        BEGIN and COMMIT are the runner's own statements (autocommit, for psycopg), since
        psycopg waits for the answer to a BEGIN of its own.
        """
        connection = self.connection = engine.raw_connection()
        connection.detach()  # the writer's own; closing it really closes it
        self.pipeline = None
        if engine.dialect.name == "postgresql":
            raw: Any = connection.dbapi_connection  # psycopg's Connection
            raw.autocommit = True
            self._pipeline_mode = raw.pipeline()
            self.pipeline = self._pipeline_mode.__enter__()
        return connection

    def close(self, pid: int) -> None:
        """Close the connection at exit, in the process that opened it only: in a forked
        child the connection is its parent's, still in use."""
        if self.connection is not None and os.getpid() == pid:
            self._disconnect()

    def _lost(self, exc: Exception, engine: sa.Engine) -> bool:
        """Whether ``exc`` says the writer's connection is gone; if so it is dropped, and
        the next transaction opens a new one."""
        if self.connection is None:
            return False
        raw = self.connection.dbapi_connection
        if not isinstance(exc, engine.dialect.loaded_dbapi.Error) or not (
            engine.dialect.is_disconnect(exc, raw, None)
        ):
            return False
        self._disconnect()
        return True

    def _disconnect(self) -> None:
        with contextlib.suppress(Exception):
            if self._pipeline_mode is not None:
                self._pipeline_mode.__exit__(None, None, None)  # on a lost one, fails at once
        with contextlib.suppress(Exception):
            if self.connection is not None:
                self.connection.close()
        self.connection = self.pipeline = self._pipeline_mode = None


@functools.cache
def _writer(pid: int, url: sa.URL) -> _Writer:
    """One writer per process (``pid``: a forked child needs locks and a descriptor of its
    own; flocks taken through one descriptor do not exclude each other) and database."""
    database = url.database if url.get_backend_name() == "sqlite" else None
    writer = _Writer(f"{database}-pings.lock" if database and database != ":memory:" else None)
    atexit.register(writer.close, pid)
    return writer


@dataclass(frozen=True, slots=True)
class _Statement:
    """A statement compiled for one database: its SQL text, the values of its fixed
    parameters, the conversion of each parameter that has one, its result columns and the
    conversion of each one that has one."""

    text: str
    fixed: dict
    binds: tuple
    columns: tuple
    results: tuple


@functools.cache
def _compiled(dialect_name: str, statement: sa.ClauseElement) -> _Statement:
    """``statement`` for the DBAPI of ``dialect_name``, with the conversions SQLAlchemy would
    apply to its values: SQLite keeps datetimes as text, UTC columns want aware values."""
    # pysqlite's named style, for values given as dicts
    dialect = sqlite.dialect(paramstyle="named") if dialect_name == "sqlite" else db.engine.dialect
    c = cast(SQLCompiler, statement.compile(dialect=dialect))  # of a SELECT, INSERT or UPDATE
    binds = tuple(
        (bind.key, process)
        for bind in c.binds.values()
        if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    selected = statement.selected_columns if isinstance(statement, sa.Select) else ()
    results = tuple(
        (column.key, process)
        for column in selected
        if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
    )
    columns = tuple(column.key for column in selected)
    return _Statement(str(c), dict(c.params), binds, columns, results)


def count_pings(monitor_id: int) -> int:
    """How many pings of the heartbeat are stored (older ones leave with the history TTL)."""
    return db.session.execute(
        sa.select(sa.func.count()).select_from(_pings).where(_pings.c.monitor_id == monitor_id)
    ).scalar_one()


def get_ping(monitor_id: int, ping_id: int) -> Ping:
    """One stored ping of the heartbeat, or NotFound."""
    ping = db.session.get(Ping, ping_id)
    if ping is None or ping.monitor_id != monitor_id:
        raise NotFound("Ping not found.")
    return ping


AUTO_PERIOD_SEC = 86400  # a heartbeat made by its first slug ping expects one a day…
AUTO_GRACE_SEC = 3600  # …with an hour's grace, until someone says otherwise
SLUG_TAKEN_BY_MONITOR = "This slug belongs to an uptime monitor, not a heartbeat."


def code_for_slug(key: str, slug: str, create: bool = False) -> tuple[str, bool]:
    """The ping code of the heartbeat a slug ping URL names, and whether it was made now.

    ``key`` must be the installation's ping key (NotFound otherwise). With ``create``, a slug
    no heartbeat has makes one, named after it, pinged once a day with an hour's grace and
    notifying the default channels; a slug an uptime monitor has is a Conflict.
    """
    if not ping_key.matches(key):
        raise NotFound("not found")
    try:
        return _ping_code(monitors.find_heartbeat_by_slug(slug)), False
    except NotFound:
        if not create:
            raise
    data = {
        "kind": KIND_HEARTBEAT,
        "name": slug,
        "slug": slug,
        "period_sec": AUTO_PERIOD_SEC,
        "grace_sec": AUTO_GRACE_SEC,
    }
    try:
        monitor = monitors.create(data)
    except Conflict:
        # Taken meanwhile: by the same slug ping from another process, or by an uptime
        # monitor, which a slug ping cannot reach.
        try:
            return _ping_code(monitors.find_heartbeat_by_slug(slug)), False
        except NotFound:
            raise Conflict(SLUG_TAKEN_BY_MONITOR) from None
    return _ping_code(monitor), True


def _ping_code(heartbeat: Monitor) -> str:
    """A heartbeat's ping code; every heartbeat is given one when it is made."""
    if heartbeat.code is None:
        raise ValueError(f"Heartbeat {heartbeat.id} has no ping code")
    return heartbeat.code


def list_pings(monitor_id: int, page: Any = 1, per_page: Any = 50) -> Page:
    """A heartbeat's pings, newest first, each with its stored body."""
    monitors.get_heartbeat(monitor_id)
    query = (
        sa.select(Ping)
        .where(Ping.monitor_id == monitor_id)
        .order_by(Ping.created_at.desc(), Ping.id.desc())
    )
    return paginate(query, page, per_page)
