"""Rows to JSON for the native API, in one place: what each object looks like on the wire.

Times are ISO 8601 in UTC with a ``Z``. Passwords for target authentication are write-only
(``auth_password_set`` tells whether one is stored), and so are secret request headers (shown
as ``fields.MASK``, named in ``secret_headers_set``) and a channel's secrets (its webhook
secret: ``secret_set``; the tokens of its Apprise URL: masked). A heartbeat's code and
ping URL are a write credential and appear only for callers holding ``monitors:write``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, overload
from urllib.parse import urlencode

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.models import (
    ApiKey,
    CheckResult,
    CronExecution,
    CronJob,
    Incident,
    IncidentUpdate,
    MaintenanceWindow,
    Monitor,
    NotificationChannel,
    NotificationLog,
    Ping,
    Tag,
)
from app.models.monitor import KIND_DNS, KIND_HEARTBEAT, KIND_PING, KIND_TCP
from app.models.notification import STATUS_PENDING
from app.services import api_keys, bulk, channels, fields, incidents, maintenance, reasons, tags
from app.services.pagination import Page


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@overload
def epoch_ms(moment: datetime) -> int: ...
@overload
def epoch_ms(moment: None) -> None: ...
def epoch_ms(moment: datetime | None) -> int | None:
    """A moment as milliseconds since the epoch (the dialects that speak in them)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def plain(value: Any) -> Any:
    """Datetimes anywhere inside dicts and lists become ISO strings."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _timings(row: CheckResult | CronExecution) -> dict[str, int | None]:
    return {
        "dns_us": row.dns_us,
        "connect_us": row.connect_us,
        "tls_us": row.tls_us,
        "first_byte_us": row.first_byte_us,
        "total_us": row.total_us,
    }


def monitor(row: Monitor, show_code: bool) -> dict[str, Any]:
    data = {
        "id": row.id,
        "uuid": row.uuid,
        "type": row.kind,
        "name": row.name,
        "description": row.description,
        "slug": row.slug,
        "group": row.group.name if row.group else None,
        "public": row.public,
        "paused": row.paused,
        "state": row.state,
        "state_changed_at": iso(row.state_changed_at),
    }
    if row.kind == KIND_HEARTBEAT:
        if show_code:
            data["code"] = row.code
            data["ping_url"] = f"{current_app.config['BASE_URL']}/ping/{row.code}"
            data["push_token"] = row.push_token
            data["push_url"] = f"{current_app.config['BASE_URL']}/api/push/{row.push_token}"
        data |= {
            "period_sec": row.period_sec,
            "cron_expr": row.cron_expr,
            "timezone": row.timezone,
            "grace_sec": row.grace_sec,
            "max_run_sec": row.max_run_sec,
            "min_run_sec": row.min_run_sec,
            "manual_resume": row.manual_resume,
            "notify_late": row.notify_late,
            "last_ping_at": iso(row.last_ping_at),
            "last_start_at": iso(row.last_start_at),
            "last_duration_ms": row.last_duration_ms,
        }
    else:
        if row.kind == KIND_TCP:
            data |= {"host": row.host, "port": row.port, "tls": row.tls}
        elif row.kind == KIND_DNS:
            data |= {
                "host": row.host,
                "record_type": row.record_type,
                "resolver": row.resolver,
                "expected_values": list(row.expected_values or []),
            }
        elif row.kind == KIND_PING:
            data |= {"host": row.host, "packets": row.packets, "max_loss_pct": row.max_loss_pct}
        else:
            data |= {
                **_request(row),
                "expected_status": row.expected_status,
                "follow_redirects": row.follow_redirects,
                "max_redirects": row.max_redirects,
                "keyword": row.keyword,
                "keyword_absent": row.keyword_absent,
                "assertions": list(row.assertions or []),
            }
        if row.kind != KIND_DNS:
            data |= _tls(row)
        data |= {
            "interval_sec": row.interval_sec,
            "timeout_ms": row.timeout_ms,
            "failure_threshold": row.failure_threshold,
            "recovery_threshold": row.recovery_threshold,
            "consecutive_failures": row.consecutive_failures,
            "consecutive_successes": row.consecutive_successes,
            "last_checked_at": iso(row.last_checked_at),
            "last_response_ms": row.last_response_ms,
            "last_error": row.last_error,
            "last_warning": row.last_warning,
            "degraded_after_ms": row.degraded_after_ms,
            "notify_degraded_slow": row.notify_degraded_slow,
            "notify_degraded_certificate": row.notify_degraded_certificate,
        }
    data |= {
        "channels": sorted(channel.id for channel in row.channels),
        "tags": tags.names_of(row),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
    return data


def _request(row: Monitor | CronJob) -> dict[str, Any]:
    """The HTTP request a monitor or cron job makes, its secrets write-only."""
    return {
        "url": row.url,
        "method": row.method,
        "headers": fields.masked_headers(row.headers),
        "secret_headers_set": fields.secret_headers_set(row.headers),
        "body": row.body,
        "auth_username": row.auth_username,
        "auth_password_set": bool(row.auth_password),
    }


def _tls(row: Monitor | CronJob) -> dict[str, Any]:
    """How a monitor or cron job treats TLS, and the certificate its latest handshake saw."""
    return {
        "tls_verify": row.tls_verify,
        "tls_expiry_warn_days": row.tls_expiry_warn_days,
        "tls_expires_at": iso(row.tls_expires_at),
        "tls_subject": row.tls_subject,
        "tls_issuer": row.tls_issuer,
        "tls_sans": list(row.tls_sans) if row.tls_sans is not None else None,
        "tls_fingerprint": row.tls_fingerprint,
    }


def tag(row: Tag, uses: int | None = None) -> dict[str, Any]:
    """A tag; ``uses`` (how many monitors, heartbeats and cron jobs carry it) when counted."""
    data = {"id": row.id, "name": row.name, "colour": row.colour}
    if uses is not None:
        data["uses"] = uses
    return data


def cron_job(row: CronJob) -> dict[str, Any]:
    return {
        "id": row.id,
        "uuid": row.uuid,
        "name": row.name,
        "description": row.description,
        "slug": row.slug,
        "group": row.group.name if row.group else None,
        "public": row.public,
        **_request(row),
        "cron_expr": row.cron_expr,
        "interval_sec": row.interval_sec,
        "timezone": row.timezone,
        "timeout_ms": row.timeout_ms,
        "expected_status": row.expected_status,
        "redirect_success": row.redirect_success,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "expires_at": iso(row.expires_at),
        "save_responses": row.save_responses,
        "auto_disable_after": row.auto_disable_after,
        "notify_on_failure": row.notify_on_failure,
        "notify_failure_after": row.notify_failure_after,
        "notify_on_recovery": row.notify_on_recovery,
        "notify_on_disable": row.notify_on_disable,
        **_tls(row),
        "channels": sorted(channel.id for channel in row.channels),
        "tags": tags.names_of(row),
        "consecutive_failures": row.consecutive_failures,
        "last_run_at": iso(row.last_run_at),
        "last_outcome": row.last_outcome,
        "last_reason": reasons.of_cron_job(row),
        "last_duration_ms": row.last_duration_ms,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def check_result(row: CheckResult) -> dict[str, Any]:
    return {
        "id": row.id,
        "monitor_id": row.monitor_id,
        "planned_at": iso(row.planned_at),
        "started_at": iso(row.started_at),
        "outcome": row.outcome,
        "status_code": row.status_code,
        "error": row.error,
        "warning": row.warning,
        "reason": reasons.of_check(row),
        "maintenance": row.maintenance,
        "timings": _timings(row),
        "echo": _echo(row),
    }


def _echo(row: CheckResult) -> dict[str, Any] | None:
    """A ping check's echo requests and round trips; None for the other kinds."""
    loss = row.loss_pct
    if loss is None:
        return None
    return {
        "packets_sent": row.packets_sent,
        "packets_received": row.packets_received,
        "loss_pct": round(loss, 1),
        "rtt_min_us": row.rtt_min_us,
        "rtt_avg_us": row.rtt_avg_us,
        "rtt_max_us": row.rtt_max_us,
    }


