"""The importers: an Uptime Kuma database (1.23 and 2.x, built in Kuma's own schema) and
Healthchecks' checks JSON become the exact configuration document, with everything left out
or changed listed; and whatever the file holds, the answer is a document or a ValueError."""

from __future__ import annotations

import json
import sqlite3

import pytest

from app.services import importers
from app.services.importers import healthchecks, uptime_kuma
from tests import import_sources, kuma_schema

KUMA_2 = {
    "upcron": 1,
    "groups": [{"name": "Production"}, {"name": "Databases"}, {"name": "Old"}],
    "tags": [
        {"name": "env:prod", "colour": "#059669"},
        {"name": "team", "colour": "#2563eb"},
        {"name": "env", "colour": "#059669"},
    ],
    "channels": [
        {
            "name": "Ops mail",
            "type": "email",
            "enabled": True,
            "is_default": True,
            "addresses": ["ops@example.com", "oncall@example.com"],
        },
        {
            "name": "Hook",
            "type": "webhook",
            "enabled": False,
            "is_default": False,
            "url": "https://hooks.example.com/kuma",
            "headers": {"X-Token": "t0ken"},
        },
        {
            "name": "Chat",
            "type": "apprise",
            "enabled": True,
            "is_default": False,
            "url": "tgram://123456:ABCdef/-1001",
        },
    ],
    "monitors": [
        {
            "slug": "api",
            "type": "http",
            "name": "API",
            "description": "Public API",
            "url": "https://api.example.com/health",
            "method": "POST",
            "body": '{"ping": true}',
            "headers": {"X-Env": "prod", "Content-Type": "application/json"},
            "auth_username": "monitor",
            "auth_password": "s3cret",
            "expected_status": "200-299,301",
            "follow_redirects": True,
            "max_redirects": 5,
            "tls_verify": False,
            "interval_sec": 30,
            "timeout_ms": 12500,
            "failure_threshold": 3,
            "group": "Production",
            "tags": ["env:prod", "team"],
            "channels": ["Ops mail", "Hook"],
            "paused": False,
        },
        {
            "slug": "shop",
            "type": "keyword",
            "name": "Shop",
            "url": "https://shop.example.com/",
            "method": "GET",
            "headers": {},
            "expected_status": "200-299",
            "follow_redirects": False,
            "tls_verify": True,
            "keyword": "Add to cart",
            "keyword_absent": True,
            "interval_sec": 120,
            "timeout_ms": 60000,
            "failure_threshold": 1,
            "group": None,
            "tags": [],
            "channels": [],
            "paused": False,
        },
        {
            "slug": "queue",
            "type": "http",
            "name": "Queue",
            "url": "https://api.example.com/queue",
            "method": "GET",
            "headers": {},
            "expected_status": "200-299",
            "follow_redirects": True,
            "max_redirects": 10,
            "tls_verify": True,
            "assertions": [{"source": "json", "path": "queue.depth", "op": "lt", "value": 10}],
            "interval_sec": 60,
            "timeout_ms": 48000,
            "failure_threshold": 1,
            "group": None,
            "tags": [],
            "channels": [],
            "paused": False,
        },
        {
            "slug": "postgres",
            "type": "tcp",
            "name": "Postgres",
            "host": "db.example.com",
            "port": 5432,
            "interval_sec": 60,
            "timeout_ms": 48000,
            "failure_threshold": 1,
            "group": "Databases",
            "tags": ["env"],
            "channels": ["Chat"],
            "paused": False,
        },
        {
            "slug": "mail-exchanger",
            "type": "dns",
            "name": "Mail exchanger",
            "host": "example.com",
            "record_type": "MX",
            "resolver": "1.1.1.1:5353",
            "expected_values": ["mail.example.com"],
            "interval_sec": 300,
            "timeout_ms": 5000,
            "failure_threshold": 1,
            "group": None,
            "tags": ["team"],
            "channels": [],
            "paused": False,
        },
        {
            "slug": "router",
            "type": "ping",
            "name": "Router",
            "host": "gateway.example.com",
            "packets": 3,
            "max_loss_pct": 66,
            "interval_sec": 60,
            "timeout_ms": 10000,
            "failure_threshold": 1,
            "group": "Old",
            "tags": [],
            "channels": [],
            "paused": True,
        },
        {
            "slug": "api-2",
            "type": "http",
            "name": "API",
            "url": "https://api2.example.com/",
            "method": "GET",
            "headers": {},
            "expected_status": "200-299",
            "follow_redirects": True,
            "max_redirects": 10,
            "tls_verify": True,
            "interval_sec": 20,
            "timeout_ms": 48000,
            "failure_threshold": 1,
            "group": None,
            "tags": [],
            "channels": [],
            "paused": False,
        },
    ],
    "heartbeats": [
        {
            "slug": "backup",
            "name": "Backup",
            "code": "c8e78d48-3324-55dc-b563-36f737adf806",
            "push_token": "Zk3pQ9xLmN2vB7cR4tY8uW1sA6dE5fGh",
            "period_sec": 86400,
            "grace_sec": 600,
            "group": None,
            "tags": [],
            "channels": ["Ops mail"],
            "paused": False,
        },
        {
            "slug": "quick",
            "name": "Quick",
            "period_sec": 60,
            "grace_sec": 60,
            "group": None,
            "tags": [],
            "channels": [],
            "paused": True,
        },
    ],
}

