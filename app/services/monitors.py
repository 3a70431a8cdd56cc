"""Monitors: uptime checks (kinds http, keyword, tcp, dns and ping) and heartbeats (kind
heartbeat): create, change, pause, resume, delete, list; a heartbeat's ping code and expected
next ping."""

from __future__ import annotations

import logging
import re
import secrets
import string
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.engine import batch, icmp, schedule, scheduler, state
from app.engine.checks import Outcome
from app.engine.dns_check import RECORD_TYPES
from app.engine.tcp import target_name
from app.extensions import db
from app.models import Group, Monitor
from app.models.history import SUBJECT_MONITOR
from app.models.monitor import (
    KIND_DNS,
    KIND_HEARTBEAT,
    KIND_HTTP,
    KIND_KEYWORD,
    KIND_PING,
    KIND_TCP,
    KINDS,
    STATE_NEW,
    STATE_PAUSED,
    STATE_PENDING,
    STATES,
)
from app.models.types import utcnow
from app.services import (
    assertions,
    certificate_alerts,
    channels,
    fields,
    groups,
    incidents,
    results,
    rollups,
    tags,
)
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.pagination import Page, group_order, matching, paginate

log = logging.getLogger(__name__)

CREDENTIAL_MAX = 200
KEYWORD_MAX = 500
REMINDER_HOURS_MAX = 24 * 30
TIMEOUT_MAX_MS = 60000
TLS_WARN_DAYS_MAX = 365
PERIOD_MIN_SEC = 60
RUN_TIME_MAX_SEC = 365 * 86400
RUNNING_TIME_UNITS = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
}

# Fields that belong to one family of kinds; giving one to another is a mistake to report.
HTTP_ONLY = (
    "url",
    "method",
    "headers",
    "body",
    "auth_username",
    "auth_password",
    "expected_status",
    "follow_redirects",
    "max_redirects",
    "keyword",
    "keyword_absent",
    "assertions",
)
TCP_ONLY = ("host", "port", "tls")
DNS_ONLY = ("record_type", "resolver", "expected_values")  # and host, shared with tcp
PING_ONLY = ("packets", "max_loss_pct")  # and host
# Every kind with a response time: when an answer is slow, and which warnings to announce.
DEGRADED_FIELDS = ("degraded_after_ms", "notify_degraded_slow", "notify_degraded_certificate")
# Kinds that may shake hands: http and keyword (https URLs), tcp (with tls).
TLS_FIELDS = ("tls_verify", "tls_expiry_warn_days")
# The uptime fields each kind does not use: the API refuses them, the form leaves them out.
FOREIGN_FIELDS = {
    KIND_HTTP: TCP_ONLY + DNS_ONLY + PING_ONLY,
    KIND_KEYWORD: TCP_ONLY + DNS_ONLY + PING_ONLY,
    KIND_TCP: HTTP_ONLY + DNS_ONLY + PING_ONLY,
    KIND_DNS: HTTP_ONLY + ("port", "tls") + PING_ONLY + TLS_FIELDS,
    KIND_PING: HTTP_ONLY + ("port", "tls") + DNS_ONLY + TLS_FIELDS,
}
_UPTIME_ONLY = (
    *HTTP_ONLY,
    *TCP_ONLY,
    *DNS_ONLY,
    *PING_ONLY,
    *TLS_FIELDS,
    "interval_sec",
    "timeout_ms",
    "failure_threshold",
    "recovery_threshold",
    *DEGRADED_FIELDS,
)
_HEARTBEAT_ONLY = (
    "period_sec",
    "cron_expr",
    "timezone",
    "grace_period",
    "grace_sec",
    "running_time",
    "running_time_unit",
    "max_run_sec",
    "min_run_sec",
    "manual_resume",
    "push_token",
)
# A heartbeat's settings, stored as given once validated (grace_period and running_time are
# converted first); the configuration document's too, which carries the push token apart.
HEARTBEAT_SETTINGS = (
    "period_sec",
    "cron_expr",
    "timezone",
    "grace_sec",
    "max_run_sec",
    "min_run_sec",
    "manual_resume",
    "notify_late",
)
_HEARTBEAT_STORED = (*HEARTBEAT_SETTINGS, "push_token")
_SCHEDULE = ("period_sec", "cron_expr", "timezone", "grace_sec")