def ping(row: Ping) -> dict[str, Any]:
    return {
        "id": row.id,
        "monitor_id": row.monitor_id,
        "created_at": iso(row.created_at),
        "kind": row.kind,
        "exit_status": row.exit_status,
        "method": row.method,
        "remote_addr": row.remote_addr,
        "user_agent": row.user_agent,
        "body": row.body,
        "body_size": row.body_size,
        "duration_ms": row.duration_ms,
        "rid": row.rid,
        "reason": reasons.of_ping(row),
    }


def execution(row: CronExecution, detail: bool = False) -> dict[str, Any]:
    data = {
        "id": row.id,
        "cron_job_id": row.cron_job_id,
        "execution_uid": row.execution_uid,
        "trigger": row.trigger,
        "planned_at": iso(row.planned_at),
        "started_at": iso(row.started_at),
        "jitter_ms": row.jitter_ms,
        "duration_ms": row.duration_ms,
        "missed_slots": row.missed_slots,
        "outcome": row.outcome,
        "status_code": row.status_code,
        "error": row.error,
        "reason": reasons.of_execution(row),
        "maintenance": row.maintenance,
        "timings": _timings(row),
    }
    if detail:
        data["response_headers"] = row.response_headers
        data["response_body"] = row.response_body
    return data


def maintenance_window(row: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    """A window with its status now and its current and next periods."""
    return {
        "id": row.id,
        "title": row.title,
        "message": row.message,
        "kind": "recurring" if row.recurring else "one_off",
        "starts_at": iso(row.starts_at),
        "ends_at": iso(row.ends_at),
        "cron_expr": row.cron_expr,
        "duration_min": row.duration_min,
        "timezone": row.timezone,
        "status": maintenance.status(row, now),
        "occurrences": [
            {"starts_at": iso(start), "ends_at": iso(end)}
            for start, end in maintenance.periods(row, now)
        ],
        "monitor_ids": [m.id for m in row.monitors],
        "cron_job_ids": [j.id for j in row.cron_jobs],
        "group_ids": [g.id for g in row.groups],
        "tags": tags.names_of(row),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def bulk_result(result: bulk.Result) -> dict[str, Any]:
    """What a bulk action changed and what already was so; for delete, ``changed`` holds
    the deleted ids; for maintenance, ``window_id`` the new window."""
    data: dict[str, Any] = {
        "action": result.action,
        "changed": result.changed,
        "unchanged": result.unchanged,
    }
    if result.window_id is not None:
        data["window_id"] = result.window_id
    return data


def incident_update(row: IncidentUpdate) -> dict[str, Any]:
    author = None
    if row.author is not None:
        author = {"type": "user", "id": row.author.id, "email": row.author.email}
    elif row.api_key is not None:
        author = {"type": "api_key", "id": row.api_key.id, "name": row.api_key.name}
    return {
        "id": row.id,
        "incident_id": row.incident_id,
        "kind": row.kind,
        "message": row.message,
        "author": author,
        "created_at": iso(row.created_at),
    }


def incident(row: Incident, with_updates: bool = False) -> dict[str, Any]:
    subject = row.monitor if row.monitor_id is not None else row.cron_job
    data = {
        "id": row.id,
        "uuid": row.uuid,
        "subject": {
            "type": incidents.subject_type(row),
            "id": row.monitor_id if row.monitor_id is not None else row.cron_job_id,
            "name": subject.name if subject is not None else None,
        },
        "monitor_id": row.monitor_id,
        "cron_job_id": row.cron_job_id,
        "title": row.title,
        "cause": row.cause,
        "status": row.status,
        "started_at": iso(row.started_at),
        "resolved_at": iso(row.resolved_at),
        "updated_at": iso(row.updated_at),
    }
    if with_updates:
        data["updates"] = [incident_update(update) for update in row.updates]
    return data


def api_key(row: ApiKey, now: datetime, show_prefix: bool = True) -> dict[str, Any]:
    """A key, never its secret; ``show_prefix`` False withholds the prefix too (a piece of the
    secret), for callers whose scopes do not cover the key."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix if show_prefix else None,
        "scopes": list(row.scopes),
        "allowed_networks": list(row.allowed_networks or []),
        "rate_limit_per_sec": row.rate_limit_per_sec,
        "daily_quota": row.daily_quota,
        "status": api_keys.status(row, now),
        "expires_at": iso(row.expires_at),
        "revoked_at": iso(row.revoked_at),
        "last_used_at": iso(row.last_used_at),
        "use_count": row.use_count or 0,
        "created_at": iso(row.created_at),
    }


def channel(row: NotificationChannel) -> dict[str, Any]:
    """What the dashboard shows of a channel (``channels.describe``: secrets masked)."""
    return channels.describe(row) | {"created_at": iso(row.created_at)}


def notification(row: NotificationLog) -> dict[str, Any]:
    """A delivery log row with its attempts."""
    return {
        "id": row.id,
        "event": row.event,
        "summary": row.payload.get("summary"),
        "subject": row.payload.get("subject"),
        "channel": {"id": row.channel_id, "name": row.channel_name, "kind": row.channel_kind},
        "status": row.status,
        "attempts": [
            {
                "number": attempt.number,
                "started_at": iso(attempt.started_at),
                "duration_ms": attempt.duration_ms,
                "ok": attempt.ok,
                "error": attempt.error,
            }
            for attempt in row.attempt_log
        ],
        "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at) if row.status == STATUS_PENDING else None,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }


def page_headers(page: Page) -> dict[str, str]:
    """Pagination metadata: X-Total-Count and friends, and a Link header (RFC 8288)."""
    headers = {
        "X-Total-Count": str(page.total),
        "X-Page": str(page.page),
        "X-Per-Page": str(page.per_page),
        "X-Total-Pages": str(page.pages),
    }
    paging = ("page", "per_page", "offset", "limit")
    args = {k: v for k, v in request.args.items() if k not in paging}
    neighbours = []
    if page.page > 1:
        neighbours.append(("prev", page.page - 1))
    if page.offset + page.per_page < page.total:
        neighbours.append(("next", page.page + 1))
    links = []
    for rel, number in neighbours:
        query = urlencode({**args, "page": number, "per_page": page.per_page})
        links.append(f'<{request.base_url}?{query}>; rel="{rel}"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def page_response(page: Page, items: list[dict[str, Any]]) -> ResponseReturnValue:
    """A list as a bare JSON array, its pagination in the headers."""
    return jsonify(items), 200, page_headers(page)
