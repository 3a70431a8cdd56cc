"""The OpenAPI 3.1 document of the native API, served at /api/openapi.json and rendered as
the reference page at /api/docs.

Written by hand next to the routes; a test compares its paths, methods and scopes with the
app's URL map and the scopes the views require, and another runs schemathesis against it, so
the document cannot silently drift from the code.
"""

from __future__ import annotations

from typing import Any

from app.models.channel import KINDS as CHANNEL_KINDS
from app.models.history import OUTCOMES
from app.models.monitor import STATES
from app.models.notification import STATUSES as DELIVERY_STATUSES
from app.services import api_keys, assertions, bulk, channels, history, maintenance, tags
from app.services.monitors import RECORD_TYPES, TIMEOUT_MAX_MS
from app.services.pagination import PER_PAGE_MAX

# Path ids as the routes' converters accept them (PostgreSQL INTEGER and BIGINT keys).
ID_MAX = 2**31 - 1
BIG_ID_MAX = 2**63 - 1

# --- schema helpers ------------------------------------------------------------------------


def _t(kind: str, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"] if nullable else kind, **extra}


def _str(nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return _t("string", nullable, **extra)


def _int(nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return _t("integer", nullable, **extra)


def _bool(**extra: Any) -> dict[str, Any]:
    return _t("boolean", **extra)


def _time(nullable: bool = False) -> dict[str, Any]:
    return _str(nullable, format="date-time")


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(
    properties: dict[str, Any], required: tuple[str, ...] = (), closed: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_MASKING = (
    "Values of secret headers (Authorization, Proxy-Authorization, Cookie, and any name "
    "containing token, secret, key or password, in any case) are write-only: they read as "
    '"\u2022\u2022\u2022\u2022" and are named in secret_headers_set.'
)
_HEADERS = {"type": "object", "additionalProperties": {"type": "string"}, "description": _MASKING}
_HEADERS_WRITABLE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": _str(nullable=True),
    "description": "Request headers: names are RFC 9110 tokens, values latin-1 text without "
    "control characters. The object replaces the stored headers; a header sent back with the "
    'masked value "\u2022\u2022\u2022\u2022" keeps its stored value, one sent as null or '
    "left out is removed.",
}
_SECRET_HEADERS_SET = _array(_str()) | {
    "description": "Names of the headers whose values are stored but read as the mask."
}
_ID = _int(minimum=1)
_UUID = _str(
    format="uuid",
    pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    description="Stable for the life of the item; accepted wherever its id is.",
)
_CHANNEL_IDS = _array(_ID) | {
    "description": "Ids of the notification channels to alert; on create, without it, the "
    "channels marked is_default."
}

_TAG_NAMES = {
    **_array(_str(minLength=1, maxLength=tags.NAME_MAX, pattern="^[^,\\x00-\\x1f\\x7f]+$")),
    "maxItems": tags.PER_ITEM_MAX,
    "description": "Tag names, any case; a name no tag has yet becomes a new tag. The list "
    "replaces the item's tags. One text of names separated by commas is taken too.",
}

_ASSERTION = _object(
    {
        "source": _str(enum=list(assertions.SOURCES)),
        "path": _str(
            nullable=True,
            maxLength=assertions.PATH_MAX,
            description="header: the header's name; json: a JMESPath expression into the "
            "body; null for status, body and response_time_ms.",
        ),
        "op": _str(enum=list(assertions.OPS)),
        "value": {
            "description": "A number for lt, lte, gt, gte and for status and "
            "response_time_ms; text for contains, not_contains and matches (a regular "
            "expression) and for eq/ne on body and header; any JSON value for eq/ne on json; "
            "null or left out for exists and not_exists."
        },
    },
    ("source", "op"),
    closed=True,
)
_ASSERTIONS = {
    **_array(_ASSERTION),
    "maxItems": assertions.ASSERTIONS_MAX,
    "description": "http and keyword: response assertions, all of which must hold (after the "
    "expected status and the keyword). A failed one fails the check as failed_assertion, "
    "naming it and the actual value: json queue.depth = 57, expected lt 10.",
}

# --- schemas -------------------------------------------------------------------------------

_WITHIN = (
    "A key acts only on keys whose scopes are within its own (a wildcard only under the same "
    "wildcard or *); otherwise 403 naming the scopes it lacks. A signed-in admin acts on all."
)
_API_KEY_WRITABLE = {
    "name": _str(minLength=1, maxLength=api_keys.NAME_MAX),
    "scopes": _array(_str(enum=sorted(api_keys.KNOWN_SCOPES))) | {"minItems": 1},
    "expires_at": _time(nullable=True),
    "allowed_networks": _array(_str()) | {"maxItems": api_keys.NETWORKS_MAX},
    "rate_limit_per_sec": _int(minimum=1, maximum=api_keys.RATE_LIMIT_MAX),
    "daily_quota": _int(nullable=True, minimum=1, maximum=api_keys.QUOTA_MAX),
}

_TLS_WRITABLE = {
    "tls_verify": _bool(
        description="https URLs and tcp with tls: false accepts any certificate (self-signed, "
        "expired, for another name) and still records it; true by default."
    ),
    "tls_expiry_warn_days": _int(
        minimum=0,
        maximum=365,
        description="A certificate expiring within this many days is a warning, announced "
        "once per certificate at this threshold and at 7, 3 and 1 days; 0: off; 14 by default.",
    ),
}
_TLS = {
    "tls_verify": _bool(description="Not for dns monitors and heartbeats."),
    "tls_expiry_warn_days": _int(description="Not for dns monitors and heartbeats."),
    "tls_expires_at": _time(nullable=True),
    "tls_subject": _str(nullable=True, description="The certificate's subject, RFC 4514."),
    "tls_issuer": _str(nullable=True, description="Its issuer, RFC 4514."),
    "tls_sans": {
        "type": ["array", "null"],
        "items": _str(),
        "description": "The DNS names and IP addresses it is for.",
    },
    "tls_fingerprint": _str(nullable=True, description="SHA-256 of its DER form, in hex."),
}

_MONITOR_WRITABLE = {
    "type": _str(
        enum=["http", "keyword", "tcp", "dns", "ping"],
        description="Heartbeats are listed, not yet created. http and keyword need url; tcp "
        "needs host and port; dns and ping need host. ping is refused (422 on type) while "
        "the server may send no ICMP: it needs root, CAP_NET_RAW or net.ipv4.ping_group_range.",
    ),
    "name": _str(minLength=1, maxLength=200),
    "name_from_url": _bool(
        description="Name the monitor after its URL, and follow the URL when it changes (how "
        "nameless items made through the CronUptime facade are kept); a new name clears it."
    ),
    "slug": _str(
        pattern="^[a-z0-9_-]{1,100}$",
        description="Made from the name unless given; 409 when another monitor has it.",
    ),
    "description": _str(nullable=True),
    "group": _str(nullable=True, maxLength=100, description="Group name; created on first use."),
    "url": _str(format="uri", maxLength=2048, description="An http:// or https:// URL."),
    "method": _str(enum=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    "headers": _HEADERS_WRITABLE,
    "body": _str(nullable=True),
    "auth_username": _str(nullable=True, maxLength=200),
    "auth_password": _str(nullable=True, maxLength=200, description="Write-only."),
    "interval_sec": _int(minimum=10, maximum=86400),
    "timeout_ms": _int(minimum=100, maximum=60000),
    "expected_status": _str(description="Status codes and ranges, such as 200-299,301."),
    "follow_redirects": _bool(),
    "max_redirects": _int(minimum=0, maximum=10),
    "keyword": _str(nullable=True, maxLength=500),
    "keyword_absent": _bool(),
    "assertions": _ASSERTIONS | {"type": ["array", "null"]},
    "host": _str(
        minLength=1,
        maxLength=253,
        description="tcp: the host name or IP address to connect to. dns: the name to look "
        "up (for PTR also an IP address). ping: the host name or IP address to ping.",
    ),
    "port": _int(minimum=1, maximum=65535, description="tcp: the port to connect to."),
    "tls": _bool(
        description="tcp: also complete a TLS handshake (SNI = host), the certificate "
        "verified against the public CAs and UPCRON_CA_BUNDLE unless tls_verify is false."
    ),
    **_TLS_WRITABLE,
    "record_type": _str(
        enum=list(RECORD_TYPES), description="dns: the record type asked for; A by default."
    ),
    "resolver": _str(
        nullable=True,
        maxLength=64,
        description='dns: the resolver to ask, "ip" or "ip:port" (IPv6 in brackets), which '
        "the target policy must allow; null or empty: the system's resolvers.",
    ),
    "expected_values": {
        **_array(_str(maxLength=500)),
        "maxItems": 50,
        "description": "dns: values that must all be in the answer, compared in any case and "
        "without a trailing dot; empty: any answer with records is up.",
    },
    "packets": _int(
        minimum=1,
        maximum=10,
        description="ping: echo requests per check, one after the other; 3 by default.",
    ),
    "max_loss_pct": _int(
        minimum=0,
        maximum=100,
        description="ping: up while at most this percentage of the packets go unanswered; 0 by "
        "default.",
    ),
    "failure_threshold": _int(minimum=1, maximum=100),
    "recovery_threshold": _int(minimum=1, maximum=100),
    "degraded_after_ms": _int(
        nullable=True,
        minimum=1,
        maximum=TIMEOUT_MAX_MS - 1,
        description="An answer slower than this is a warning: failure_threshold of them in a "
        "row make the monitor degraded. Below timeout_ms; null: never slow.",
    ),
    "notify_degraded_slow": _bool(
        description="Announce degraded (and the return to up) when slowness began it; false "
        "by default."
    ),
    "notify_degraded_certificate": _bool(
        description="Announce degraded (and the return to up) when a certificate expiring "
        "soon began it; true by default."
    ),
    "public": _bool(),
    "paused": _bool(),
    "channels": _CHANNEL_IDS,
    "tags": _TAG_NAMES,
}

_CRON_WRITABLE = {
    "name": _str(minLength=1, maxLength=200),
    "name_from_url": _bool(
        description="Name the item after its URL, and follow the URL when it changes (how "
        "nameless items made through the CronUptime facade are kept); a new name clears it."
    ),
    "description": _str(nullable=True),
    "group": _str(nullable=True, maxLength=100),
    "url": _str(format="uri", maxLength=2048),
    "method": _str(enum=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    "headers": _HEADERS_WRITABLE,
    "body": _str(nullable=True),
    "auth_username": _str(nullable=True, maxLength=200),
    "auth_password": _str(nullable=True, maxLength=200, description="Write-only."),
    "cron_expr": _str(
        nullable=True,
        description="Five fields, such as 0 2 * * *; must produce a run. Give either this or "
        "interval_sec; giving one clears the other.",
    ),
    "interval_sec": _int(
        nullable=True,
        minimum=60,
        maximum=30 * 86400,
        description="Run every so many seconds, counted from the last run (from the creation "
        "before the first), instead of on a cron expression.",
    ),
    "timezone": _str(description="An IANA time zone, such as Europe/Berlin."),
    "timeout_ms": _int(minimum=100, maximum=300000),
    "expected_status": _str(),
    "redirect_success": _bool(),
    "enabled": _bool(),
    "expires_at": _time(nullable=True),
    "save_responses": _bool(),
    "auto_disable_after": _int(minimum=0, maximum=1000, description="0: never."),
    "notify_on_failure": _bool(),
    "notify_failure_after": _int(minimum=1, maximum=1000),
    "notify_on_recovery": _bool(),
    "notify_on_disable": _bool(),
    **_TLS_WRITABLE,
    "public": _bool(),
    "channels": _CHANNEL_IDS,
    "tags": _TAG_NAMES,
}

_CHANNEL_WRITABLE = {
    "name": _str(minLength=1, maxLength=channels.NAME_MAX),
    "enabled": _bool(),
    "is_default": _bool(description="Given to new monitors and cron jobs without channels."),
    "attach_to_all": _bool(description="Also link it to every existing monitor and cron job."),
    "addresses": {
        "description": f"E-mail: up to {channels.ADDRESSES_MAX} addresses, as a list or as "
        "text separated by commas or new lines.",
        "oneOf": [_array(_str(format="email")), _str()],
    },
    "url": _str(
        maxLength=channels.APPRISE_URL_MAX,
        description="Webhook: an http(s) URL. Apprise: any URL Apprise reads, such as "
        "ntfys://ntfy.sh/my-topic; write-only (answers mask its tokens), kept when left out.",
    ),
    "headers": _HEADERS_WRITABLE
    | {"description": "Webhook: custom headers. " + _HEADERS_WRITABLE["description"]},
    "secret": _str(
        nullable=True,
        maxLength=channels.SECRET_MAX,
        description="Webhook: signs each body (X-Upcron-Signature); write-only, kept when left "
        "out, removed by null.",
    ),
}

_TIMING_NAMES = ("dns_us", "connect_us", "tls_us", "first_byte_us", "total_us")
_TIMINGS = _object({name: _int(nullable=True) for name in _TIMING_NAMES}, _TIMING_NAMES)

_ECHO = _object(
    {
        "packets_sent": _int(),
        "packets_received": _int(),
        "loss_pct": _t("number"),
        "rtt_min_us": _int(nullable=True),
        "rtt_avg_us": _int(nullable=True),
        "rtt_max_us": _int(nullable=True),
    },
    ("packets_sent", "packets_received", "loss_pct"),
) | {
    "type": ["object", "null"],
    "description": "Ping checks: echo requests sent and answered, and the round trips of "
    "those answered (the check's whole time is timings.total_us); null for the other kinds.",
}

# An outcome in words (app.services.reasons), beside the machine-readable outcome code.
_REASON = _str(
    description="The outcome in words, as the dashboard and notifications say it: the "
    'recorded error when there is one ("HTTP 500, expected 200-399"), else the outcome '
    "described.",
)
_EXECUTION = {
    "id": _ID,
    "cron_job_id": _ID,
    "execution_uid": _str(),
    "trigger": _str(),
    "planned_at": _time(),
    "started_at": _time(),
    "jitter_ms": _int(),
    "duration_ms": _int(nullable=True),
    "missed_slots": _int(),
    "outcome": _str(enum=list(OUTCOMES)),
    "status_code": _int(nullable=True),
    "error": _str(nullable=True),
    "reason": _REASON,
    "maintenance": _bool(description="Made while a maintenance window covered the job."),
    "timings": _ref("Timings"),
}

_IDS = _array(_int(minimum=1, maximum=ID_MAX))
_MAINTENANCE_WRITABLE = {
    "title": _str(minLength=1, maxLength=maintenance.TITLE_MAX),
    "message": _str(nullable=True, maxLength=maintenance.MESSAGE_MAX),
    "starts_at": _time(nullable=True),
    "ends_at": _time(nullable=True),
    "cron_expr": _str(nullable=True),
    "duration_min": _int(nullable=True, minimum=1, maximum=maintenance.DURATION_MAX_MIN),
    "timezone": _str(),
    "monitor_ids": {**_IDS, "description": "Monitors and heartbeats."},
    "cron_job_ids": _IDS,
    "group_ids": {**_IDS, "description": "Groups: every item in them, as they are then."},
    "tags": {**_TAG_NAMES, "description": "Tags: every item carrying them, as they are then."},
}
_TAG_WRITABLE = {
    "name": _str(
        minLength=1, maxLength=tags.NAME_MAX, description="Unique in any case; no commas."
    ),
    "colour": _str(description="#rrggbb; a new tag without one takes the next palette colour."),
}
_BULK_IDS = _IDS | {"maxItems": bulk.IDS_MAX}
_BULK_ITEMS = _object(
    {"monitor_ids": _array(_ID), "cron_job_ids": _array(_ID)}, ("monitor_ids", "cron_job_ids")
)
_PERIOD = _object({"starts_at": _time(), "ends_at": _time()}, ("starts_at", "ends_at"))

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": _str()}, ("error",)),
    "ValidationError": _object(
        {"error": _str(), "fields": {"type": "object", "additionalProperties": _str()}},
        ("error", "fields"),
    ),
    "Success": _object({"success": _bool()}, ("success",)),
    "Monitor": _object(
        {
            "id": _ID,
            "uuid": _UUID,
            "type": _str(enum=["http", "keyword", "tcp", "dns", "ping", "heartbeat"]),
            "name": _str(),
            "description": _str(),
            "slug": _str(),
            "group": _str(nullable=True),
            "public": _bool(),
            "paused": _bool(),
            "state": _str(enum=list(STATES)),
            "state_changed_at": _time(nullable=True),
            "url": _str(nullable=True),
            "method": _str(),
            "headers": _HEADERS,
            "secret_headers_set": _SECRET_HEADERS_SET,
            "body": _str(nullable=True),
            "auth_username": _str(nullable=True),
            "auth_password_set": _bool(),
            "interval_sec": _int(),
            "timeout_ms": _int(),
            "expected_status": _str(),
            "follow_redirects": _bool(),
            "max_redirects": _int(),
            "keyword": _str(nullable=True),
            "keyword_absent": _bool(),
            "assertions": _ASSERTIONS,
            "host": _str(description="tcp, dns and ping monitors."),
            "port": _int(description="tcp monitors."),
            "tls": _bool(description="tcp monitors."),
            "record_type": _str(enum=list(RECORD_TYPES), description="dns monitors."),
            "resolver": _str(nullable=True, description="dns monitors."),
            "expected_values": {**_array(_str()), "description": "dns monitors."},
            "packets": _int(description="ping monitors."),
            "max_loss_pct": _int(description="ping monitors."),
            **_TLS,
            "failure_threshold": _int(),
            "recovery_threshold": _int(),
            "consecutive_failures": _int(),
            "consecutive_successes": _int(),
            "last_checked_at": _time(nullable=True),
            "last_response_ms": _int(nullable=True),
            "last_error": _str(nullable=True),
            "last_warning": _str(
                nullable=True,
                description="The latest check's warning when it answered with one (degraded), "
                "such as: Answered in 2,340 ms, slower than 1,000 ms.",
            ),
            "degraded_after_ms": _int(nullable=True),
            "notify_degraded_slow": _bool(),
            "notify_degraded_certificate": _bool(),
            "code": _str(nullable=True, description="Heartbeats; only with monitors:write."),
            "ping_url": _str(nullable=True, description="Heartbeats; only with monitors:write."),
            "push_token": _str(
                nullable=True,
                description="Heartbeats' Uptime Kuma push token; only with monitors:write.",
            ),
            "push_url": _str(
                nullable=True,
                description="Heartbeats' Uptime Kuma push URL; only with monitors:write.",
            ),
            "period_sec": _int(nullable=True),
            "cron_expr": _str(nullable=True),
            "timezone": _str(),
            "grace_sec": _int(),
            "max_run_sec": _int(nullable=True),
            "min_run_sec": _int(nullable=True),
            "manual_resume": _bool(),
            "notify_late": _bool(),
            "last_ping_at": _time(nullable=True),
            "last_start_at": _time(nullable=True),
            "last_duration_ms": _int(nullable=True),
            "channels": _array(_ID),
            "tags": _array(_str()),
            "created_at": _time(),
            "updated_at": _time(),
        },
        ("id", "type", "name", "slug", "paused", "state", "channels", "created_at", "updated_at"),
    ),
    "MonitorCreate": _object(_MONITOR_WRITABLE, ("name",), closed=True),
    "MonitorUpdate": _object(_MONITOR_WRITABLE, closed=True),
    "CronJob": _object(
        {
            "id": _ID,
            "uuid": _UUID,
            "name": _str(),
            "description": _str(),
            "slug": _str(),
            "group": _str(nullable=True),
            "public": _bool(),
            "url": _str(),
            "method": _str(),
            "headers": _HEADERS,
            "secret_headers_set": _SECRET_HEADERS_SET,
            "body": _str(nullable=True),
            "auth_username": _str(nullable=True),
            "auth_password_set": _bool(),
            "cron_expr": _str(nullable=True),
            "interval_sec": _int(nullable=True),
            "timezone": _str(),
            "timeout_ms": _int(),
            "expected_status": _str(),
            "redirect_success": _bool(),
            "enabled": _bool(),
            "disabled_reason": _str(nullable=True),
            "expires_at": _time(nullable=True),
            "save_responses": _bool(),
            "auto_disable_after": _int(),
            "notify_on_failure": _bool(),
            "notify_failure_after": _int(),
            "notify_on_recovery": _bool(),
            "notify_on_disable": _bool(),
            **_TLS,
            "channels": _array(_ID),
            "tags": _array(_str()),
            "consecutive_failures": _int(),
            "last_run_at": _time(nullable=True),
            "last_outcome": _str(nullable=True),
            "last_reason": _str(
                nullable=True, description="Why the job is failing, in words; null when it is not."
            ),
            "last_duration_ms": _int(nullable=True),
            "created_at": _time(),
            "updated_at": _time(),
        },
        (
            "id",
            "name",
            "url",
            "method",
            "cron_expr",
            "timezone",
            "enabled",
            "channels",
            "created_at",
        ),
    ),
    "CronJobCreate": _object(_CRON_WRITABLE, ("name", "url"), closed=True),
    "CronJobUpdate": _object(_CRON_WRITABLE, closed=True),
    "Timings": _TIMINGS,
    "CheckResult": _object(
        {
            "id": _ID,
            "monitor_id": _ID,
            "planned_at": _time(),
            "started_at": _time(),
            "outcome": _str(enum=list(OUTCOMES)),
            "status_code": _int(nullable=True),
            "error": _str(nullable=True),
            "warning": _str(
                nullable=True,
                description="A successful check's warning (a degraded answer), such as: "
                "Answered in 2,340 ms, slower than 1,000 ms.",
            ),
            "reason": _REASON,
            "maintenance": _bool(description="Made while a maintenance window covered it."),
            "timings": _ref("Timings"),
            "echo": _ECHO,
        },
        ("id", "monitor_id", "started_at", "outcome", "timings"),
    ),
    "MaintenanceWindow": _object(
        _MAINTENANCE_WRITABLE
        | {
            "id": _ID,
            "message": _str(),
            "kind": _str(enum=["one_off", "recurring"]),
            "status": _str(enum=["scheduled", "active", "ended"]),
            "occurrences": {
                **_array(_PERIOD),
                "description": "The current period, if any, and the next ones (up to 5).",
            },
            "created_at": _time(),
            "updated_at": _time(),
        },
        ("id", "title", "kind", "status", "occurrences", "monitor_ids", "cron_job_ids"),
    ),
    "Tag": _object(
        {
            "id": _ID,
            "name": _str(),
            "colour": _str(pattern="^#[0-9a-f]{6}$"),
            "uses": _int(description="Monitors, heartbeats and cron jobs carrying it (lists)."),
        },
        ("id", "name", "colour"),
    ),
    "TagCreate": _object(_TAG_WRITABLE, ("name",), closed=True),
    "TagUpdate": _object(_TAG_WRITABLE, closed=True),
    "MaintenanceCreate": _object(_MAINTENANCE_WRITABLE, ("title",), closed=True),
    "BulkAction": _object(
        {
            "action": _str(enum=list(bulk.ACTIONS)),
            "monitor_ids": _BULK_IDS | {"description": "Monitors and heartbeats."},
            "cron_job_ids": _BULK_IDS,
            "tags": _TAG_NAMES
            | {
                "description": "tag and untag only: the tag names to add (a new name becomes "
                "a tag) or to remove, any case.",
            },
            "channel_ids": _CHANNEL_IDS
            | {"description": "set_channels only: the channels that replace each item's."},
            "minutes": _int(
                minimum=1,
                maximum=maintenance.NOW_MAX_MIN,
                description="maintenance only: how long the window from now lasts.",
            ),
        },
        ("action",),
        closed=True,
    ),
    "BulkResult": _object(
        {
            "action": _str(enum=list(bulk.ACTIONS)),
            "changed": _BULK_ITEMS,
            "unchanged": _BULK_ITEMS,
            "window_id": _ID | {"description": "maintenance: the new window."},
        },
        ("action", "changed", "unchanged"),
    ),
    "MaintenanceUpdate": _object(_MAINTENANCE_WRITABLE, closed=True),
    "Ping": _object(
        {
            "id": _ID,
            "monitor_id": _ID,
            "created_at": _time(),
            "kind": _str(enum=["success", "start", "fail", "log"]),
            "exit_status": _int(nullable=True),
            "method": _str(),
            "remote_addr": _str(nullable=True),
            "user_agent": _str(nullable=True),
            "body": _str(nullable=True),
            "body_size": _int(),
            "duration_ms": _int(nullable=True),
            "rid": _str(nullable=True, description="The run id the ping came with (?rid=)."),
            "reason": _REASON,
        },
        ("id", "monitor_id", "created_at", "kind", "method", "body_size"),
    ),
    "Execution": _object(_EXECUTION, ("id", "cron_job_id", "started_at", "outcome", "timings")),
    "ExecutionDetail": _object(
        _EXECUTION
        | {
            "response_headers": {"type": ["object", "null"], "additionalProperties": _str()},
            "response_body": _str(nullable=True),
        },
        ("id", "cron_job_id", "started_at", "outcome", "timings", "response_body"),
    ),
    "RunQueued": _object(
        {"cron_job_id": _ID, "status": _str(enum=["queued"]), "planned_at": _time()},
        ("cron_job_id", "status", "planned_at"),
    ),
    "NextRuns": _object({"next_runs": _array(_time())}, ("next_runs",)),
    "Uptime": _object(
        {window: _t("number", nullable=True) for window in ("24h", "7d", "30d", "90d")},
        ("24h", "7d", "30d", "90d"),
    ),
    "IncidentSubject": _object(
        {"type": _str(enum=["monitor", "cron_job"]), "id": _ID, "name": _str(nullable=True)},
        ("type", "id", "name"),
    ),
    "Incident": _object(
        {
            "id": _ID,
            "uuid": _UUID,
            "subject": _ref("IncidentSubject"),
            "monitor_id": _int(nullable=True),
            "cron_job_id": _int(nullable=True),
            "title": _str(),
            "cause": _str(nullable=True),
            "status": _str(enum=["open", "resolved"]),
            "started_at": _time(),
            "resolved_at": _time(nullable=True),
            "updated_at": _time(),
        },
        ("id", "subject", "title", "status", "started_at", "resolved_at"),
    ),
    "IncidentDetail": {
        "allOf": [
            _ref("Incident"),
            _object({"updates": _array(_ref("IncidentUpdate"))}, ("updates",)),
        ]
    },
    "IncidentUpdate": _object(
        {
            "id": _ID,
            "incident_id": _ID,
            "kind": _str(enum=["started", "comment", "resolved", "reopened"]),
            "message": _str(),
            "author": {
                "oneOf": [
                    {"type": "null"},
                    _object(
                        {"type": _str(enum=["user"]), "id": _ID, "email": _str()},
                        ("type", "id", "email"),
                    ),
                    _object(
                        {"type": _str(enum=["api_key"]), "id": _ID, "name": _str()},
                        ("type", "id", "name"),
                    ),
                ]
            },
            "created_at": _time(),
        },
        ("id", "incident_id", "kind", "message", "author", "created_at"),
    ),
    "IncidentList": _object(
        {
            "incidents": _array(_ref("Incident")),
            "total": _int(minimum=0),
            "page": _int(minimum=1),
            "per_page": _int(minimum=1),
            "pages": _int(minimum=1),
            "limit": _int(minimum=1),
            "offset": _int(minimum=0),
        },
        ("incidents", "total", "limit", "offset"),
    ),
    "IncidentChange": {
        "description": 'Either {"status": "resolved"|"open"} or CronUptime\'s '
        '{"action": "resolve"|"reopen"}.',
        "oneOf": [
            _object({"status": _str(enum=["open", "resolved"])}, ("status",), closed=True),
            _object({"action": _str(enum=["resolve", "reopen"])}, ("action",), closed=True),
        ],
    },
    "IncidentNote": _object(
        {"message": _str(minLength=1, maxLength=5000)}, ("message",), closed=True
    ),
    "Retention": _object(
        {"ttl_seconds": _int(), "unlimited": _bool()}, ("ttl_seconds", "unlimited")
    ),
    "RetentionChange": _object(
        {
            "ttl_seconds": _int(minimum=history.TTL_MIN, maximum=history.TTL_MAX),
            "unlimited": _bool(),
        },
        closed=True,
    ),
    "StatusPageSettings": _object(
        {
            "title": _str(),
            "description": _str(),
            "logo_url": _str(nullable=True),
            "footer": _str(),
            "group_sections": _bool(),
            "show_response_times": _bool(),
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": _str(enum=["monitor", "cron_job"]),
                        "id": _ID,
                        "name": _str(),
                        "slug": _str(),
                        "group": _str(nullable=True),
                        "public": _bool(),
                        "position": _int(),
                    },
                },
            },
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": _ID, "name": _str(), "position": _int()},
                },
            },
        },
        ("title", "items", "groups"),
    ),
    "StatusPageChange": {
        "type": "object",
        "description": "Any of the settings; items: [{type, id, public?, position?}]; "
        "groups: [{id, position}].",
    },
    "ConfigDocument": {
        "type": "object",
        "description": "A configuration document: groups, tags, channels, monitors, heartbeats, "
        "cron jobs, maintenance windows and status page settings, by slug, name or title. Its "
        "JSON Schema is served at /api/export.schema.json; docs/configuration.md explains it.",
    },
    "ImportResult": _object(
        {
            "applied": _bool(description="False for a dry run: nothing was written."),
            "plan": _object(
                {
                    action: _array(
                        _object(
                            {
                                "section": _str(),
                                "name": _str(),
                                "fields": _array(_str()),
                            },
                            ("section", "name"),
                        )
                    )
                    for action in ("create", "update", "delete", "unchanged")
                },
                ("create", "update", "delete", "unchanged"),
            ),
            "skipped": _array(
                _object({"name": _str(), "kind": _str(), "reason": _str()}, ("name", "reason"))
            )
            | {"description": "What converting another tool's export could not carry over."},
            "warnings": _array(
                _object({"name": _str(), "kind": _str(), "message": _str()}, ("name", "message"))
            )
            | {"description": "What it carried over differently (a value moved into range…)."},
        },
        ("applied", "plan", "skipped", "warnings"),
    ),
    "HistoryCleared": _object(
        {
            "success": _bool(),
            "deleted": {"type": "object", "additionalProperties": _int(minimum=0)},
        },
        ("success", "deleted"),
    ),
    "ApiKey": _object(
        {
            "id": _ID,
            "name": _str(),
            "prefix": _str(
                nullable=True,
                description="The secret's first characters; null when the calling key's "
                "scopes do not cover this key's.",
            ),
            "scopes": _array(_str()),
            "allowed_networks": _array(_str()),
            "rate_limit_per_sec": _int(minimum=1),
            "daily_quota": _int(nullable=True),
            "status": _str(enum=["active", "revoked", "expired"]),
            "expires_at": _time(nullable=True),
            "revoked_at": _time(nullable=True),
            "last_used_at": _time(nullable=True),
            "use_count": _int(minimum=0),
            "created_at": _time(),
        },
        ("id", "name", "prefix", "scopes", "status", "use_count", "created_at"),
    ),
    "ApiKeyCreated": {
        "allOf": [
            _ref("ApiKey"),
            _object(
                {"key": _str(pattern="^upk_", description="The secret; shown only here.")},
                ("key",),
            ),
        ]
    },
    "ApiKeyCreate": _object(_API_KEY_WRITABLE, ("name", "scopes"), closed=True),
    "ApiKeyUpdate": _object(_API_KEY_WRITABLE, closed=True),
    "RedisStatus": _object(
        {
            "ok": _bool(),
            "latency_ms": _t("number"),
            "version": _str(nullable=True),
            "error": _str(),
        },
        ("ok",),
    ),
    "System": _object(
        {
            "database": _str(),
            "redis": _ref("RedisStatus"),
            "workers": _array(
                _object(
                    {
                        "name": _str(),
                        "hostname": _str(nullable=True),
                        "pid": _int(nullable=True),
                        "state": _str(),
                        "queues": _array(_str()),
                        "current_job": {
                            "type": ["object", "null"],
                            "properties": {"id": _str()},
                        },
                        "last_heartbeat": _time(nullable=True),
                        "started_at": _time(nullable=True),
                        "successful_jobs": _int(),
                        "failed_jobs": _int(),
                    },
                    ("name", "state", "current_job"),
                )
            ),
            "queues": {
                "type": "object",
                "additionalProperties": _object(
                    {"queued": _int(), "started": _int(), "failed": _int()},
                    ("queued", "started", "failed"),
                ),
            },
            "scheduler": {
                "type": ["object", "null"],
                "properties": {
                    "leader": _str(nullable=True),
                    "last_tick": _time(nullable=True),
                    "due": _int(),
                    "pending": _int(),
                },
            },
        },
        ("database", "redis", "workers", "queues", "scheduler"),
    ),
    "SetupStatus": _object({"completed": _bool()}, ("completed",)),
    "NotificationChannel": _object(
        {
            "id": _ID,
            "name": _str(),
            "kind": _str(enum=list(CHANNEL_KINDS)),
            "enabled": _bool(),
            "is_default": _bool(),
            "addresses": _array(_str()) | {"description": "E-mail channels."},
            "url": _str(description="Webhook: the URL. Apprise: the URL with its tokens masked."),
            "headers": _HEADERS | {"description": "Webhook channels. " + _MASKING},
            "secret_headers_set": _SECRET_HEADERS_SET,
            "secret_set": _bool(description="Webhook channels: whether bodies are signed."),
            "created_at": _time(),
        },
        ("id", "name", "kind", "enabled", "is_default", "created_at"),
    ),
    "NotificationChannelCreate": _object(
        _CHANNEL_WRITABLE | {"kind": _str(enum=list(CHANNEL_KINDS))},
        ("name", "kind"),
        closed=True,
    ),
    "NotificationChannelUpdate": _object(_CHANNEL_WRITABLE, closed=True),
    "ChannelTestResult": _object(
        {
            "ok": _bool(),
            "error": _str(nullable=True),
            "duration_ms": _int(minimum=0),
            "log_id": _ID,
        },
        ("ok", "error", "duration_ms", "log_id"),
    ),
    "Notification": _object(
        {
            "id": _ID,
            "event": _str(description="monitor.down, cron_job.failed, incident.resolved, test…"),
            "summary": _str(nullable=True),
            "subject": {
                "type": ["object", "null"],
                "properties": {
                    "type": _str(enum=["monitor", "cron_job", "channel"]),
                    "id": _int(nullable=True),
                    "name": _str(),
                },
            },
            "channel": _object(
                {"id": _int(nullable=True), "name": _str(), "kind": _str()},
                ("id", "name", "kind"),
            ),
            "status": _str(enum=list(DELIVERY_STATUSES)),
            "attempts": _array(
                _object(
                    {
                        "number": _int(minimum=1),
                        "started_at": _time(),
                        "duration_ms": _int(minimum=0),
                        "ok": _bool(),
                        "error": _str(nullable=True),
                    },
                    ("number", "started_at", "duration_ms", "ok", "error"),
                )
            ),
            "last_error": _str(nullable=True),
            "next_attempt_at": _time(nullable=True),
            "created_at": _time(),
            "sent_at": _time(nullable=True),
        },
        ("id", "event", "channel", "status", "attempts", "created_at", "sent_at"),
    ),
}