_SIMPLE = (
    "name",
    "name_from_url",
    "description",
    "kind",
    "url",
    "method",
    "headers",
    "body",
    "auth_username",
    "auth_password",
    "interval_sec",
    "timeout_ms",
    "expected_status",
    "follow_redirects",
    "max_redirects",
    "keyword",
    "keyword_absent",
    "assertions",
    "host",
    "port",
    "tls",
    "tls_verify",
    "tls_expiry_warn_days",
    "record_type",
    "resolver",
    "expected_values",
    "packets",
    "max_loss_pct",
    "failure_threshold",
    "recovery_threshold",
    "reminder_hours",
    "public",
    *DEGRADED_FIELDS,
)


# Uptime Kuma makes 32 letters and digits (20 before 2.0) and lets people type their own;
# any text that sits in a URL path unescaped is taken, so imported tokens keep working.
_PUSH_TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]{1,32}")
NAME_MAX = 200
_PUSH_TOKEN_ALPHABET = string.ascii_letters + string.digits


def parse_push_token(value: Any) -> str:
    if not isinstance(value, str) or not _PUSH_TOKEN_RE.fullmatch(value):
        raise ValueError("Use 1 to 32 letters, digits, dots, dashes, underscores or tildes.")
    return value


def new_push_token() -> str:
    """A fresh push token, as Uptime Kuma makes them: 32 random letters and digits."""
    return "".join(secrets.choice(_PUSH_TOKEN_ALPHABET) for _ in range(32))


_PARSERS: dict[str, fields.Parser] = {
    "name": fields.name(NAME_MAX),
    "name_from_url": fields.boolean,
    "slug": fields.slug,
    "description": fields.text(),
    "group": fields.optional(groups.parse_name),
    "kind": fields.choice(KINDS),
    "url": fields.url,
    "method": fields.method,
    "headers": fields.headers,
    "body": fields.optional(fields.text()),
    "auth_username": fields.optional(fields.text(CREDENTIAL_MAX)),
    "auth_password": fields.optional(fields.text(CREDENTIAL_MAX)),
    "interval_sec": fields.whole_number(10, 86400),
    "timeout_ms": fields.whole_number(100, TIMEOUT_MAX_MS),
    "expected_status": fields.status_ranges,
    "follow_redirects": fields.boolean,
    "max_redirects": fields.whole_number(0, 10),
    "keyword": fields.optional(fields.text(KEYWORD_MAX)),
    "keyword_absent": fields.boolean,
    "assertions": assertions.parse,
    "host": fields.host,
    "port": fields.whole_number(1, 65535),
    "tls": fields.boolean,
    "tls_verify": fields.boolean,
    "tls_expiry_warn_days": fields.whole_number(0, TLS_WARN_DAYS_MAX),
    "record_type": fields.choice(RECORD_TYPES, upper=True),
    "resolver": fields.optional(fields.resolver),
    "expected_values": fields.string_list,
    "packets": fields.whole_number(1, icmp.PACKETS_MAX),
    "max_loss_pct": fields.whole_number(0, 100),
    "failure_threshold": fields.whole_number(1, 100),
    "recovery_threshold": fields.whole_number(1, 100),
    "degraded_after_ms": fields.optional(fields.whole_number(1, TIMEOUT_MAX_MS - 1)),
    "notify_degraded_slow": fields.boolean,
    "notify_degraded_certificate": fields.boolean,
    "reminder_hours": fields.optional(fields.whole_number(1, REMINDER_HOURS_MAX)),
    "public": fields.boolean,
    "channels": channels.parse_ids,
    "tags": tags.parse_names,
    "paused": fields.boolean,
    "period_sec": fields.optional(fields.whole_number(PERIOD_MIN_SEC, RUN_TIME_MAX_SEC)),
    "cron_expr": fields.optional(fields.cron_expr),
    "timezone": fields.timezone,
    "grace_period": fields.whole_number(1, 60, "Must be a whole number of minutes from 1 to 60."),
    "grace_sec": fields.whole_number(
        60, 3600, "Must be a whole number of seconds from 60 to 3600."
    ),
    "running_time": fields.optional(fields.whole_number(1, RUN_TIME_MAX_SEC)),
    "running_time_unit": fields.choice(tuple(RUNNING_TIME_UNITS)),
    "max_run_sec": fields.optional(fields.whole_number(1, RUN_TIME_MAX_SEC)),
    "min_run_sec": fields.optional(fields.whole_number(1, RUN_TIME_MAX_SEC)),
    "manual_resume": fields.boolean,
    "push_token": parse_push_token,
    "notify_late": fields.boolean,
}
_REQUIRED = {"name": "Enter a name.", "url": "Enter the URL to call."}
_REQUIRED_TCP = {
    "name": "Enter a name.",
    "host": "Enter the host name or IP address to connect to.",
    "port": "Enter the port to connect to, from 1 to 65535.",
}
_REQUIRED_DNS = {"name": "Enter a name.", "host": "Enter the name to look up, such as example.com."}
_REQUIRED_PING = {
    "name": "Enter a name.",
    "host": "Enter the host name or IP address to connect to.",
}
HTTP_KINDS = (KIND_HTTP, KIND_KEYWORD)
UPTIME_KINDS = (KIND_HTTP, KIND_KEYWORD, KIND_TCP, KIND_DNS, KIND_PING)
_CONFLICT = "Another change was saved at the same moment; try again."
NAME_TAKEN = "Another monitor of this kind already has this name."
_SCHEDULE_MISSING = "Enter how often the job pings (period_sec), or a cron expression."
SLUG_TAKEN = "Another monitor already has this slug."