KUMA_SKIPPED = [
    {
        "name": "Pager",
        "kind": "channel",
        "reason": (
            "Upcron has no pushover channel; if Apprise can send it, add it as an Apprise URL."
        ),
    },
    {
        "name": "Items",
        "kind": "json-query",
        "reason": (
            "Its JSON query '$count(items)' is not a plain path Upcron can read as "
            "JMESPath; add it as a response assertion by hand."
        ),
    },
    {"name": "Container", "kind": "docker", "reason": "Upcron has no docker monitors."},
    {
        "name": "Flipped",
        "kind": "http",
        "reason": "Upside-down mode (up when the check fails) has no Upcron equivalent.",
    },
    {"name": "Intranet", "kind": "http", "reason": "Upcron cannot authenticate with ntlm."},
]

KUMA_WARNINGS_2 = [
    {
        "name": "Ops mail",
        "kind": "channel",
        "message": (
            "Sent through this server's own mail settings; the SMTP server, sender "
            "and subject set in Uptime Kuma are not carried over."
        ),
    },
    {
        "name": "Hook",
        "kind": "channel",
        "message": (
            "Upcron posts its own JSON body, not Uptime Kuma's (nor a custom body "
            "or form data): check what the receiving end expects."
        ),
    },
    {
        "name": "Databases",
        "kind": "group",
        "message": (
            "Upcron groups do not nest: this group's monitors are in a group of "
            "their own, not inside its parent."
        ),
    },
    {
        "name": "Quick",
        "kind": "push",
        "message": "Heartbeat interval (seconds) 20 is outside 60–31,536,000; using 60.",
    },
    {
        "name": "Quick",
        "kind": "push",
        "message": (
            "Its push token cannot be kept: push to the new push URL on its page, or to its "
            "ping URL (/ping/<code>, and /ping/<code>/fail instead of ?status=down)."
        ),
    },
]

HC = {
    "upcron": 1,
    "tags": [{"name": "prod"}, {"name": "www"}],
    "heartbeats": [
        {
            "slug": "backups",
            "name": "Backups",
            "code": "f618072a-7bde-4eee-af63-71a77c5723bc",
            "description": "Nightly database dump",
            "period_sec": 86400,
            "grace_sec": 900,
            "manual_resume": True,
            "tags": ["prod", "www"],
            "paused": False,
        },
        {
            "slug": "nightly-report",
            "name": "Nightly report",
            "code": "b2b1a0c3-5f3e-4a4c-9d3f-2b2b8a1c9e11",
            "cron_expr": "15 5 * * 1-5",
            "timezone": "Europe/Riga",
            "grace_sec": 3600,
            "manual_resume": False,
            "tags": ["prod"],
            "paused": False,
        },
        {
            "slug": "legacy",
            "name": "Legacy",
            "code": "0e6d3c1b-1a2b-4c3d-8e9f-aabbccddeeff",
            "period_sec": 60,
            "grace_sec": 3600,
            "manual_resume": False,
            "tags": [],
            "paused": True,
        },
    ],
}

