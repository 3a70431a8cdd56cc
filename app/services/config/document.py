"""The configuration document: its sections and fields, reading and writing it as JSON or
YAML with the limits every front door shares, its JSON Schema, and the export."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml

from app.extensions import db
from app.models import CronJob, Group, MaintenanceWindow, Monitor, NotificationChannel
from app.models.channel import KIND_APPRISE, KIND_EMAIL, KIND_WEBHOOK
from app.models.monitor import (
    KIND_DNS,
    KIND_HEARTBEAT,
    KIND_HTTP,
    KIND_KEYWORD,
    KIND_PING,
    KIND_TCP,
)
from app.services import (
    channels,
    cron_jobs,
    fields,
    groups,
    importers,
    maintenance,
    monitors,
    status_page,
    tags,
)
from app.services.errors import ValidationError
from app.services.pagination import group_order

FORMAT_VERSION = 1
FORMATS = ("json", "yaml")
SOURCES = ("upcron", *importers.SOURCES)
SIZE_MAX = 5 * 1024 * 1024
DEPTH_MAX = 32
SECTIONS = (
    "groups",
    "tags",
    "channels",
    "monitors",
    "heartbeats",
    "cron_jobs",
    "maintenance",
    "status_page",
)
# What matches a document's item to a stored one.
KEYS = {
    "groups": "name",
    "tags": "name",
    "channels": "name",
    "monitors": "slug",
    "heartbeats": "slug",
    "cron_jobs": "slug",
    "maintenance": "title",
}
# NUL and lone surrogates: text no database can store.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The fields of each kind of item, in document order (after its key, name and description).
_REQUEST = ("url", "method", "headers", "body", "auth_username", "auth_password")
_TLS = ("tls_verify", "tls_expiry_warn_days")
_HTTP = (
    *_REQUEST,
    "expected_status",
    "follow_redirects",
    "max_redirects",
    "keyword",
    "keyword_absent",
    "assertions",
    *_TLS,
)
MONITOR_FIELDS = {
    KIND_HTTP: _HTTP,
    KIND_KEYWORD: _HTTP,
    KIND_TCP: ("host", "port", "tls", *_TLS),
    KIND_DNS: ("host", "record_type", "resolver", "expected_values"),
    KIND_PING: ("host", "packets", "max_loss_pct"),
}
UPTIME_FIELDS = (
    "interval_sec",
    "timeout_ms",
    "failure_threshold",
    "recovery_threshold",
    *monitors.DEGRADED_FIELDS,
)
HEARTBEAT_FIELDS = monitors.HEARTBEAT_SETTINGS
CRON_JOB_FIELDS = cron_jobs.SETTINGS
CHANNEL_FIELDS = {
    KIND_EMAIL: ("addresses",),
    KIND_WEBHOOK: ("url", "headers", "secret"),
    KIND_APPRISE: ("url",),
}
WINDOW_FIELDS = ("message", "starts_at", "ends_at", "cron_expr", "duration_min", "timezone")
WINDOW_TARGETS = ("monitors", "heartbeats", "cron_jobs", "groups", "tags")
LINKS = ("group", "tags", "channels")
# Written only when asked for; left out of a document, the stored value stays.
SECRET_FIELDS = ("auth_password", "secret")
SECRET_URL_KINDS = (KIND_APPRISE,)  # the whole URL carries the tokens


# --- Reading and writing documents ---------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML without aliases: a few lines of nested aliases expand to gigabytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


def load(raw: bytes, fmt: str | None = None) -> Any:
    """A document from the bytes of a file: JSON, or YAML (``fmt`` None: JSON when it starts
    with "{"). Refuses, with a message for a person, more than SIZE_MAX bytes, text that is
    not UTF-8, nesting deeper than DEPTH_MAX, YAML aliases, and NUL characters or lone
    surrogates (no database stores them)."""
    if len(raw) > SIZE_MAX:
        raise ValidationError({}, f"The document is larger than {SIZE_MAX // 2**20} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({}, "The document is not UTF-8 text.") from None
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt not in FORMATS:
        raise ValidationError({"format": f"Choose one of {', '.join(FORMATS)}."})
    try:
        value = json.loads(text) if fmt == "json" else yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise ValidationError({}, "The document is nested too deeply.") from None
    except (ValueError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise ValidationError({}, f"The document is not valid {fmt.upper()} ({detail}).") from None
    _check_values(value)
    return value


def _check_values(value: Any) -> None:
    """Depth, text and keys, walked without recursion."""
    pending: list[tuple[Any, int, str]] = [(value, 0, "")]
    while pending:
        item, depth, path = pending.pop()
        if depth > DEPTH_MAX:
            raise ValidationError({}, f"The document is nested more than {DEPTH_MAX} deep.")
        if isinstance(item, str) and _UNSTORABLE.search(item):
            raise ValidationError(
                {path or "document": "Contains a NUL character or an unpaired surrogate."},
                "The document contains text that cannot be stored.",
            )
        if isinstance(item, Mapping):
            for key, inner in item.items():
                if not isinstance(key, str) or _UNSTORABLE.search(key):
                    raise ValidationError({}, f"Every key must be text ({key!r} in {path!r}).")
                pending.append((inner, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            pending += [(inner, depth + 1, f"{path}[{n}]") for n, inner in enumerate(item)]


def dump(document: dict[str, Any], fmt: str = "json") -> str:
    """The document as text in ``fmt`` (json or yaml), keys in document order."""
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema() -> dict[str, Any]:
    """The document's JSON Schema, shipped with the package."""
    text = resources.files("app").joinpath("schema/config.schema.json").read_text("utf-8")
    return json.loads(text)


