"""Uptime Kuma's monitors, groups, tags and notifications (its SQLite database, 1.23 or 2.x)
as an Upcron configuration document.

http, keyword and json-query monitors become http and keyword monitors (a JSON query an
assertion), port becomes tcp, ping and dns keep their names, push becomes a heartbeat and a
monitor of type "group" a group; every other type is skipped with its reason. Kuma's retries
become the failure threshold (maxretries + 1: down on the first failure that exhausts them).
docs/migrating.md lists every field, and what is approximated.

The file is another program's database and may be anything: it is opened read-only from
memory, with its schema untrusted, and every value is read as whatever type it turns out to
have.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections import defaultdict
from typing import Any

from app.engine import icmp
from app.engine.dns_check import DNS_PORT, RECORD_TYPES
from app.services import assertions, fields, monitors
from app.services.importers.document import Conversion, DocumentBuilder, name_of
from app.services.monitors import PERIOD_MIN_SEC, RUN_TIME_MAX_SEC, TIMEOUT_MAX_MS

SQLITE_MAGIC = b"SQLite format 3\x00"
TABLES = ("monitor", "tag", "monitor_tag", "notification", "monitor_notification")
NAME_MAX = 200
INTERVAL_MIN, INTERVAL_MAX = 10, 86400
TIMEOUT_MIN_MS = 100
THRESHOLD_MAX = 100
LARGEST = 10**15
GRACE_MIN_SEC, GRACE_MAX_SEC = 60, 3600
# A push monitor keeps its push token, so /api/push/<token> keeps working. Its ping code must
# be a UUID, which a push token is not, so the code is derived from the token (the same token
# gives the same code, so converting twice plans the same import).
PUSH_NAMESPACE = uuid.UUID("5e0c3a52-7d0b-4a8e-9a57-0d9f1c6b2f10")

UPTIME_TYPES = {"http": "http", "keyword": "keyword", "json-query": "http"}
UPTIME_TYPES |= {"port": "tcp", "dns": "dns", "ping": "ping"}
# How Kuma sends a body of each encoding: the Content-Type it adds.
BODY_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "xml": "text/xml; charset=utf-8",
}
JSON_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
JSON_OPS |= {"contains": "contains"}
# A JSONata path that reads the same in JMESPath: names and indexes, such as data.items[0].id
# (a leading "$." is JSONata's root and left out).
_PLAIN_PATH = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*)*"
)


def convert(raw: bytes) -> Conversion:
    """The monitors of the Kuma database in ``raw``; ValueError when it is not one."""
    rows = _read(raw)
    return _Converter(rows).run()


def _read(raw: bytes) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables read, as dicts (columns a version lacks are simply absent)."""
    if not raw.startswith(SQLITE_MAGIC):
        raise ValueError("Not an Uptime Kuma database: the file is not SQLite (kuma.db).")
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(raw)
        # Nothing in the file runs as trusted (functions in its views or triggers), and
        # nothing is written back.
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("PRAGMA query_only = ON")
        connection.text_factory = lambda data: data.decode("utf-8", errors="replace")
        connection.row_factory = sqlite3.Row
        present = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        missing = [table for table in TABLES if table not in present]
        if missing:
            raise ValueError(
                f"Not an Uptime Kuma database: it has no {', '.join(missing)} table"
                f"{'s' if len(missing) > 1 else ''}."
            )
        columns = {row[1] for row in connection.execute('PRAGMA table_info("monitor")')}
        if not {"id", "name", "type"} <= columns:
            raise ValueError(
                "Not an Uptime Kuma database: its monitor table has no id, name, type."
            )
        return {
            table: [dict(row) for row in connection.execute(f'SELECT * FROM "{table}"')]
            for table in TABLES
        }
    except (sqlite3.Error, OverflowError) as exc:
        raise ValueError(f"The Uptime Kuma database cannot be read: {exc}.") from None
    finally:
        connection.close()


def _int(value: Any, default: int = 0) -> int:
    """A whole number from a column that SQLite may fill with anything."""
    if isinstance(value, int):
        return min(max(value, -LARGEST), LARGEST)
    number = _number(value)
    return default if number is None else round(number)