def get(monitor_id: int) -> Monitor:
    """The monitor, or NotFound for an id that does not exist (any more)."""
    monitor = db.session.get(Monitor, monitor_id)
    if monitor is None:
        raise NotFound("Monitor not found")
    return monitor


def get_by_uuid(value: str) -> Monitor:
    """The monitor whose stable uuid is ``value``, or NotFound."""
    return fields.by_uuid(Monitor, value, "Monitor not found")


def find_by_name(name: Any, kind: str = KIND_HTTP) -> Monitor:
    """The monitor of ``kind`` named exactly ``name`` (the oldest, should two share it), or
    NotFound: for API dialects that address monitors by name rather than by id."""
    if not isinstance(name, str) or not name.strip():
        raise NotFound("Monitor not found")
    monitor = db.session.execute(
        sa.select(Monitor)
        .where(Monitor.kind == kind, Monitor.name == name.strip())
        .order_by(Monitor.id)
        .limit(1)
    ).scalar_one_or_none()
    if monitor is None:
        raise NotFound("Monitor not found")
    return monitor


def _require_unique_name(name: str, kind: str, current: Monitor | None) -> None:
    """Refuse a name another monitor of the same kind holds, for callers that address
    monitors by name. Checked before the write, not by a constraint: names may repeat for
    everyone else, so two such callers racing can still both win (then the oldest is found).
    """
    query = sa.select(Monitor.id).where(Monitor.kind == kind, Monitor.name == name)
    if current is not None:
        query = query.where(Monitor.id != current.id)
    if db.session.execute(query.limit(1)).first():
        raise Conflict(NAME_TAKEN)


def _require_free_slug(slug: str, current: Monitor | None) -> None:
    """Refuse a slug chosen by hand that another monitor has (Conflict): slugs name items
    in badges, the status page and slug ping URLs. The unique index settles a race."""
    query = sa.select(Monitor.id).where(Monitor.slug == slug)
    if current is not None:
        query = query.where(Monitor.id != current.id)
    if db.session.execute(query.limit(1)).first():
        raise Conflict(SLUG_TAKEN)


def target(monitor: Monitor) -> str | None:
    """What an uptime monitor checks, as pages show it: its URL, host:port for a tcp
    monitor ("over TLS" when it shakes hands), the record and its resolver for a dns
    monitor, the host and its packets for a ping monitor; None for a heartbeat."""
    if monitor.kind == KIND_PING:
        return f"{monitor.host}, {monitor.packets} packets, at most {monitor.max_loss_pct}% lost"
    if monitor.kind == KIND_DNS:
        via = monitor.resolver or "the system's resolvers"
        return f"{monitor.record_type} {monitor.host} via {via}"
    if monitor.kind == KIND_TCP:
        name = target_name(monitor.host or "", monitor.port or 0)
        return f"{name} over TLS" if monitor.tls else name
    return None if monitor.kind == KIND_HEARTBEAT else monitor.url


def get_heartbeat(monitor_id: int) -> Monitor:
    """The heartbeat monitor, or NotFound (an uptime monitor has no pings or ping code)."""
    monitor = get(monitor_id)
    if monitor.kind != KIND_HEARTBEAT:
        raise NotFound("Heartbeat monitor not found.")
    return monitor


def get_by_code(code: str) -> Monitor:
    """The heartbeat whose ping code is ``code``, or NotFound: facades whose clients address
    heartbeats by that code (Cronhub's monitor uuid) look them up here."""
    return _heartbeat_where(Monitor.code == code)