HC_SKIPPED = [
    {
        "name": "Read only",
        "kind": "heartbeat",
        "reason": (
            "The file was exported with a read-only API key, which leaves out the "
            "check's UUID (its ping URL); export it again with a read-write key."
        ),
    },
    {
        "name": "Calendar",
        "kind": "heartbeat",
        "reason": (
            "Its schedule 'Mon..Fri *-*-* 09:00' is not a cron expression Upcron "
            "reads: Expected 5 fields (minute hour day-of-month month "
            "day-of-week), got 3"
        ),
    },
]

HC_WARNINGS = [
    {
        "name": "Backups",
        "kind": "heartbeat",
        "message": "Healthchecks took only POST pings for it; Upcron takes any.",
    },
    {
        "name": "Nightly report",
        "kind": "heartbeat",
        "message": "Grace time (seconds) 7,200 is outside 60–3,600; using 3,600.",
    },
    {
        "name": "Nightly report",
        "kind": "heartbeat",
        "message": (
            "Its keyword filters (start, success and failure keywords) are not "
            "carried over: ping /start and /fail for those instead."
        ),
    },
    {
        "name": "Legacy",
        "kind": "heartbeat",
        "message": "Period (seconds) 30 is outside 60–31,536,000; using 60.",
    },
    {
        "name": "Integrations",
        "kind": "channel",
        "message": (
            "Healthchecks integrations are not in this export: the heartbeats "
            "notify the channels marked default for new items; choose others after "
            "the import."
        ),
    },
]


def kuma_1_23() -> dict:
    """What 1.23 gives for the same rows: its JSON query is always "==" (here on "status"),
    its ping sends one packet, and its dns monitors have no conditions."""
    document = json.loads(json.dumps(KUMA_2))
    by_slug = {item["slug"]: item for item in document["monitors"]}
    by_slug["queue"]["assertions"] = [
        {"source": "json", "path": "status", "op": "eq", "value": "ok"}
    ]
    by_slug["router"] |= {"packets": 1, "max_loss_pct": 0}
    by_slug["mail-exchanger"]["expected_values"] = []
    return document


def test_kuma_2_database_becomes_the_document(tmp_path):
    conversion = importers.convert("uptime-kuma", import_sources.kuma_database(tmp_path, "2"))
    assert conversion.document == KUMA_2
    assert conversion.skipped == KUMA_SKIPPED
    assert conversion.warnings == KUMA_WARNINGS_2


def test_kuma_1_23_database_becomes_the_document(tmp_path):
    conversion = importers.convert("uptime-kuma", import_sources.kuma_database(tmp_path, "1.23"))
    assert conversion.document == kuma_1_23()
    assert conversion.skipped == KUMA_SKIPPED
    assert conversion.warnings == KUMA_WARNINGS_2


def test_kuma_push_code_is_a_uuid_derived_from_the_push_token(tmp_path):
    """Converting the same database twice plans the same ping codes."""
    raw = import_sources.kuma_database(tmp_path, "2")
    first = importers.convert("uptime-kuma", raw).document["heartbeats"][0]["code"]
    assert first == importers.convert("uptime-kuma", raw).document["heartbeats"][0]["code"]
    assert first == str(
        uptime_kuma.uuid.uuid5(uptime_kuma.PUSH_NAMESPACE, import_sources.PUSH_TOKEN)
    )
    assert healthchecks.ping_code({"uuid": first}) == first


def test_healthchecks_checks_become_heartbeats_with_their_uuids():
    raw = json.dumps(import_sources.healthchecks_checks()).encode()
    conversion = importers.convert("healthchecks", raw)
    assert conversion.document == HC
    assert conversion.skipped == HC_SKIPPED
    assert conversion.warnings == HC_WARNINGS