# --- Export --------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _headers(stored: Mapping[str, str] | None, with_secrets: bool) -> dict[str, str]:
    return {
        k: v for k, v in (stored or {}).items() if with_secrets or not fields.is_secret_header(k)
    }


def _copy(row: Any, names: tuple[str, ...], with_secrets: bool) -> dict[str, Any]:
    item = {}
    for name in names:
        if name in SECRET_FIELDS and not with_secrets:
            continue
        value = getattr(row, name)
        if name == "headers":
            value = _headers(value, with_secrets)
        elif isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, list):
            value = list(value)
        elif value is None and name in ("assertions", "expected_values"):
            value = []
        item[name] = value
    return item


def _links(row: Monitor | CronJob) -> dict[str, Any]:
    return {
        "group": row.group.name if row.group else None,
        "tags": sorted((tag.name for tag in row.tags), key=str.lower),
        "channels": sorted((channel.name for channel in row.channels), key=str.lower),
    }


def monitor_item(row: Monitor, with_secrets: bool) -> dict[str, Any]:
    """An uptime monitor as the document has it."""
    kind_fields = MONITOR_FIELDS.get(row.kind, ())
    return {
        "slug": row.slug,
        "type": row.kind,
        "name": row.name,
        "description": row.description,
        **_copy(
            row,
            (*kind_fields, *UPTIME_FIELDS, "reminder_hours", "public", "position"),
            with_secrets,
        ),
        **_links(row),
        "paused": row.paused,
    }


def heartbeat_item(row: Monitor, with_secrets: bool = False) -> dict[str, Any]:
    """A heartbeat as the document has it, with its ping code and push token."""
    return {
        "slug": row.slug,
        "name": row.name,
        "description": row.description,
        "code": row.code,
        "push_token": row.push_token,
        **_copy(row, (*HEARTBEAT_FIELDS, "reminder_hours", "public", "position"), with_secrets),
        **_links(row),
        "paused": row.paused,
    }


def cron_job_item(row: CronJob, with_secrets: bool) -> dict[str, Any]:
    """A cron job as the document has it."""
    return {
        "slug": row.slug,
        "name": row.name,
        "description": row.description,
        **_copy(row, (*CRON_JOB_FIELDS, "public", "position"), with_secrets),
        **_links(row),
        "enabled": row.enabled,
    }


def channel_item(row: NotificationChannel, with_secrets: bool) -> dict[str, Any]:
    """A channel as the document has it: its settings flat, as the API's channel body."""
    config = row.config or {}
    item = {"name": row.name, "type": row.kind, "enabled": row.enabled}
    item["is_default"] = row.is_default
    for name in CHANNEL_FIELDS.get(row.kind, ()):
        secret = name in SECRET_FIELDS or (name == "url" and row.kind in SECRET_URL_KINDS)
        if name not in config or (secret and not with_secrets):
            continue
        value = config[name]
        item[name] = _headers(value, with_secrets) if name == "headers" else value
    return item


def window_item(row: MaintenanceWindow) -> dict[str, Any]:
    """A maintenance window as the document has it, its targets by slug and name."""
    item: dict[str, Any] = {"title": row.title, "message": row.message}
    if row.recurring:
        item |= {"cron_expr": row.cron_expr, "duration_min": row.duration_min}
        item["timezone"] = row.timezone
    else:
        item |= {"starts_at": iso(row.starts_at), "ends_at": iso(row.ends_at)}
    return item | {
        "monitors": sorted(m.slug for m in row.monitors if m.kind != KIND_HEARTBEAT),
        "heartbeats": sorted(m.slug for m in row.monitors if m.kind == KIND_HEARTBEAT),
        "cron_jobs": sorted(j.slug for j in row.cron_jobs),
        "groups": sorted((g.name for g in row.groups), key=str.lower),
        "tags": sorted((t.name for t in row.tags), key=str.lower),
    }


def _ordered(model) -> sa.Select:
    """Items in dashboard order: by group, then position and name."""
    return (
        sa.select(model)
        .outerjoin(Group, model.group_id == Group.id)
        .order_by(*group_order(), model.position, model.name, model.id)
    )


def export_document(with_secrets: bool = False) -> dict[str, Any]:
    """The whole configuration as one document. One-off maintenance windows that have
    ended are left out: they are history, and could not be created again."""
    now = datetime.now(UTC)
    rows = list(db.session.execute(_ordered(Monitor)).scalars())
    windows = db.session.execute(
        sa.select(MaintenanceWindow).order_by(MaintenanceWindow.id)
    ).scalars()
    return {
        "upcron": FORMAT_VERSION,
        "groups": [{"name": group.name} for group in groups.list_groups()],
        "tags": [{"name": tag.name, "colour": tag.colour} for tag in tags.all_tags()],
        "channels": [channel_item(c, with_secrets) for c in channels.list_channels()],
        "monitors": [monitor_item(m, with_secrets) for m in rows if m.kind != KIND_HEARTBEAT],
        "heartbeats": [heartbeat_item(m) for m in rows if m.kind == KIND_HEARTBEAT],
        "cron_jobs": [
            cron_job_item(j, with_secrets) for j in db.session.execute(_ordered(CronJob)).scalars()
        ],
        "maintenance": [
            window_item(w)
            for w in windows
            if maintenance.status(w, now) != maintenance.STATUS_ENDED
        ],
        "status_page": status_page.get_settings(),
    }