def get_by_push_token(token: str) -> Monitor:
    """The heartbeat whose push token is ``token``, or NotFound (Uptime Kuma's push URL)."""
    if not _PUSH_TOKEN_RE.fullmatch(token):
        raise NotFound("Heartbeat monitor not found.")  # no token has such characters
    return _heartbeat_where(Monitor.push_token == token)


def _heartbeat_where(condition: sa.ColumnElement[bool]) -> Monitor:
    monitor = db.session.execute(
        sa.select(Monitor).where(condition, Monitor.kind == KIND_HEARTBEAT)
    ).scalar_one_or_none()
    if monitor is None:
        raise NotFound("Heartbeat monitor not found.")
    return monitor


def find_heartbeat_by_slug(slug: str) -> Monitor:
    """The heartbeat with this slug, or NotFound: slug ping URLs name heartbeats so."""
    monitor = db.session.execute(
        sa.select(Monitor).where(Monitor.slug == slug, Monitor.kind == KIND_HEARTBEAT)
    ).scalar_one_or_none()
    if monitor is None:
        raise NotFound("Heartbeat monitor not found.")
    return monitor


def find_heartbeat(
    name: str | None = None,
    slug: str | None = None,
    tag_names: list[str] | None = None,
    period_sec: int | None = None,
    grace_sec: int | None = None,
) -> Monitor | None:
    """The oldest heartbeat matching every criterion given (``tag_names``: exactly these
    tags, in any case; ``period_sec``: a period, not a cron schedule), or None: for dialects
    that create a heartbeat only when no such one exists yet."""
    query = sa.select(Monitor).where(Monitor.kind == KIND_HEARTBEAT).order_by(Monitor.id)
    if name is not None:
        query = query.where(Monitor.name == name)
    if slug is not None:
        query = query.where(Monitor.slug == slug)
    if period_sec is not None:
        query = query.where(Monitor.period_sec == period_sec, Monitor.cron_expr.is_(None))
    if grace_sec is not None:
        query = query.where(Monitor.grace_sec == grace_sec)
    if tag_names is not None:
        query = query.options(so.selectinload(Monitor.tags))
        wanted = {name.lower() for name in tag_names}
        for monitor in db.session.execute(query).scalars():
            if {name.lower() for name in tags.names_of(monitor)} == wanted:
                return monitor
        return None
    return db.session.execute(query.limit(1)).scalar_one_or_none()


def _validate(data: Any, current: Monitor | None) -> dict[str, Any]:
    """Parse ``data`` and check the rules between fields against what the result will be."""
    values, errors = fields.parse(data, _PARSERS)
    fields.keep_masked_headers(values, errors, current.headers if current else None)
    kind = values.get("kind", current.kind if current else KIND_HTTP)
    if current is not None and _family(current.kind) != _family(kind):
        errors["kind"] = (
            "A monitor cannot change between uptime and heartbeat; create a new monitor."
            if KIND_HEARTBEAT in (kind, current.kind)
            else f"A monitor cannot change between {_family(current.kind).upper()} and "
            f"{_family(kind).upper()} checks; create a new monitor."
        )
        kind = current.kind  # judge the rest as it stands
    heartbeat = kind == KIND_HEARTBEAT
    foreign: tuple[str, ...]
    if heartbeat:
        foreign, message = _UPTIME_ONLY, "Not used by heartbeat monitors."
    elif kind in (KIND_TCP, KIND_DNS, KIND_PING):
        foreign = FOREIGN_FIELDS[kind] + _HEARTBEAT_ONLY
        message = f"Not used by {kind} monitors."
    else:
        foreign = FOREIGN_FIELDS[KIND_HTTP] + _HEARTBEAT_ONLY
        message = "Not used by http and keyword monitors."
    for name in foreign:
        if name in data:
            errors[name] = (
                "Only heartbeat monitors use this field." if name in _HEARTBEAT_ONLY else message
            )
    if heartbeat:
        _heartbeat_rules(data, values, errors, current)
    elif kind == KIND_TCP:
        if current is None:
            fields.require(data, errors, _REQUIRED_TCP)
    elif kind == KIND_DNS:
        _dns_rules(data, values, errors, current)
    elif kind == KIND_PING:
        _ping_rules(data, values, errors, current)
    else:
        if current is None:
            fields.require(data, errors, _REQUIRED)
        fields.name_from_url(values, errors, current, NAME_MAX)
        keyword = values["keyword"] if "keyword" in values else (current and current.keyword)
        if kind == KIND_KEYWORD and not keyword and "keyword" not in errors:
            errors["keyword"] = "Enter the text to look for; keyword monitors need one."
    if not heartbeat:
        _degraded_rules(values, errors, current)
    if errors:
        raise ValidationError(errors)
    return values