@pytest.mark.parametrize(
    "check, code",
    [
        ({"uuid": "F618072A-7BDE-4EEE-AF63-71A77C5723BC"}, "f618072a-7bde-4eee-af63-71a77c5723bc"),
        ({"ping_url": "https://hc-ping.com/f618072a-7bde-4eee-af63-71a77c5723bc"}, None),
        ({"ping_url": "https://hc.example.org/ping/f618072a-7bde-4eee-af63-71a77c5723bc/"}, None),
        ({"ping_url": "https://hc-ping.com/fqOOd6-F4MMNuCEnzTU01w/backups"}, "none"),
        ({"uuid": None, "ping_url": None}, "none"),
        ({"uuid": 12, "ping_url": ["x"]}, "none"),
        ({"ping_url": "http://[::1"}, "none"),
    ],
)
def test_healthchecks_ping_code_comes_from_the_uuid_or_the_ping_url(check, code):
    expected = {None: "f618072a-7bde-4eee-af63-71a77c5723bc", "none": None}.get(code, code)
    assert healthchecks.ping_code(check) == expected


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="uptime-kuma, healthchecks"):
        importers.convert("cronitor", b"{}")


# Hostile input


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "not SQLite"),
        (b"hello", "not SQLite"),
        (b'{"checks": []}', "not SQLite"),
        (uptime_kuma.SQLITE_MAGIC + b"\x00" * 200, "cannot be read"),
    ],
)
def test_kuma_refuses_what_is_not_a_database(raw, message):
    with pytest.raises(ValueError, match=message):
        uptime_kuma.convert(raw)


def test_kuma_refuses_a_database_without_its_tables(tmp_path):
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute(kuma_schema.TAG)
    connection.commit()
    connection.close()
    with pytest.raises(
        ValueError, match="no monitor, monitor_tag, notification, monitor_notification tables"
    ):
        uptime_kuma.convert(path.read_bytes())


def test_kuma_database_is_not_changed_or_trusted(tmp_path):
    """A view posing as a table is not one; the file's bytes stay as they were."""
    raw = import_sources.kuma_database(tmp_path, "2")
    path = tmp_path / "kuma-2.db"
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE tag")
    connection.execute("CREATE VIEW tag AS SELECT 1 AS id, 'x' AS name, '#000000' AS color")
    connection.commit()
    connection.close()
    with pytest.raises(ValueError, match="no tag table"):
        uptime_kuma.convert(path.read_bytes())
    assert importers.convert("uptime-kuma", raw).document == KUMA_2


def kuma_with(tmp_path, *rows: dict) -> bytes:
    path = tmp_path / "hostile.db"
    connection = kuma_schema.create(path, "2")
    for row in rows:
        names = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" for _ in row)
        connection.execute(f"INSERT INTO monitor ({names}) VALUES ({marks})", list(row.values()))
    connection.commit()
    connection.close()
    return path.read_bytes()