# --- parameters ----------------------------------------------------------------------------


def _path(name: str, description: str, maximum: int = ID_MAX) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": _int(minimum=1, maximum=maximum),
    }


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


_TAG_FILTER = _query(
    "tag",
    _array(_str()),
    "A tag name, any case; repeat it (or separate names with commas) to list only items "
    "carrying every one of them.",
)
_TAG_ID = _path("tag_id", "The tag's id.")
_PAGE = [
    _query("page", _int(minimum=1, maximum=1_000_000), "Page number, from 1."),
    _query("per_page", _int(minimum=1, maximum=PER_PAGE_MAX), "Items per page (default 50)."),
]


def _ref_path(name: str, item: str) -> dict[str, Any]:
    """An item addressed by its integer id or by its stable uuid."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {item}'s id, or its uuid.",
        "schema": {"oneOf": [_int(minimum=1, maximum=ID_MAX), _UUID]},
    }


_MONITOR_ID = _ref_path("monitor_id", "monitor")
_CRON_JOB_ID = _ref_path("cron_job_id", "cron job")
_INCIDENT_ID = _ref_path("incident_id", "incident")
_CHANNEL_ID = _path("channel_id", "The channel's id.")
_WINDOW_ID = _path("window_id", "The maintenance window's id.")

_LIST_HEADERS = {
    "X-Total-Count": {"description": "Items in the whole list.", "schema": _int()},
    "X-Page": {"description": "This page's number.", "schema": _int()},
    "X-Per-Page": {"description": "Items per page.", "schema": _int()},
    "X-Total-Pages": {"description": "Pages in the list.", "schema": _int()},
    "Link": {"description": 'rel="prev" and rel="next" page URLs.', "schema": _str()},
}

# --- operations ----------------------------------------------------------------------------

_ERRORS = {
    400: "Malformed JSON or an empty body where one is needed.",
    401: "Missing, unknown, revoked or expired key.",
    403: "The key lacks the scope, or is used from an address outside its allowlist.",
    404: "No such object.",
    409: "The change conflicts with the current state.",
    413: "Body over 1 MiB (5 MB for an import).",
    415: "Body not sent as application/json.",
    422: "Validation failed; `fields` names each bad field.",
    429: "Rate limit or daily quota exceeded (see Retry-After).",
    503: "A dependency (Redis) is unavailable.",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _op(
    summary: str,
    tag: str,
    *,
    scope: str | None,
    ok: tuple[int, str, dict[str, Any]],
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    errors: tuple[int, ...] = (),
    description: str = "",
    listing: bool = False,
) -> dict[str, Any]:
    status, ok_description, ok_schema = ok
    success: dict[str, Any] = {"description": ok_description, "content": _json(ok_schema)}
    if listing:
        success["headers"] = _LIST_HEADERS
    responses: dict[str, Any] = {str(status): success}
    codes = set(errors)
    if scope:
        codes |= {401, 403, 429}
    if body:
        codes |= {400, 413, 415, 422}
    for code in sorted(codes):
        schema = _ref("ValidationError") if code == 422 else _ref("Error")
        responses[str(code)] = {"description": _ERRORS[code], "content": _json(schema)}
    responses["default"] = {"description": "Any other error.", "content": _json(_ref("Error"))}
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "operationId": "",  # filled in by document()
        "responses": responses,
        "x-required-scope": scope,
    }
    if description:
        operation["description"] = description
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {"required": True, "content": _json(_ref(body))}
    if scope:
        operation["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
    else:
        operation["security"] = []
    return operation


def _export() -> dict[str, Any]:
    operation = _op(
        "Export the whole configuration as one document",
        "Settings",
        scope="settings:read",
        ok=(200, "The document, in JSON or YAML.", _ref("ConfigDocument")),
        params=[
            _query("format", _str(enum=["json", "yaml"]), "json (the default) or yaml."),
            _query(
                "with_secrets",
                _str(enum=["0", "1"]),
                "1: include passwords, secret headers and channel secrets (settings:write).",
            ),
        ],
        errors=(422,),
    )
    operation["responses"]["200"]["content"]["application/yaml"] = {
        "schema": _ref("ConfigDocument")
    }
    return operation


def _import() -> dict[str, Any]:
    operation = _op(
        "Import a configuration document: plan it, and apply it unless a dry run",
        "Settings",
        scope="settings:write",
        ok=(200, "The plan, and whether it was applied.", _ref("ImportResult")),
        params=[
            _query("dry_run", _str(enum=["0", "1"]), "1: return the plan, change nothing."),
            _query("prune", _str(enum=["0", "1"]), "1: delete what the document leaves out."),
            _query(
                "source",
                _str(enum=["upcron", "uptime-kuma", "healthchecks"]),
                "Whose file the body is; anything but upcron is converted first.",
            ),
        ],
        body="ConfigDocument",
        errors=(409,),
        description="The body is the file itself: an Upcron document as JSON (or as YAML with "
        "Content-Type: application/yaml), up to 5 MB, or with `source` another tool's export. "
        "Items are matched by slug, name or title; every invalid item is listed in `fields` "
        "(422) and nothing is written.",
    )
    content = operation["requestBody"]["content"]
    content["application/yaml"] = {"schema": _str()}
    content["application/octet-stream"] = {"schema": _str(format="binary")}
    return operation


def _paths() -> dict[str, dict[str, Any]]:
    monitor = _ref("Monitor")
    cron_job = _ref("CronJob")
    channel = _ref("NotificationChannel")
    window = _ref("MaintenanceWindow")
    tag = _ref("Tag")
    return {
        "/api/monitors": {
            "get": _op(
                "List monitors",
                "Monitors",
                scope="monitors:read",
                ok=(200, "A page of monitors, as a bare array.", _array(monitor)),
                params=[
                    _query(
                        "type", _str(enum=["http", "keyword", "tcp", "dns", "ping", "heartbeat"])
                    ),
                    _query("state", _str(enum=list(STATES))),
                    _query("group", _str(), "A group name, any case."),
                    _TAG_FILTER,
                    _query("search", _str(), "Matches name or description."),
                    *_PAGE,
                ],
                errors=(422,),
                listing=True,
            ),
            "post": _op(
                "Create a monitor",
                "Monitors",
                scope="monitors:write",
                ok=(201, "The new monitor.", monitor),
                body="MonitorCreate",
                errors=(409,),
            ),
        },
        "/api/monitors/{monitor_id}": {
            "parameters": [_MONITOR_ID],
            "get": _op(
                "Get a monitor",
                "Monitors",
                scope="monitors:read",
                ok=(200, "The monitor.", monitor),
                errors=(404,),
            ),
            "put": _op(
                "Update a monitor (partial)",
                "Monitors",
                scope="monitors:write",
                ok=(200, "The monitor after the change.", monitor),
                body="MonitorUpdate",
                errors=(404, 409),
                description="Send only the fields to change.",
            ),
            "delete": _op(
                "Delete a monitor with its history",
                "Monitors",
                scope="monitors:write",
                ok=(200, "Deleted.", _ref("Success")),
                errors=(404,),
            ),
        },
        "/api/monitors/{monitor_id}/pause": {
            "parameters": [_MONITOR_ID],
            "post": _op(
                "Pause a monitor",
                "Monitors",
                scope="monitors:write",
                ok=(200, "The paused monitor.", monitor),
                errors=(404,),
            ),
        },
        "/api/monitors/{monitor_id}/resume": {
            "parameters": [_MONITOR_ID],
            "post": _op(
                "Resume a paused monitor",
                "Monitors",
                scope="monitors:write",
                ok=(200, "The monitor, pending its next check.", monitor),
                errors=(404,),
            ),
        },
        "/api/monitors/{monitor_id}/history": {
            "parameters": [_MONITOR_ID],
            "get": _op(
                "A monitor's check results, newest first",
                "Monitors",
                scope="monitors:read",
                ok=(200, "A page of check results.", _array(_ref("CheckResult"))),
                params=[
                    _query("start", _time(), "Only checks started at or after this moment."),
                    _query("end", _time(), "Only checks started before this moment."),
                    *_PAGE,
                ],
                errors=(404, 422),
                listing=True,
            ),
        },
        "/api/monitors/{monitor_id}/uptime": {
            "parameters": [_MONITOR_ID],
            "get": _op(
                "A monitor's uptime over 24 hours, 7, 30 and 90 days",
                "Monitors",
                scope="monitors:read",
                ok=(200, "Percent of successful checks; null without checks.", _ref("Uptime")),
                errors=(404,),
            ),
        },
        "/api/monitors/{monitor_id}/pings": {
            "parameters": [_MONITOR_ID],
            "get": _op(
                "A heartbeat's pings, newest first, with their bodies",
                "Monitors",
                scope="monitors:read",
                ok=(200, "A page of pings.", _array(_ref("Ping"))),
                params=[*_PAGE],
                errors=(404, 422),
                listing=True,
            ),
        },
        "/api/monitors/{monitor_id}/regenerate-code": {
            "parameters": [_MONITOR_ID],
            "post": _op(
                "Give a heartbeat a new ping code (the old ping URL stops working)",
                "Monitors",
                scope="monitors:write",
                ok=(200, "The heartbeat with its new code and ping URL.", monitor),
                errors=(404, 409),
            ),
        },
        "/api/cron-jobs": {
            "get": _op(
                "List cron jobs",
                "Cron jobs",
                scope="cron-jobs:read",
                ok=(200, "A page of cron jobs, as a bare array.", _array(cron_job)),
                params=[
                    _query("enabled", _bool()),
                    _query("group", _str()),
                    _TAG_FILTER,
                    _query("search", _str()),
                    *_PAGE,
                ],
                errors=(422,),
                listing=True,
            ),
            "post": _op(
                "Create a cron job",
                "Cron jobs",
                scope="cron-jobs:write",
                ok=(201, "The new cron job.", cron_job),
                body="CronJobCreate",
            ),
        },
        "/api/cron-jobs/{cron_job_id}": {
            "parameters": [_CRON_JOB_ID],
            "get": _op(
                "Get a cron job",
                "Cron jobs",
                scope="cron-jobs:read",
                ok=(200, "The cron job.", cron_job),
                errors=(404,),
            ),
            "put": _op(
                "Update a cron job (partial)",
                "Cron jobs",
                scope="cron-jobs:write",
                ok=(200, "The cron job after the change.", cron_job),
                body="CronJobUpdate",
                errors=(404, 409),
            ),
            "delete": _op(
                "Delete a cron job with its executions",
                "Cron jobs",
                scope="cron-jobs:write",
                ok=(200, "Deleted.", _ref("Success")),
                errors=(404,),
            ),
        },
        "/api/cron-jobs/{cron_job_id}/run": {
            "parameters": [_CRON_JOB_ID],
            "post": _op(
                "Run a cron job now, outside its schedule",
                "Cron jobs",
                scope="cron-jobs:write",
                ok=(202, "Queued for a worker.", _ref("RunQueued")),
                errors=(404, 503),
            ),
        },
        "/api/cron-jobs/{cron_job_id}/executions": {
            "parameters": [_CRON_JOB_ID],
            "get": _op(
                "A cron job's executions, newest first",
                "Cron jobs",
                scope="cron-jobs:read",
                ok=(200, "A page of executions.", _array(_ref("Execution"))),
                params=_PAGE,
                errors=(404, 422),
                listing=True,
            ),
        },
        "/api/cron-jobs/{cron_job_id}/executions/{execution_id}": {
            "parameters": [_CRON_JOB_ID, _path("execution_id", "The execution's id.", BIG_ID_MAX)],
            "get": _op(
                "One execution with its response headers, body and timings",
                "Cron jobs",
                scope="cron-jobs:read",
                ok=(200, "The execution.", _ref("ExecutionDetail")),
                errors=(404,),
            ),
        },
        "/api/cron-jobs/{cron_job_id}/next-runs": {
            "parameters": [_CRON_JOB_ID],
            "get": _op(
                "A cron job's coming run times",
                "Cron jobs",
                scope="cron-jobs:read",
                ok=(200, "Empty while the job is disabled or expired.", _ref("NextRuns")),
                params=[_query("count", _int(minimum=1, maximum=20), "How many (default 5).")],
                errors=(404, 422),
            ),
        },
        "/api/incidents": {
            "get": _op(
                "List incidents, newest first",
                "Incidents",
                scope="incidents:read",
                ok=(200, "A page of incidents with the total.", _ref("IncidentList")),
                params=[
                    _query("status", _str(enum=["open", "resolved", "ongoing", "all"])),
                    _query("type", _str(enum=["monitor", "cron_job", "cron", "all"])),
                    _query("monitor_id", _int(minimum=1, maximum=ID_MAX)),
                    _query("cron_job_id", _int(minimum=1, maximum=ID_MAX)),
                    *_PAGE,
                    _query("limit", _int(minimum=1, maximum=PER_PAGE_MAX), "Alias of per_page."),
                    _query("offset", _int(minimum=0, maximum=1_000_000_000), "Rows to skip."),
                ],
                errors=(422,),
                listing=True,
            ),
        },
        "/api/incidents/{incident_id}": {
            "parameters": [_INCIDENT_ID],
            "get": _op(
                "Get an incident with its timeline",
                "Incidents",
                scope="incidents:read",
                ok=(200, "The incident.", _ref("IncidentDetail")),
                errors=(404,),
            ),
            "patch": _op(
                "Resolve or reopen an incident",
                "Incidents",
                scope="incidents:write",
                ok=(200, "The incident after the change.", _ref("IncidentDetail")),
                body="IncidentChange",
                errors=(404, 409),
            ),
        },
        "/api/incidents/{incident_id}/updates": {
            "parameters": [_INCIDENT_ID],
            "post": _op(
                "Add a message to an incident's timeline",
                "Incidents",
                scope="incidents:write",
                ok=(201, "The new timeline entry.", _ref("IncidentUpdate")),
                body="IncidentNote",
                errors=(404,),
            ),
        },
        "/api/maintenance": {
            "get": _op(
                "List maintenance windows, latest start first",
                "Maintenance",
                scope="maintenance:read",
                ok=(200, "A page of windows, as a bare array.", _array(window)),
                params=_PAGE,
                errors=(422,),
                listing=True,
            ),
            "post": _op(
                "Create a maintenance window",
                "Maintenance",
                scope="maintenance:write",
                ok=(201, "The new window.", window),
                body="MaintenanceCreate",
                description="One-off: starts_at and ends_at. Recurring: cron_expr, duration_min "
                "and timezone. At least one of monitor_ids, cron_job_ids, group_ids.",
            ),
        },
        "/api/maintenance/{window_id}": {
            "parameters": [_WINDOW_ID],
            "get": _op(
                "Get a maintenance window",
                "Maintenance",
                scope="maintenance:read",
                ok=(200, "The window.", window),
                errors=(404,),
            ),
            "put": _op(
                "Update a maintenance window (partial; null clears a field)",
                "Maintenance",
                scope="maintenance:write",
                ok=(200, "The window after the change.", window),
                body="MaintenanceUpdate",
                errors=(404,),
            ),
            "delete": _op(
                "Delete a maintenance window",
                "Maintenance",
                scope="maintenance:write",
                ok=(200, "Deleted.", _ref("Success")),
                errors=(404,),
            ),
        },
        "/api/bulk": {
            "post": _op(
                "Apply one action to many monitors, heartbeats and cron jobs",
                "Bulk",
                scope="monitors:write",
                ok=(200, "What changed and what already was so.", _ref("BulkResult")),
                body="BulkAction",
                description="Actions: pause, resume (cron jobs: disable, enable), delete, "
                "tag and untag (tags), set_channels (channel_ids), maintenance (minutes: one "
                "window from now covering exactly these items). Needs monitors:write for "
                "monitor_ids, cron-jobs:write for cron_job_ids and maintenance:write for "
                "maintenance. Everything is checked first (unknown ids are named in a 422 "
                "and nothing changes), then applied in one transaction.",
            ),
        },
        "/api/tags": {
            "get": _op(
                "List every tag with how many items carry it",
                "Tags",
                scope="tags:read",
                ok=(200, "Every tag, by name.", _array(tag)),
            ),
            "post": _op(
                "Create a tag",
                "Tags",
                scope="tags:write",
                ok=(201, "The new tag.", tag),
                body="TagCreate",
                errors=(409,),
            ),
        },
        "/api/tags/{tag_id}": {
            "parameters": [_TAG_ID],
            "get": _op(
                "Get a tag", "Tags", scope="tags:read", ok=(200, "The tag.", tag), errors=(404,)
            ),
            "put": _op(
                "Rename or recolour a tag (partial)",
                "Tags",
                scope="tags:write",
                ok=(200, "The tag after the change.", tag),
                body="TagUpdate",
                errors=(404,),
            ),
            "delete": _op(
                "Delete a tag; the items carrying it stay",
                "Tags",
                scope="tags:write",
                ok=(200, "Deleted.", _ref("Success")),
                errors=(404,),
            ),
        },
        "/api/settings/history": {
            "get": _op(
                "How long raw history is kept",
                "Settings",
                scope="settings:read",
                ok=(200, "The retention.", _ref("Retention")),
            ),
            "put": _op(
                "Change the history retention (partial)",
                "Settings",
                scope="settings:write",
                ok=(200, "The retention now in force.", _ref("Retention")),
                body="RetentionChange",
            ),
        },
        "/api/settings/status-page": {
            "get": _op(
                "The public status page's settings, items and group order",
                "Settings",
                scope="settings:read",
                ok=(200, "The settings.", _ref("StatusPageSettings")),
            ),
            "put": _op(
                "Change the status page's settings, public items and order (partial)",
                "Settings",
                scope="settings:write",
                ok=(200, "The settings now in force.", _ref("StatusPageSettings")),
                body="StatusPageChange",
                errors=(422,),
            ),
        },
        "/api/export": {"get": _export()},
        "/api/export.schema.json": {
            "get": _op(
                "The JSON Schema of configuration documents",
                "Settings",
                scope=None,
                ok=(200, "JSON Schema (2020-12).", {"type": "object"}),
            ),
        },
        "/api/import": {"post": _import()},
        "/api/history": {
            "delete": _op(
                "Delete all check, execution and ping history",
                "Settings",
                scope="settings:write",
                ok=(200, "Rows deleted per table.", _ref("HistoryCleared")),
            ),
        },
        "/api/api-keys": {
            "get": _op(
                "List API keys (never their secrets)",
                "API keys",
                scope="api-keys:read",
                ok=(200, "A page of keys, newest first.", _array(_ref("ApiKey"))),
                params=_PAGE,
                errors=(422,),
                listing=True,
            ),
            "post": _op(
                "Create an API key",
                "API keys",
                scope="api-keys:write",
                ok=(201, "The key with its secret, shown this once.", _ref("ApiKeyCreated")),
                body="ApiKeyCreate",
                description="A key can grant only scopes it holds itself.",
            ),
        },
        "/api/api-keys/{key_id}": {
            "parameters": [_path("key_id", "The key's id.")],
            "get": _op(
                "Get an API key (never its secret)",
                "API keys",
                scope="api-keys:read",
                ok=(200, "The key.", _ref("ApiKey")),
                errors=(404,),
                description=_WITHIN,
            ),
            "put": _op(
                "Change an API key",
                "API keys",
                scope="api-keys:write",
                ok=(200, "The changed key.", _ref("ApiKey")),
                body="ApiKeyUpdate",
                errors=(404,),
                description=_WITHIN + " New scopes must be ones the calling key could grant.",
            ),
            "delete": _op(
                "Revoke an API key",
                "API keys",
                scope="api-keys:write",
                ok=(200, "The revoked key.", _ref("ApiKey")),
                errors=(404,),
                description=_WITHIN,
            ),
        },
        "/api/notification-channels": {
            "get": _op(
                "List notification channels (never their secrets)",
                "Notifications",
                scope="settings:read",
                ok=(200, "A page of channels, by name.", _array(channel)),
                params=_PAGE,
                errors=(422,),
                listing=True,
            ),
            "post": _op(
                "Create a notification channel",
                "Notifications",
                scope="settings:write",
                ok=(201, "The new channel.", channel),
                body="NotificationChannelCreate",
                description="The fields after name and kind depend on the kind: addresses "
                "(email); url, headers, secret (webhook); url (apprise).",
            ),
        },
        "/api/notification-channels/{channel_id}": {
            "parameters": [_CHANNEL_ID],
            "get": _op(
                "Get a notification channel",
                "Notifications",
                scope="settings:read",
                ok=(200, "The channel.", channel),
                errors=(404,),
            ),
            "put": _op(
                "Update a notification channel (partial)",
                "Notifications",
                scope="settings:write",
                ok=(200, "The channel after the change.", channel),
                body="NotificationChannelUpdate",
                errors=(404,),
                description="Send only the fields to change; a channel's kind cannot change.",
            ),
            "delete": _op(
                "Delete a notification channel",
                "Notifications",
                scope="settings:write",
                ok=(200, "Deleted; its log rows stay.", _ref("Success")),
                errors=(404,),
            ),
        },
        "/api/notification-channels/{channel_id}/test": {
            "parameters": [_CHANNEL_ID],
            "post": _op(
                "Send a test message through a channel now",
                "Notifications",
                scope="settings:write",
                ok=(200, "The outcome, also in the delivery log.", _ref("ChannelTestResult")),
                errors=(404,),
                description="Disabled channels can be tested too. A failed send answers 200 "
                'with "ok": false and the error.',
            ),
        },
        "/api/notifications/log": {
            "get": _op(
                "The delivery log, newest first",
                "Notifications",
                scope="settings:read",
                ok=(200, "A page of deliveries with their attempts.", _array(_ref("Notification"))),
                params=[
                    _query("status", _str(enum=list(DELIVERY_STATUSES))),
                    _query("channel_id", _int(minimum=1, maximum=ID_MAX)),
                    _query("event", _str(maxLength=40), "Such as monitor.down."),
                    *_PAGE,
                ],
                errors=(422,),
                listing=True,
            ),
        },
        "/api/system": {
            "get": _op(
                "Workers, queues, the scheduler, Redis and the database",
                "System",
                scope="system:read",
                ok=(200, "The system's state.", _ref("System")),
            ),
        },
        "/api/system/redis": {
            "get": _op(
                "Test the Redis connection",
                "System",
                scope="system:read",
                ok=(200, "Redis answers.", _ref("RedisStatus")),
                errors=(503,),
            ),
        },
        "/api/setup/status": {
            "get": _op(
                "Whether first-run setup is complete",
                "System",
                scope=None,
                ok=(200, "Setup state.", _ref("SetupStatus")),
            ),
        },
        "/api/openapi.json": {
            "get": _op(
                "This document",
                "Reference",
                scope=None,
                ok=(200, "OpenAPI 3.1.", {"type": "object"}),
            ),
        },
        "/api/docs": {
            "get": {
                "summary": "This reference as a web page",
                "tags": ["Reference"],
                "operationId": "",
                "security": [],
                "x-required-scope": None,
                "responses": {
                    "200": {"description": "HTML.", "content": {"text/html": {"schema": _str()}}}
                },
            },
        },
    }


_DESCRIPTION = """\
Upcron's native JSON API. Authenticate every request with an API key, sent as
`Authorization: Bearer upk_…` or `X-Api-Key: upk_…`. Each route needs one scope; `<resource>:*`
grants both actions of a resource and `*` grants everything. Errors are `{"error": "…"}`
(422 adds `fields`). Lists are bare arrays with `X-Total-Count`, `X-Page`, `X-Per-Page`,
`X-Total-Pages` and `Link` headers, except `GET /api/incidents`, which returns
`{"incidents", "total", "limit", "offset", …}`. Responses to a key carry `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds), and `X-Quota-*` when the key has
a daily quota.
"""


def document(server_url: str = "/") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    paths = _paths()
    for path, item in paths.items():
        for method, operation in item.items():
            if method != "parameters":
                slug = path.removeprefix("/api/").replace("/", "_").replace("-", "_")
                operation["operationId"] = f"{method}_{slug}".replace("{", "").replace("}", "")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Upcron API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": server_url}],
        "tags": [
            {"name": name}
            for name in (
                "Monitors",
                "Cron jobs",
                "Incidents",
                "Maintenance",
                "Bulk",
                "Tags",
                "Notifications",
                "Settings",
                "API keys",
                "System",
                "Reference",
            )
        ],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
        "x-scopes": list(api_keys.SCOPES),
    }