def _dns_rules(
    data: Any, values: dict[str, Any], errors: dict[str, str], current: Monitor | None
) -> None:
    """A dns monitor's host is a name to ask about, not a place to connect to: parsed as
    such (any address may be looked up). A new one asks for A records unless told."""
    if "host" in data:
        errors.pop("host", None)
        values.pop("host", None)
        try:
            values["host"] = fields.query_name(data["host"])
        except ValueError as exc:
            errors["host"] = str(exc)
    if current is None:
        fields.require(data, errors, _REQUIRED_DNS)
        values.setdefault("record_type", "A")
        values.setdefault("expected_values", [])


def _ping_rules(
    data: Any, values: dict[str, Any], errors: dict[str, str], current: Monitor | None
) -> None:
    """A new ping monitor sends 3 packets and allows no loss unless told; it is refused
    while this server may not send ICMP at all, rather than failing every check."""
    if current is not None:
        return
    fields.require(data, errors, _REQUIRED_PING)
    values.setdefault("packets", 3)
    values.setdefault("max_loss_pct", 0)
    if "kind" not in errors and (reason := icmp.unavailable()):
        errors["kind"] = reason


def _degraded_rules(values: dict[str, Any], errors: dict[str, str], current: Monitor | None):
    """An answer slower than the timeout is a failure, so degraded_after_ms must be below it
    (equal is allowed: nothing is ever slow then, which is clearer refused than accepted)."""
    if "degraded_after_ms" in errors or "timeout_ms" in errors:
        return
    slow = values.get("degraded_after_ms", current.degraded_after_ms if current else None)
    timeout = values.get("timeout_ms", current.timeout_ms if current else 10000)  # the default
    if slow is not None and slow >= timeout:
        field = "degraded_after_ms" if "degraded_after_ms" in values else "timeout_ms"
        errors[field] = (
            f"Must be below the timeout ({timeout:,} ms): slower answers are failures."
            if field == "degraded_after_ms"
            else f"Must be above degraded_after_ms ({slow:,} ms), or clear that first."
        )


def _family(kind: str) -> str:
    """Kinds a monitor may change between share a family: http and keyword."""
    return "http" if kind in HTTP_KINDS else kind


def _heartbeat_rules(
    data: Any, values: dict[str, Any], errors: dict[str, str], current: Monitor | None
) -> None:
    """A heartbeat's schedule is a period or a cron expression, never both; convert grace
    minutes and running times to the seconds stored; a minimum run must be below the limit."""
    if current is None:
        fields.require(data, errors, {"name": "Enter a name."})
    token = values.get("push_token")
    if token is not None and (current is None or token != current.push_token):
        taken = sa.select(Monitor.id).where(Monitor.push_token == token)
        if db.session.execute(taken).first() is not None:
            errors["push_token"] = "Another heartbeat has this push token."
    schedule_ok = "period_sec" not in errors and "cron_expr" not in errors
    if schedule_ok and values.get("period_sec") and values.get("cron_expr"):
        errors["cron_expr"] = "Give a period or a cron expression, not both."
    elif schedule_ok:
        # Setting one schedule replaces the other, so an edit can switch between them.
        period = values.get("period_sec", current.period_sec if current else None)
        cron = values.get("cron_expr", current.cron_expr if current else None)
        if values.get("period_sec"):
            cron = None
        elif values.get("cron_expr"):
            period = None
        if not period and not cron:
            errors["period_sec"] = _SCHEDULE_MISSING
        values["period_sec"], values["cron_expr"] = period, cron

    if "grace_period" in values:
        if "grace_sec" in data:
            errors["grace_sec"] = "Give grace_period (minutes) or grace_sec, not both."
        values["grace_sec"] = values.pop("grace_period") * 60

    if "running_time" in data or "running_time_unit" in data:
        if "max_run_sec" in data:
            errors["max_run_sec"] = "Give running_time with its unit, or max_run_sec, not both."
        elif "running_time" not in data and "running_time_unit" not in errors:
            errors["running_time"] = "Enter the running time that goes with the unit."
        elif "running_time" in values:
            amount = values.pop("running_time")
            unit = RUNNING_TIME_UNITS[values.pop("running_time_unit", "minutes")]
            if amount is not None and amount * unit > RUN_TIME_MAX_SEC:
                errors["running_time"] = "Use at most 365 days."
            else:
                values["max_run_sec"] = None if amount is None else amount * unit
        values.pop("running_time_unit", None)

    if "min_run_sec" in errors or "max_run_sec" in errors or "running_time" in errors:
        return
    low = values.get("min_run_sec", current.min_run_sec if current else None)
    high = values.get("max_run_sec", current.max_run_sec if current else None)
    if low is not None and high is not None and low >= high:
        errors["min_run_sec"] = "Must be shorter than the longest running time."