def test_kuma_values_of_any_type_or_size_are_clamped_or_skipped(tmp_path):
    raw = kuma_with(
        tmp_path,
        {
            "id": 1,
            "name": "x" * 10_000,
            "type": "http",
            "url": "https://example.com/",
            "interval": "9" * 400,  # SQLite keeps text in an INTEGER column when it must
            "maxretries": 10**12,
            "timeout": 1e300,
            "maxredirects": 99,
            "accepted_statuscodes_json": '["200-299"]',
        },
        {"id": 2, "name": "Nul\x00name", "type": "port", "hostname": "db.example.com", "port": 1},
        {"id": 3, "name": "Bad codes", "type": "http", "accepted_statuscodes_json": '["999-1"]'},
        {"id": 4, "name": "Bad headers", "type": "http", "headers": "[1, 2]"},
        {
            "id": 9,
            "name": "Deep headers",
            "type": "http",
            "headers": '{"a":' + "[" * 900 + "]" * 900 + "}",
        },
        {
            "id": 5,
            "name": "Huge value",
            "type": "json-query",
            "json_path": "a",
            "json_path_operator": "==",
            "expected_value": "v" * 5000,
        },
        {
            "id": 6,
            "name": "Bad record",
            "type": "dns",
            "hostname": "example.com",
            "dns_resolve_type": "ANY",
        },
        {"id": 7, "name": "Odd method", "type": "http", "method": "BREW"},
        {"id": 8, "type": "mqtt"},
    )
    conversion = uptime_kuma.convert(raw)
    [monitor] = conversion.document["monitors"]
    assert monitor["name"] == "x" * uptime_kuma.NAME_MAX
    assert monitor["slug"] == "x" * 100
    assert (monitor["interval_sec"], monitor["failure_threshold"]) == (86400, 100)
    assert (monitor["timeout_ms"], monitor["max_redirects"]) == (60000, 10)
    reasons = {item["name"]: item["reason"] for item in conversion.skipped}
    assert reasons == {
        "Nul\x00name": "Its settings contain NUL characters or broken Unicode, which Upcron "
        "cannot store.",
        "Bad codes": reasons["Bad codes"],
        "Bad headers": "Its headers are not a JSON object of text values.",
        "Deep headers": "Its headers are not a JSON object of text values.",
        "Huge value": "Its JSON query cannot be an assertion: Use at most 1000 characters, "
        "written as JSON.",
        "Bad record": "Upcron cannot look up ANY records.",
        "Odd method": "Upcron cannot send BREW requests.",
        "Monitor 8": "Upcron has no mqtt monitors.",
    }
    assert reasons["Bad codes"].startswith("Its accepted status codes cannot be read:")
    clamped = [w["message"] for w in conversion.warnings]
    assert {
        "Interval (seconds) 1,000,000,000,000,000 is outside 10–86,400; using 86,400.",
        "Timeout (ms) 1,000,000,000,000,000,000 is outside 100–60,000; using 60,000.",
        "Failure threshold (retries + 1) 1,000,000,000,001 is outside 1–100; using 100.",
    } <= set(clamped)
    assert "Redirects 99 is outside 0–10; using 10." in clamped


def test_kuma_text_that_is_not_utf8_is_read_with_replacements(tmp_path):
    path = tmp_path / "latin1.db"
    connection = kuma_schema.create(path, "1.23")
    connection.execute(
        "INSERT INTO monitor (id, name, type, hostname, port) VALUES (1, CAST(? AS TEXT), 'port', "
        "'db.example.com', 5432)",
        [b"Caf\xe9"],
    )
    connection.commit()
    connection.close()
    [monitor] = uptime_kuma.convert(path.read_bytes()).document["monitors"]
    assert monitor["name"] == "Caf\ufffd"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "Not a JSON document"),
        (b"\xff\xfe\x00garbage", "Not a JSON document"),
        (b"[" * 100_000 + b"]" * 100_000, "Not a JSON document"),
        (b'{"checks": 1}', 'list of "checks"'),
        (b"[]", 'list of "checks"'),
        (b'"checks"', 'list of "checks"'),
        (b'{"checks": [' + b"9" * 5000 + b"]}", "Not a JSON document"),
    ],
)
def test_healthchecks_refuses_what_is_not_its_checks(raw, message):
    with pytest.raises(ValueError, match=message):
        healthchecks.convert(raw)


def test_healthchecks_odd_checks_are_skipped_or_clamped():
    code = "0e6d3c1b-1a2b-4c3d-8e9f-aabbccddeeff"
    raw = json.dumps(
        {
            "checks": [
                "not a check",
                {"name": "Nul\x00", "uuid": code, "timeout": 60},
                {"name": "Surrogate", "desc": "\ud800", "uuid": code, "timeout": 60},
                {"name": "No schedule", "uuid": code, "timeout": "soon"},
                {"name": "Bad zone", "uuid": code, "schedule": "* * * * *", "tz": "Mars/Base"},
                {"name": "Huge", "uuid": code, "timeout": 1e300, "grace": -5, "tags": "a,b ok"},
                {"uuid": import_sources.HC_BACKUP, "timeout": 3600, "slug": "by-slug"},
            ]
        }
    ).encode()
    conversion = healthchecks.convert(raw)
    assert [item["name"] for item in conversion.skipped] == [
        "#1",
        "Nul\x00",
        "Surrogate",
        "No schedule",
        "Bad zone",
    ]
    huge, by_slug = conversion.document["heartbeats"]
    assert (huge["period_sec"], huge["grace_sec"], huge["tags"]) == (365 * 86400, 60, ["ok"])
    assert (by_slug["name"], by_slug["slug"]) == ("by-slug", "by-slug")
    assert conversion.document["tags"] == [{"name": "ok"}]
    assert "Tag 'a,b' left out: A tag name cannot contain commas or control characters." in [
        w["message"] for w in conversion.warnings
    ]


