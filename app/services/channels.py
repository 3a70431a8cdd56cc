"""Notification channels: where alerts go (e-mail addresses, a webhook, an Apprise URL).

Create, change, delete, list and test them, and choose the defaults that new monitors and cron
jobs start with. Fields are flat and depend on the kind:

- ``email``: ``addresses`` (a list, or text with one address per line or comma-separated);
- ``webhook``: ``url`` (http or https), ``headers`` (optional), ``secret`` (optional: signs
  each body with HMAC-SHA256);
- ``apprise``: ``url`` (any URL Apprise reads: ``ntfys://``, ``slack://``, ``tgram://``…).

Secrets are never shown back: ``describe`` (what every surface shows) says whether a webhook
has a secret, masks its secret headers (``fields.masked_headers``) and the tokens of an
Apprise URL. On update a secret or Apprise URL left out is kept, and so is an Apprise URL or
a header sent back in its masked form; a ``secret`` of null removes it.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.engine import notify
from app.extensions import db
from app.models import CronJob, Monitor, NotificationChannel
from app.models.channel import KIND_APPRISE, KIND_EMAIL, KIND_WEBHOOK, KINDS
from app.models.cron_job import cron_job_channels
from app.models.monitor import monitor_channels
from app.models.types import utcnow
from app.services import fields, notifications
from app.services.errors import NotFound, ValidationError
from app.services.pagination import Page, paginate
from app.services.validation import email_error

NAME_MAX = 100
ADDRESSES_MAX = 20
APPRISE_URL_MAX = 2048
SECRET_MAX = 200

_SEPARATORS = re.compile(r"[\s,;]+")


def _addresses(value: Any) -> list[str]:
    if isinstance(value, str):
        value = _SEPARATORS.split(value)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("Enter e-mail addresses, one per line or separated by commas.")
    addresses = list(dict.fromkeys(item.strip() for item in value if item.strip()))
    if not addresses:
        raise ValueError("Enter at least one e-mail address.")
    if len(addresses) > ADDRESSES_MAX:
        raise ValueError(f"Use at most {ADDRESSES_MAX} addresses; a mailing list can take more.")
    for address in addresses:
        if email_error(address.lower()):
            raise ValueError(f"{address} is not an e-mail address, such as ops@example.com.")
    return addresses


def _apprise_url(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("Enter an Apprise URL, such as ntfys://ntfy.sh/my-topic.")
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    if len(value) > APPRISE_URL_MAX:
        raise ValueError(f"Use at most {APPRISE_URL_MAX} characters.")
    plugin = notify.apprise_plugin(value)
    if plugin is None:
        raise ValueError(
            "Apprise does not read this URL. Check the service's URL format in the Apprise "
            "documentation, such as ntfys://ntfy.sh/my-topic or slack://TokenA/TokenB/TokenC."
        )
    refusal = notify.apprise_literal_refusal(plugin, current_app.config["TARGET_POLICY"])
    if refusal:
        raise ValueError(f"{refusal}.")
    return value


def _secret(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    if len(value) > SECRET_MAX:
        raise ValueError(f"Use at most {SECRET_MAX} characters.")
    return value


_COMMON: dict[str, fields.Parser] = {
    "name": fields.name(NAME_MAX),
    "kind": fields.choice(KINDS),
    "enabled": fields.boolean,
    "is_default": fields.boolean,
    "attach_to_all": fields.boolean,
}
_KIND_FIELDS: dict[str, dict[str, fields.Parser]] = {
    KIND_EMAIL: {"addresses": _addresses},
    KIND_WEBHOOK: {
        "url": fields.url,
        "headers": fields.headers,
        "secret": fields.optional(_secret),  # null or blank: no signature
    },
    KIND_APPRISE: {"url": _apprise_url},
}
_REQUIRED = {
    KIND_EMAIL: {"addresses": "Enter at least one e-mail address."},
    KIND_WEBHOOK: {"url": "Enter the URL to send alerts to."},
    KIND_APPRISE: {"url": "Enter an Apprise URL, such as ntfys://ntfy.sh/my-topic."},
}


def get(channel_id: int) -> NotificationChannel:
    """The channel, or NotFound."""
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None:
        raise NotFound("Notification channel not found.")
    return channel


def _by_name() -> sa.Select:
    return sa.select(NotificationChannel).order_by(
        sa.func.lower(NotificationChannel.name), NotificationChannel.id
    )


def list_channels() -> list[NotificationChannel]:
    """Every channel, by name."""
    return list(db.session.execute(_by_name()).scalars())


def page_of_channels(page: Any = 1, per_page: Any = 50) -> Page:
    """One page of the channels, by name (the API's list)."""
    return paginate(_by_name(), page, per_page)


def defaults() -> list[NotificationChannel]:
    """The channels marked "default for new items": what a new monitor or cron job gets."""
    query = sa.select(NotificationChannel).where(NotificationChannel.is_default.is_(True))
    return list(db.session.execute(query.order_by(NotificationChannel.id)).scalars())


def _validate(data: Any, kind: str, current: NotificationChannel | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({}, "Send the fields as an object of names and values.")
    values, errors = fields.parse(data, {**_COMMON, **_KIND_FIELDS[kind]})
    stored = (current.config or {}).get("headers") if current else None
    fields.keep_masked_headers(values, errors, stored)
    if current is None:
        fields.require(data, errors, {"name": "Enter a name.", **_REQUIRED[kind]})
    elif "kind" in values and values["kind"] != kind:
        errors["kind"] = "A channel's kind cannot change; create a new channel instead."
    if errors:
        raise ValidationError(errors)
    return values


def _config(kind: str, current: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The channel's stored settings: the current ones with the given fields applied."""
    config = dict(current)
    for name in _KIND_FIELDS[kind]:
        if name in values:
            config[name] = values[name]
    if config.get("secret") is None:
        config.pop("secret", None)
    return config


def _attach_to_all(channel_id: int) -> None:
    """Link the channel to every monitor and cron job that does not have it yet."""
    for table, model, column in (
        (monitor_channels, Monitor, "monitor_id"),
        (cron_job_channels, CronJob, "cron_job_id"),
    ):
        linked = sa.select(table.c[column]).where(table.c.channel_id == channel_id)
        db.session.execute(
            sa.insert(table).from_select(
                [column, "channel_id"],
                sa.select(model.id, sa.literal(channel_id)).where(model.id.not_in(linked)),
            )
        )


def create(data: Any) -> NotificationChannel:
    """Create a channel (enabled unless ``enabled`` is false). ``attach_to_all`` also links
    it to every existing monitor and cron job."""
    if not isinstance(data, dict):
        raise ValidationError({}, "Send the fields as an object of names and values.")
    try:
        kind = _COMMON["kind"](data.get("kind"))
    except ValueError as exc:
        raise ValidationError({"kind": str(exc)}) from None
    channel = add(_validate(data, kind, None), kind)
    db.session.commit()
    return channel


def update(channel_id: int, data: Any) -> NotificationChannel:
    """Change the fields given; the kind stays."""
    channel = get(channel_id)
    values = _validate(data, channel.kind, channel)
    current_url = (channel.config or {}).get("url", "")
    if channel.kind == KIND_APPRISE and values.get("url") == _masked_apprise_url(current_url):
        del values["url"]  # the masked form we showed, sent back: keep the real URL
    assign(channel, values)
    db.session.commit()
    return channel


def delete(channel_id: int) -> None:
    """Delete a channel; its links to monitors and cron jobs go with it (SQL cascades), its
    log rows stay, and alerts still waiting for it are cancelled when their turn comes."""
    db.session.delete(get(channel_id))
    db.session.commit()


def send_test(channel_id: int) -> dict[str, Any]:
    """Send a test message through the channel now, through the same sender as alerts, and
    return the outcome: ``{"ok", "error", "duration_ms", "log_id"}``. Disabled channels can
    be tested too, so they can be tried before they are switched on."""
    channel = get(channel_id)
    return notifications.send_now(channel, notifications.test_payload(channel, utcnow()))


def parse_ids(value: Any) -> list[int]:
    """A monitor's or cron job's ``channels`` field: a list of existing channel ids (JSON
    numbers, or the strings a form sends). Raises ValueError with a message for the field."""
    if value is None or value == "":
        return []
    if not isinstance(value, list | tuple):
        raise ValueError("Give a list of channel ids, such as [1, 3].")
    # Bounded by the INTEGER key: a larger number names no channel (and no database takes it).
    whole = fields.whole_number(1, 2**31 - 1, "Channel ids are whole numbers, such as 3.")
    ids = list(dict.fromkeys(whole(item) for item in value))
    if not ids:
        return []
    found = set(
        db.session.execute(
            sa.select(NotificationChannel.id).where(NotificationChannel.id.in_(ids))
        ).scalars()
    )
    missing = [str(channel_id) for channel_id in ids if channel_id not in found]
    if missing:
        raise ValueError(f"No notification channel with id {', '.join(missing)}.")
    return ids


def by_ids(ids: list[int]) -> list[NotificationChannel]:
    """The channels with these ids (checked by ``parse_ids``), in the order given."""
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(NotificationChannel).where(NotificationChannel.id.in_(ids))
    ).scalars()
    by_id = {channel.id: channel for channel in rows}
    return [by_id[channel_id] for channel_id in ids if channel_id in by_id]


def _masked_apprise_url(url: str) -> str:
    """Apprise's own privacy form (tokens and passwords elided), without the query, where
    custom headers may carry credentials."""
    plugin = notify.apprise_plugin(url)
    if plugin is None:
        return "(unreadable URL)"
    return plugin.url(privacy=True).split("?", 1)[0]


def describe(channel: NotificationChannel) -> dict[str, Any]:
    """The channel as the dashboard and the API show it, with its secrets masked."""
    config = channel.config or {}
    public: dict[str, Any]
    if channel.kind == KIND_EMAIL:
        public = {"addresses": list(config.get("addresses", []))}
    elif channel.kind == KIND_WEBHOOK:
        public = {
            "url": config.get("url"),
            "headers": fields.masked_headers(config.get("headers")),
            "secret_headers_set": fields.secret_headers_set(config.get("headers")),
            "secret_set": bool(config.get("secret")),
        }
    else:
        public = {"url": _masked_apprise_url(config.get("url", ""))}
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "enabled": channel.enabled,
        "is_default": channel.is_default,
        "created_at": channel.created_at.isoformat(),
        **public,
    }


# --- Building blocks of an import (services/config/), which writes everything in one
# transaction: they change the session and leave the commit to the caller.


def validated(data: Any, kind: str, current: NotificationChannel | None) -> dict[str, Any]:
    """``data`` for a channel of ``kind``, judged as ``create`` (``current`` None) or
    ``update`` would judge it."""
    return _validate(data, kind, current)


def add(values: dict[str, Any], kind: str) -> NotificationChannel:
    """A new channel from validated values, added to the session and flushed (linking it to
    every item with ``attach_to_all`` needs its id)."""
    channel = NotificationChannel(
        name=values["name"],
        kind=kind,
        config=_config(kind, {}, values),
        enabled=values.get("enabled", True),
        is_default=values.get("is_default", False),
        created_at=utcnow(),
    )
    db.session.add(channel)
    db.session.flush()
    if values.get("attach_to_all"):
        _attach_to_all(channel.id)
    return channel


def assign(channel: NotificationChannel, values: dict[str, Any]) -> NotificationChannel:
    """Apply validated values to a channel in the session; settings left out are kept."""
    for name in ("name", "enabled", "is_default"):
        if name in values:
            setattr(channel, name, values[name])
    channel.config = _config(channel.kind, channel.config or {}, values)
    if values.get("attach_to_all"):
        _attach_to_all(channel.id)
    return channel