PAUSED_RESOLUTION = "Resolved: monitoring was paused."


def _set_paused(monitor: Monitor, paused: bool) -> None:
    """Pause, or resume as if new (see state.resume); pausing twice changes nothing."""
    if monitor.paused == paused:
        return
    now = utcnow()
    (state.pause if paused else state.resume)(monitor, now)
    if paused and monitor.id is not None:
        # Nobody watches a paused monitor: an incident left open would claim an outage no
        # one can see end. Resuming a monitor that is still down opens a new one.
        incidents.resolve_open(message=PAUSED_RESOLUTION, now=now, monitor_id=monitor.id)


def _apply(monitor: Monitor, values: dict[str, Any]) -> Monitor:
    # Resolve the group first: its lookup would otherwise autoflush a half-built monitor.
    if "group" in values:
        monitor.group = groups.resolve(values["group"]) if values["group"] else None
    if "channels" in values:
        monitor.channels = channels.by_ids(values["channels"])
    if "tags" in values:
        monitor.tags = tags.resolve(values["tags"])
    if "slug" in values:
        monitor.slug = values["slug"]
    for key in _SIMPLE + _HEARTBEAT_STORED:
        if key in values:
            setattr(monitor, key, values[key])
    if "paused" in values:
        _set_paused(monitor, values["paused"])
    if monitor.kind == KIND_HEARTBEAT and any(key in values for key in _SCHEDULE):
        state.reschedule(monitor, utcnow())
    return monitor


def _refresh(monitor: Monitor) -> None:
    refresh(monitor.kind, monitor.id)


def create(data: dict[str, Any], unique_name: bool = False) -> Monitor:
    """Create a monitor. An uptime monitor starts "pending" until its first check; a
    heartbeat starts "new", with a fresh ping code, until its first ping. Either may start
    "paused". Without ``channels`` it notifies the channels marked "default for new items".
    Without ``slug`` its slug is made from its name; a slug given that another monitor has
    is refused (Conflict).
    With ``unique_name``, a name another monitor of the same kind has is refused (Conflict).
    """
    values = _validate(data, None)
    if unique_name:
        _require_unique_name(values["name"], values.get("kind", KIND_HTTP), None)
    if "slug" in values:
        _require_free_slug(values["slug"], None)

    def build() -> Monitor:
        return add(values, fields.unique_slug(Monitor.slug, values["name"], "monitor"))

    monitor = fields.commit_retrying(build, _CONFLICT)
    _refresh(monitor)
    return monitor


def check(data: dict[str, Any], monitor_id: int | None = None) -> None:
    """Judge a form's fields as ``create`` (or ``update`` of ``monitor_id``) would, saving
    nothing: raises the same ValidationError, so a form can show a field's error as soon as
    it is left."""
    _validate(data, get(monitor_id) if monitor_id is not None else None)


def update(monitor_id: int, data: dict[str, Any], unique_name: bool = False) -> Monitor:
    """Change the fields given; the ping code and the state stay as they are (except
    pausing, and a late heartbeat whose new schedule does not expect it yet), and so does
    the slug unless one is given.
    With ``unique_name``, renaming onto another monitor of the same kind is refused."""
    current = get(monitor_id)
    values = _validate(data, current)
    if unique_name and "name" in values:
        _require_unique_name(values["name"], current.kind, current)
    if "slug" in values:
        _require_free_slug(values["slug"], current)
    monitor = fields.commit_retrying(lambda: _apply(get(monitor_id), values), _CONFLICT)
    _refresh(monitor)
    return monitor


def pause(monitor_id: int) -> Monitor:
    """Stop checking (or expecting pings) and show the monitor as "paused"; pausing twice
    changes nothing."""
    monitor = get(monitor_id)
    _set_paused(monitor, True)
    db.session.commit()
    _refresh(monitor)
    return monitor


def resume(monitor_id: int) -> Monitor:
    """Resume a paused monitor as "pending" (a heartbeat as "new", waiting for its next
    ping); a monitor that is not paused is left alone."""
    monitor = get(monitor_id)
    _set_paused(monitor, False)
    db.session.commit()
    _refresh(monitor)
    return monitor