def test_kuma_tags_are_listed_once_and_only_when_an_imported_monitor_carries_them(tmp_path):
    path = tmp_path / "tags.db"
    connection = kuma_schema.create(path, "2")
    connection.execute("INSERT INTO monitor (id, name, type) VALUES (1, 'Box', 'docker')")
    connection.execute(
        "INSERT INTO monitor (id, name, type, hostname, port) "
        "VALUES (2, 'DB', 'port', 'db.example.com', 5432)"
    )
    names = ["docker-only", "Env", "env", "bad,name", *(f"t{n}" for n in range(25))]
    for n, name in enumerate(names, start=1):
        connection.execute("INSERT INTO tag (id, name, color) VALUES (?, ?, 'red')", [n, name])
        connection.execute(
            "INSERT INTO monitor_tag (monitor_id, tag_id, value) VALUES (?, ?, '')",
            [1 if name == "docker-only" else 2, n],
        )
    connection.commit()
    connection.close()
    conversion = uptime_kuma.convert(path.read_bytes())
    [monitor] = conversion.document["monitors"]
    assert monitor["tags"] == ["Env", *(f"t{n}" for n in range(19))]
    assert conversion.document["tags"] == [{"name": name} for name in monitor["tags"]]
    assert [w["message"] for w in conversion.warnings] == [
        "Tag 'bad,name' left out: A tag name cannot contain commas or control characters.",
        "Only 20 tags fit on one item; left out: t19, t20, t21, t22, t23, t24.",
    ]


def test_kuma_skipped_monitors_take_no_slug(tmp_path):
    raw = kuma_with(
        tmp_path,
        {"id": 1, "name": "API", "type": "http", "auth_method": "mtls"},
        {"id": 2, "name": "API", "type": "port", "hostname": "db.example.com", "port": 1},
        {"id": 3, "name": "API", "type": "push"},
    )
    conversion = uptime_kuma.convert(raw)
    assert [m["slug"] for m in conversion.document["monitors"]] == ["api"]
    assert [h["slug"] for h in conversion.document["heartbeats"]] == ["api-2"]
    assert conversion.skipped == [
        {"name": "API", "kind": "http", "reason": "Upcron cannot authenticate with mtls."}
    ]


def test_kuma_refuses_a_monitor_table_that_is_not_kumas(tmp_path):
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    for statement in (kuma_schema.TAG, kuma_schema.MONITOR_TAG, kuma_schema.NOTIFICATION):
        connection.execute(statement)
    connection.execute(kuma_schema.MONITOR_NOTIFICATION)
    connection.execute("CREATE TABLE monitor (x TEXT)")
    connection.execute("INSERT INTO monitor VALUES ('a'), ('b')")
    connection.commit()
    connection.close()
    with pytest.raises(ValueError, match="its monitor table has no id, name, type"):
        uptime_kuma.convert(path.read_bytes())


def test_kuma_notifications_without_an_address_are_skipped(tmp_path):
    kuma_with(tmp_path)  # an empty Kuma 2.x database at tmp_path / "hostile.db"
    path = tmp_path / "hostile.db"
    connection = sqlite3.connect(path)
    configs = [
        {"type": "webhook", "webhookURL": " "},
        {"type": "telegram", "telegramBotToken": "123:abc"},
        {"type": "slack"},
        {"type": "smtp", "smtpTo": ", "},
        "not json",
    ]
    for n, config in enumerate(configs, start=1):
        connection.execute(
            "INSERT INTO notification (id, name, user_id, config) VALUES (?, ?, 1, ?)",
            [n, f"N{n}", config if isinstance(config, str) else json.dumps(config)],
        )
    connection.commit()
    connection.close()
    conversion = uptime_kuma.convert(path.read_bytes())
    assert "channels" not in conversion.document
    assert [(s["name"], s["reason"]) for s in conversion.skipped] == [
        ("N1", "The webhook notification has no URL."),
        ("N2", "The telegram notification has no address to send to."),
        ("N3", "The slack notification has no address to send to."),
        ("N4", "The e-mail notification has no recipients."),
        ("N5", "Upcron has no untyped channel; if Apprise can send it, add it as an Apprise URL."),
    ]