def _number(value: Any) -> float | None:
    """A number from a column that SQLite may fill with anything (None when it holds none);
    beyond ±1e15 (where no setting makes sense) it is ±1e15, for the clamping to say what
    it did."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if number != number:  # NaN
        return None
    return min(max(number, -LARGEST), LARGEST)


def _text(value: Any) -> str:
    """Text from a column that SQLite may fill with anything (a BLOB is read as UTF-8)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else "" if value is None else str(value)


def _json(value: Any) -> Any:
    """The JSON a text column holds, or None when it holds none."""
    try:
        return json.loads(_text(value))
    except (ValueError, RecursionError):
        return None


def _headers(value: Any) -> dict[str, str] | None:
    """Headers stored as a JSON object; numbers and booleans are sent as their JSON text (as
    Kuma's HTTP client does), anything else makes them unreadable (None)."""
    parsed = _json(value)
    if not isinstance(parsed, dict):
        return None
    headers = {}
    for key, item in parsed.items():
        if isinstance(item, str):
            headers[key] = item
        elif isinstance(item, bool | int | float):
            headers[key] = json.dumps(item)
        else:
            return None
    return headers


class _Converter:
    """One conversion: the rows of the database, indexed once, and the document built."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]]):
        self.rows = rows
        self.out = DocumentBuilder()
        self.monitors = {_int(row.get("id"), -1): row for row in rows["monitor"]}
        self.channel_names: dict[int, str] = {}  # Kuma notification id → channel name
        self.group_names: dict[int, str] = {}  # Kuma group monitor id → group name
        self.links: dict[int, list[int]] = defaultdict(list)  # monitor id → notification ids
        for link in rows["monitor_notification"]:
            self.links[_int(link.get("monitor_id"))].append(_int(link.get("notification_id")))
        self.tags: dict[int, list[tuple[str, str]]] = defaultdict(list)  # → (name, colour)
        kuma_tags = {_int(row.get("id")): row for row in rows["tag"]}
        for link in rows["monitor_tag"]:
            tag = kuma_tags.get(_int(link.get("tag_id")))
            if tag is not None:
                name, value = _text(tag.get("name")).strip(), _text(link.get("value")).strip()
                self.tags[_int(link.get("monitor_id"))].append(
                    (f"{name}:{value}" if value else name, _text(tag.get("color")))
                )

    def run(self) -> Conversion:
        """Channels and groups first, as the monitors refer to them by name."""
        self._channels()
        self._groups()
        for monitor_id, row in self.monitors.items():
            kind = _text(row.get("type"))
            name = name_of(row.get("name"), f"Monitor {monitor_id}", NAME_MAX)
            if kind == "group":
                continue
            if _int(row.get("upside_down")):
                self.out.skip(
                    name,
                    kind,
                    "Upside-down mode (up when the check fails) has no Upcron equivalent.",
                )
            elif kind == "push":
                self._heartbeat(monitor_id, row, name)
            elif kind in UPTIME_TYPES:
                self._uptime(monitor_id, row, name, kind)
            else:
                self.out.skip(
                    name, kind or "monitor", f"Upcron has no {kind or 'untyped'} monitors."
                )
        return self.out.conversion()

    def _common(self, monitor_id: int, row: dict[str, Any], name: str) -> dict[str, Any]:
        """What every imported monitor and heartbeat has: its group, tags (a Kuma tag with a
        value becomes "name:value"), channels and whether it is paused."""
        found = [
            self.out.tag(tag, colour, name, "monitor") for tag, colour in self.tags[monitor_id]
        ]
        return {
            "group": self.group_names.get(_int(row.get("parent"), -1)),
            "tags": self.out.item_tags([tag for tag in found if tag], name, "monitor"),
            "channels": [
                self.channel_names[n] for n in self.links[monitor_id] if n in self.channel_names
            ],
            "paused": not self._active(row),
        }

    # Groups, tags and channels

    def _active(self, row: dict[str, Any]) -> bool:
        """Whether Kuma runs the monitor: it is active, and so is every group above it."""
        seen: set[int] = set()
        current: dict[str, Any] | None = row
        while current is not None and _int(current.get("id"), -1) not in seen:
            if not _int(current.get("active"), 1):
                return False
            seen.add(_int(current.get("id"), -1))
            current = self.monitors.get(_int(current.get("parent"), -1))
        return True

    def _groups(self) -> None:
        """Each group monitor becomes a group; Upcron's groups do not nest, so a group in a
        group becomes one of its own beside it."""
        for monitor_id, row in self.monitors.items():
            if _text(row.get("type")) != "group":
                continue
            name = name_of(row.get("name"), f"Group {monitor_id}", 100)
            unique = self.out.unique_name("group", name)
            if unique != name:
                self.out.warn(name, "group", f"Another group has this name; imported as {unique}.")
            self.group_names[monitor_id] = unique
            if self.out.add(self.out.groups, {"name": unique}, "group"):
                if _text(self.monitors.get(_int(row.get("parent"), -1), {}).get("type")) == "group":
                    self.out.warn(
                        unique,
                        "group",
                        "Upcron groups do not nest: this group's monitors are in a group "
                        "of their own, not inside its parent.",
                    )

    def _channels(self) -> None:
        """Notifications Upcron can send the same way become channels; the rest are skipped."""
        for row in self.rows["notification"]:
            config = _json(row.get("config"))
            config = config if isinstance(config, dict) else {}
            kuma_type = _text(config.get("type"))
            name = name_of(row.get("name") or config.get("name"), "Notification", 100)
            settings = self._channel_settings(kuma_type, config, name)
            if settings is None:
                continue
            unique = self.out.unique_name("channel", name)
            if unique != name:
                self.out.warn(
                    name, "channel", f"Another channel has this name; imported as {unique}."
                )
            channel = {
                "name": unique,
                "type": settings.pop("type"),
                "enabled": bool(_int(row.get("active"), 1)),
                "is_default": bool(_int(row.get("is_default"))),
                **settings,
            }
            if self.out.add(self.out.channels, channel, "channel"):
                self.channel_names[_int(row.get("id"))] = unique

    def _channel_settings(self, kuma_type: str, config: dict, name: str) -> dict | None:
        """The Upcron settings of a Kuma notification, or None (skipped) when Upcron has no
        channel that sends the same thing."""
        skip = "channel"
        if kuma_type == "smtp":
            addresses = [
                part.strip()
                for key in ("smtpTo", "smtpCC", "smtpBCC")
                for part in _text(config.get(key)).split(",")
                if part.strip()
            ]
            if not addresses:
                self.out.skip(name, skip, "The e-mail notification has no recipients.")
                return None
            self.out.warn(
                name,
                skip,
                "Sent through this server's own mail settings; the SMTP server, sender and "
                "subject set in Uptime Kuma are not carried over.",
            )
            return {"type": "email", "addresses": addresses}
        if kuma_type == "webhook":
            url = _text(config.get("webhookURL")).strip()
            if not url:
                self.out.skip(name, skip, "The webhook notification has no URL.")
                return None
            settings: dict[str, Any] = {"type": "webhook", "url": url}
            headers = _headers(config.get("webhookAdditionalHeaders"))
            if headers:
                settings["headers"] = headers
            self.out.warn(
                name,
                skip,
                "Upcron posts its own JSON body, not Uptime Kuma's (nor a custom body or form "
                "data): check what the receiving end expects.",
            )
            return settings
        urls = {
            "apprise": _text(config.get("appriseURL")),
            # Apprise reads Discord's and Slack's webhook URLs as they are.
            "discord": _text(config.get("discordWebhookUrl")),
            "slack": _text(config.get("slackwebhookURL")),
            "telegram": (
                f"tgram://{_text(config.get('telegramBotToken')).strip()}/"
                f"{_text(config.get('telegramChatID')).strip()}"
                if config.get("telegramBotToken") and config.get("telegramChatID")
                else ""
            ),
        }
        if kuma_type in urls:
            if not urls[kuma_type].strip():
                self.out.skip(
                    name, skip, f"The {kuma_type} notification has no address to send to."
                )
                return None
            return {"type": "apprise", "url": urls[kuma_type].strip()}
        self.out.skip(
            name,
            skip,
            f"Upcron has no {kuma_type or 'untyped'} channel; if Apprise can send it, "
            "add it as an Apprise URL.",
        )
        return None

    # Monitors

    def _heartbeat(self, monitor_id: int, row: dict[str, Any], name: str) -> None:
        """A push monitor: down when no push came within its interval, after its retries."""
        kind = "push"
        item: dict[str, Any] = {"name": name}
        token = _text(row.get("push_token"))
        kept = False
        if token:
            item["code"] = str(uuid.uuid5(PUSH_NAMESPACE, token))
            try:
                item["push_token"] = monitors.parse_push_token(token)
                kept = True
            except ValueError:
                pass
        if _text(row.get("description")):
            item["description"] = _text(row.get("description"))
        interval = _int(row.get("interval"), 60)
        item["period_sec"] = self.out.clamp(
            interval, PERIOD_MIN_SEC, RUN_TIME_MAX_SEC, name, kind, "Heartbeat interval (seconds)"
        )
        retries = max(_int(row.get("maxretries")), 0)
        retry = _int(row.get("retry_interval")) or interval
        item["grace_sec"] = min(max(retries * retry, GRACE_MIN_SEC), GRACE_MAX_SEC)
        if retries * retry > GRACE_MAX_SEC:
            self.out.warn(
                name,
                kind,
                f"Its retries wait {retries * retry:,} seconds; Upcron's grace time is at "
                f"most {GRACE_MAX_SEC:,}.",
            )
        item |= self._common(monitor_id, row, name)
        if self.out.add(self.out.heartbeats, item, kind, slug_of=name) and not kept:
            self.out.warn(
                name,
                kind,
                "Its push token cannot be kept: push to the new push URL on its page, or to "
                "its ping URL (/ping/<code>, and /ping/<code>/fail instead of ?status=down).",
            )

    def _uptime(self, monitor_id: int, row: dict[str, Any], name: str, kind: str) -> None:
        """An http, keyword, json-query, port, dns or ping monitor, with what all share."""
        item: dict[str, Any] = {"type": UPTIME_TYPES[kind], "name": name}
        if _text(row.get("description")):
            item["description"] = _text(row.get("description"))
        target = {
            "port": self._tcp,
            "dns": self._dns,
            "ping": self._ping,
        }.get(kind, self._http)(row, name, kind)
        if target is None:
            return
        item |= target
        interval = _int(row.get("interval"), 60)
        item["interval_sec"] = self.out.clamp(
            interval, INTERVAL_MIN, INTERVAL_MAX, name, kind, "Interval (seconds)"
        )
        item["timeout_ms"] = self._timeout(row, interval, name, kind)
        item["failure_threshold"] = self.out.clamp(
            max(_int(row.get("maxretries")), 0) + 1,
            1,
            THRESHOLD_MAX,
            name,
            kind,
            "Failure threshold (retries + 1)",
        )
        item |= self._common(monitor_id, row, name)
        self.out.add(self.out.monitors, item, kind, slug_of=name)

    def _timeout(self, row: dict[str, Any], interval: int, name: str, kind: str) -> int:
        """Kuma's timeout is seconds; 0 (older monitors) means 80% of the interval."""
        seconds = _number(row.get("timeout")) or 0.0
        if seconds > 0:
            return self.out.clamp(
                round(seconds * 1000), TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, name, kind, "Timeout (ms)"
            )
        return min(max(round(interval * 800), TIMEOUT_MIN_MS), TIMEOUT_MAX_MS)

    def _http(self, row: dict[str, Any], name: str, kind: str) -> dict[str, Any] | None:
        """The request an http, keyword or json-query monitor makes, and what it expects."""
        auth = _text(row.get("auth_method"))
        if auth not in ("", "basic", "bearer"):
            self.out.skip(name, kind, f"Upcron cannot authenticate with {auth[:40]}.")
            return None
        method = _text(row.get("method")).upper() or "GET"
        if method not in fields.METHODS:
            self.out.skip(name, kind, f"Upcron cannot send {method[:20]} requests.")
            return None
        headers: dict[str, str] = {}
        if _text(row.get("headers")).strip():
            parsed = _headers(row.get("headers"))
            if parsed is None:
                self.out.skip(name, kind, "Its headers are not a JSON object of text values.")
                return None
            headers = parsed
        target: dict[str, Any] = {"url": _text(row.get("url")).strip(), "method": method}
        body = _text(row.get("body"))
        if body.strip():
            target["body"] = body
            content_type = BODY_TYPES.get(_text(row.get("http_body_encoding")) or "json")
            if content_type and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = content_type
        if auth == "bearer" and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {_text(row.get('bearer_token'))}"
        target["headers"] = headers
        if auth == "basic":
            target["auth_username"] = _text(row.get("basic_auth_user"))
            target["auth_password"] = _text(row.get("basic_auth_pass"))
        codes = _json(row.get("accepted_statuscodes_json"))
        try:
            if not isinstance(codes, list) or not codes:
                raise ValueError("none are listed")
            target["expected_status"] = fields.status_ranges(",".join(_text(c) for c in codes))
        except ValueError as exc:
            self.out.skip(name, kind, f"Its accepted status codes cannot be read: {exc}")
            return None
        redirects = max(_int(row.get("maxredirects"), 10), 0)
        target["follow_redirects"] = redirects > 0
        if redirects:
            target["max_redirects"] = self.out.clamp(redirects, 0, 10, name, kind, "Redirects")
        target["tls_verify"] = not _int(row.get("ignore_tls"))
        if kind == "keyword":
            target["keyword"] = _text(row.get("keyword"))
            target["keyword_absent"] = bool(_int(row.get("invert_keyword")))
        elif kind == "json-query":
            assertion = self._json_query(row, name, kind)
            if assertion is None:
                return None
            target["assertions"] = [assertion]
        return target

    def _json_query(self, row: dict[str, Any], name: str, kind: str) -> dict[str, Any] | None:
        """Kuma's JSONata query and comparison as a json assertion, when the query is a plain
        path (which JSONata and JMESPath read alike); Kuma compares as text, Upcron compares
        the JSON value with the expected one read as a form reads it ("200" is a number)."""
        path = _text(row.get("json_path")).strip()
        path = path[2:] if path.startswith("$.") else path
        op = JSON_OPS.get(_text(row.get("json_path_operator")) or "==")
        if not _PLAIN_PATH.fullmatch(path) or op is None:
            self.out.skip(
                name,
                kind,
                f"Its JSON query {path[:100]!r} is not a plain path Upcron can read as JMESPath; "
                "add it as a response assertion by hand.",
            )
            return None
        value = assertions.from_text("json", op, _text(row.get("expected_value")))
        try:
            return assertions.parse([{"source": "json", "path": path, "op": op, "value": value}])[0]
        except ValueError as exc:
            self.out.skip(name, kind, f"Its JSON query cannot be an assertion: {exc}")
            return None

    def _tcp(self, row: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
        """A port monitor connects without TLS."""
        return {"host": _text(row.get("hostname")).strip(), "port": _int(row.get("port"))}

    def _ping(self, row: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
        """Kuma's ping is up when any packet comes back: so much loss is allowed."""
        packets = self.out.clamp(
            _int(row.get("ping_count"), 1), 1, icmp.PACKETS_MAX, name, kind, "Packets"
        )
        loss = (packets - 1) * 100 // packets
        return {
            "host": _text(row.get("hostname")).strip(),
            "packets": packets,
            "max_loss_pct": loss,
        }

    def _dns(self, row: dict[str, Any], name: str, kind: str) -> dict[str, Any] | None:
        """The name, record type and resolver (Kuma's port is the resolver's)."""
        record = _text(row.get("dns_resolve_type")).upper() or "A"
        if record not in RECORD_TYPES:
            self.out.skip(name, kind, f"Upcron cannot look up {record[:20]} records.")
            return None
        target: dict[str, Any] = {"host": _text(row.get("hostname")).strip(), "record_type": record}
        servers = [s.strip() for s in _text(row.get("dns_resolve_server")).split(",") if s.strip()]
        if servers:
            port = _int(row.get("port"), DNS_PORT) or DNS_PORT
            server = f"[{servers[0]}]" if ":" in servers[0] and port != DNS_PORT else servers[0]
            target["resolver"] = server if port == DNS_PORT else f"{server}:{port}"
            if len(servers) > 1:
                self.out.warn(name, kind, f"Upcron asks one resolver: {servers[0]} is kept.")
        target["expected_values"] = []
        conditions = _json(row.get("conditions"))
        if isinstance(conditions, list) and conditions:
            # Kuma: some record meets the conditions. One "record equals" condition is
            # Upcron's expected value; any more can ask what expected values cannot.
            [first, *more] = conditions
            first = first if isinstance(first, dict) else {}
            value = first.get("value")
            if (
                not more
                and first.get("type") == "expression"
                and first.get("variable") == "record"
                and first.get("operator") == "equals"
                and isinstance(value, str)
                and value.strip()
            ):
                target["expected_values"] = [value.strip()]
            else:
                self.out.warn(
                    name,
                    kind,
                    'Its conditions are not carried over (only one "record equals" can be); '
                    "list the answers to expect instead.",
                )
        return target