def check_now(kind: str = KIND_HTTP) -> list[tuple[Monitor, Outcome]]:
    """Check every active (not paused) uptime monitor of ``kind`` now, through the same
    guarded probe and recording as scheduled checks, and return each with its outcome, in
    list order; for callers that ask for all checks to run and want their results."""
    if kind not in (KIND_HTTP, KIND_KEYWORD):
        raise ValidationError({"kind": "Only uptime monitors (http, keyword) are checked."})
    ids = db.session.execute(
        sa.select(Monitor.id)
        .where(Monitor.kind == kind, Monitor.paused.is_(False))
        .order_by(Monitor.id)
    ).scalars()
    outcomes = {outcome.subject_id: outcome for outcome in run_checks(list(ids))}
    rows = db.session.execute(sa.select(Monitor).where(Monitor.id.in_(list(outcomes)))).scalars()
    return sorted(((m, outcomes[m.id]) for m in rows), key=lambda pair: pair[0].id)


def run_checks(monitor_ids: list[int]) -> list[Outcome]:
    """Check these uptime monitors at once, in this process, and record the results as a
    batch would; for a caller that answers with the results rather than waiting for the
    schedule. The checks are extra: the scheduled ones keep their times. Paused monitors and
    ids that no longer exist are skipped."""
    planned = scheduler.to_ms(utcnow())
    work = batch.prepare(
        [[scheduler.KIND_MONITOR, sid, planned, 0, "manual"] for sid in monitor_ids]
    )
    # End the read transaction before probing: on SQLite it holds the write lock.
    db.session.commit()
    outcomes = batch.probe_all(work)
    for kind, subject_id, event in results.record(outcomes, utcnow()):
        log.info("%s %s: %s", kind, subject_id, event)
    return outcomes


def regenerate_code(monitor_id: int) -> Monitor:
    """Give a heartbeat a new ping code and push token; the old ping URL and push URL
    answer 404 from now on."""
    monitor = get(monitor_id)
    if monitor.kind != KIND_HEARTBEAT:
        raise Conflict("Only heartbeat monitors have a ping code.")
    monitor.code = str(uuid.uuid4())
    monitor.push_token = new_push_token()
    db.session.commit()
    return monitor


def heartbeat_status(monitor_id: int, now: datetime | None = None) -> dict[str, Any]:
    """When a heartbeat expects its next ping, and what happens if it does not come.

    ``expected_at``: the next ping by the schedule (for a cron heartbeat never pinged, the
    next slot from now; None for a period heartbeat never pinged, and while paused);
    ``grace_ends_at``: when a missing ping turns it down; ``running_since`` and
    ``run_deadline``: the run in progress and when it becomes too long; ``deadline_at``: the
    next moment the clock alone changes its state.
    """
    monitor = get_heartbeat(monitor_id)
    now = now or utcnow()
    expected = None
    if not monitor.paused:
        expected = state.expected_ping_at(monitor)
        if expected is None and monitor.cron_expr:
            expected = schedule.next_run(monitor.cron_expr, monitor.timezone, now)
    return {
        "state": monitor.state,
        "last_ping_at": monitor.last_ping_at,
        "last_duration_ms": monitor.last_duration_ms,
        "expected_at": expected,
        "grace_ends_at": expected + timedelta(seconds=monitor.grace_sec) if expected else None,
        "running_since": monitor.last_start_at,
        "run_deadline": state.run_deadline(monitor),
        "deadline_at": state.heartbeat_deadline(monitor),
    }


def delete(monitor_id: int) -> None:
    """Delete a monitor with its history (results, pings and incidents cascade in SQL)."""
    monitor = get(monitor_id)
    remove(monitor)
    db.session.commit()
    _refresh(monitor)


def list_monitors(
    kind: str | Iterable[str] | None = None,
    state: str | None = None,
    group: str | None = None,
    tag: str | list[str] | None = None,
    search: str | None = None,
    page: Any = 1,
    per_page: Any = 50,
) -> Page:
    """One page of monitors as the dashboard shows them: by group, then position and name.

    ``kind`` is one kind or several (``UPTIME_KINDS``: the uptime monitors); ``group`` is a
    group name (any case); ``tag`` one or more tag names, all of which a listed monitor
    carries; ``search`` matches name or description.
    """
    kinds = tuple(k for k in ((kind,) if isinstance(kind, str) else kind or ()) if k)
    _check_filters(kinds, state)
    query = (
        sa.select(Monitor)
        .outerjoin(Group, Monitor.group_id == Group.id)
        # Every listed item shows its channels and tags.
        .options(so.selectinload(Monitor.channels), so.selectinload(Monitor.tags))
    )
    query = _filtered(query, kinds, state, group, tag, search)
    query = query.order_by(*group_order(), Monitor.position, Monitor.name, Monitor.id)
    return paginate(query, page, per_page)