def test_a_ping_code_is_given_to_one_heartbeat_only(tmp_path):
    raw = kuma_with(
        tmp_path,
        {"id": 1, "name": "One", "type": "push", "push_token": "same"},
        {"id": 2, "name": "Two", "type": "push", "push_token": "same"},
    )
    conversion = uptime_kuma.convert(raw)
    assert [h["name"] for h in conversion.document["heartbeats"]] == ["One"]
    assert conversion.skipped == [
        {
            "name": "Two",
            "kind": "push",
            "reason": "Another heartbeat in the file has the same ping code.",
        }
    ]
    code = import_sources.HC_BACKUP
    checks = [{"name": name, "uuid": code, "timeout": 60} for name in ("One", "Two")]
    conversion = healthchecks.convert(json.dumps({"checks": checks}).encode())
    assert [h["name"] for h in conversion.document["heartbeats"]] == ["One"]
    assert [s["name"] for s in conversion.skipped] == ["Two"]


@pytest.mark.parametrize(
    "conditions",
    [
        [{**import_sources.EQUALS_MAIL, "operator": "contains"}],
        [import_sources.EQUALS_MAIL, {**import_sources.EQUALS_MAIL, "andOr": "or"}],
        [{"type": "group", "children": [import_sources.EQUALS_MAIL]}],
        [{**import_sources.EQUALS_MAIL, "value": " "}],
        ["record"],
    ],
)
def test_kuma_dns_conditions_beyond_one_equals_are_a_warning(tmp_path, conditions):
    raw = kuma_with(
        tmp_path,
        {
            "id": 1,
            "name": "DNS",
            "type": "dns",
            "hostname": "example.com",
            "conditions": json.dumps(conditions),
        },
    )
    conversion = uptime_kuma.convert(raw)
    assert conversion.document["monitors"][0]["expected_values"] == []
    assert [w["message"] for w in conversion.warnings] == [
        'Its conditions are not carried over (only one "record equals" can be); '
        "list the answers to expect instead."
    ]


def test_healthchecks_documented_example_becomes_two_heartbeats():
    conversion = healthchecks.convert(import_sources.HC_DOCS_READ_WRITE.encode())
    assert conversion.document == {
        "upcron": 1,
        "tags": [{"name": "backup"}, {"name": "fs"}, {"name": "production"}, {"name": "db"}],
        "heartbeats": [
            {
                "slug": "filesystem-backup",
                "name": "Filesystem Backup",
                "code": "31365bce-8da9-4729-8ff3-aaa71d56b712",
                "description": "Runs incremental backup every hour",
                "period_sec": 3600,
                "grace_sec": 600,
                "manual_resume": False,
                "tags": ["backup", "fs"],
                "paused": False,
            },
            {
                "slug": "database-backup",
                "name": "Database Backup",
                "code": "803f680d-e89b-492b-82ef-2be7b774a92d",
                "description": "Runs ~/db-backup.sh",
                "cron_expr": "15 5 * * *",
                "timezone": "UTC",
                "grace_sec": 1200,
                "manual_resume": False,
                "tags": ["production", "db"],
                "paused": False,
            },
        ],
    }
    assert conversion.skipped == []
    assert [(w["name"], w["kind"]) for w in conversion.warnings] == [
        ("Filesystem Backup", "heartbeat"),  # its subject filter
        ("Integrations", "channel"),
    ]


def test_healthchecks_documented_read_only_example_is_skipped_with_the_way_out():
    conversion = healthchecks.convert(import_sources.HC_DOCS_READ_ONLY.encode())
    assert conversion.document == {"upcron": 1}
    assert conversion.skipped == [
        {"name": name, "kind": "heartbeat", "reason": healthchecks.READ_ONLY}
        for name in ("Filesystem Backup", "Database Backup")
    ]