def matching_ids(
    kind: str | Iterable[str] | None = None,
    state: str | None = None,
    group: str | None = None,
    tag: str | list[str] | None = None,
    search: str | None = None,
) -> list[int]:
    """The ids of every monitor ``list_monitors`` lists with these filters, on any page, in
    list order: what "select all matching" in a list acts on."""
    kinds = tuple(k for k in ((kind,) if isinstance(kind, str) else kind or ()) if k)
    _check_filters(kinds, state)
    query = sa.select(Monitor.id).outerjoin(Group, Monitor.group_id == Group.id)
    query = _filtered(query, kinds, state, group, tag, search)
    query = query.order_by(*group_order(), Monitor.position, Monitor.name, Monitor.id)
    return list(db.session.execute(query).scalars())


def _check_filters(kinds: tuple[str, ...], state: str | None) -> None:
    errors = {}
    if any(k not in KINDS for k in kinds):
        errors["kind"] = f"Choose one of {', '.join(KINDS)}."
    if state and state not in STATES:
        errors["state"] = f"Choose one of {', '.join(STATES)}."
    if errors:
        raise ValidationError(errors)


def _filtered(query, kinds, state, group, tag, search):
    """``query`` narrowed by the list's filters: one place for the page and its ids."""
    if kinds:
        query = query.where(Monitor.kind.in_(kinds))
    if state:
        query = query.where(Monitor.state == state)
    if group:
        query = query.where(sa.func.lower(Group.name) == fields.search_term(group).lower())
    if tag:
        query = tags.filter_tagged(query, Monitor.id, tags.parse_filter(tag))
    if search and search.strip():
        query = query.where(matching(search, Monitor.name, Monitor.description))
    return query


# --- Building blocks of operations that write many items in one transaction (services/bulk.py,
# services/config/): they change the session and leave the commit, and telling the scheduler
# (``refresh``), to the caller.


def set_paused(monitor: Monitor, paused: bool) -> bool:
    """Pause or resume ``monitor`` as ``pause``/``resume`` do, without committing; False
    when it already was so. Call ``refresh`` after the commit."""
    if monitor.paused == paused:
        return False
    _set_paused(monitor, paused)
    return True


def refresh(kind: str, monitor_id: int) -> None:
    """Tell the scheduler, after the commit, that the monitor (or heartbeat, by ``kind``)
    changed or went."""
    scheduler.refresh("heartbeat" if kind == KIND_HEARTBEAT else "monitor", monitor_id)


def validated(data: Any, current: Monitor | None) -> dict[str, Any]:
    """``data`` judged as ``create`` (``current`` None) or ``update`` would judge it: the clean
    values, or ValidationError with every field's error."""
    return _validate(data, current)


def add(values: dict[str, Any], slug: str, code: str | None = None) -> Monitor:
    """A new monitor from validated values, added to the session: "pending" (a heartbeat
    "new", with ``code`` or a fresh ping code) or "paused"; without ``channels`` it gets the
    channels marked "default for new items"."""
    heartbeat = values.get("kind") == KIND_HEARTBEAT
    paused = values.get("paused", False)
    monitor = Monitor(
        kind=KIND_HTTP,
        paused=paused,
        state=STATE_PAUSED if paused else STATE_NEW if heartbeat else STATE_PENDING,
        state_changed_at=utcnow(),
        slug=slug,
        code=(code or str(uuid.uuid4())) if heartbeat else None,
        push_token=new_push_token() if heartbeat else None,
    )
    if "channels" not in values:
        monitor.channels = channels.defaults()
    db.session.add(_apply(monitor, values))
    return monitor


def assign(monitor: Monitor, values: dict[str, Any]) -> Monitor:
    """Apply validated values to a monitor in the session, as ``update`` does."""
    return _apply(monitor, values)


def remove(monitor: Monitor) -> None:
    """Delete a monitor in the caller's transaction, with what refers to it without a key."""
    rollups.forget(SUBJECT_MONITOR, monitor.id)
    certificate_alerts.forget(SUBJECT_MONITOR, monitor.id)
    db.session.delete(monitor)
