"""What the importers read, built by the tests: an Uptime Kuma database (1.23 or 2.x, in
Kuma's own table definitions) holding a monitor of every kind Upcron maps and several it
does not, with groups, tags and notifications; and the JSON Healthchecks' API documents for
``GET /api/v3/checks/`` (a simple check, a cron check, a paused one, one read with a
read-only key, one on a calendar schedule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests import kuma_schema

PUSH_TOKEN = "Zk3pQ9xLmN2vB7cR4tY8uW1sA6dE5fGh"
# A Kuma 2.x dns monitor's condition, as its editor saves it.
EQUALS_MAIL = {
    "type": "expression",
    "andOr": "and",
    "variable": "record",
    "operator": "equals",
    "value": "mail.example.com",
}


def _insert(connection, table: str, row: dict[str, Any]) -> None:
    names = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join("?" for _ in row)
    connection.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(row.values()))


def kuma_monitors(version: str) -> list[dict[str, Any]]:
    """Monitor rows as Kuma's UI saves them; 2.x rows carry the columns 2.x added."""
    v2 = version == "2"
    return [
        {"id": 1, "name": "Production", "type": "group", "interval": 60},
        {"id": 2, "name": "Databases", "type": "group", "parent": 1, "interval": 60},
        {"id": 3, "name": "Old", "type": "group", "active": 0, "interval": 60},
        {
            "id": 10,
            "name": "API",
            "type": "http",
            "parent": 1,
            "description": "Public API",
            "url": "https://api.example.com/health",
            "method": "POST",
            "body": '{"ping": true}',
            "http_body_encoding": "json",
            "headers": '{"X-Env": "prod"}',
            "auth_method": "basic",
            "basic_auth_user": "monitor",
            "basic_auth_pass": "s3cret",
            "interval": 30,
            "retry_interval": 30,
            "maxretries": 2,
            "timeout": 12.5,
            "accepted_statuscodes_json": '["200-299","301"]',
            "maxredirects": 5,
            "ignore_tls": 1,
        },
        {
            "id": 11,
            "name": "Shop",
            "type": "keyword",
            "url": "https://shop.example.com/",
            "keyword": "Add to cart",
            "invert_keyword": 1,
            "interval": 120,
            "timeout": 0,
            "maxredirects": 0,
        },
        {
            "id": 12,
            "name": "Queue",
            "type": "json-query",
            "url": "https://api.example.com/queue",
            "json_path": "$.queue.depth" if v2 else "status",
            "expected_value": "10" if v2 else "ok",
            "interval": 60,
            "timeout": 48,
            **({"json_path_operator": "<"} if v2 else {}),
        },
        {
            "id": 13,
            "name": "Items",
            "type": "json-query",
            "url": "https://api.example.com/items",
            "json_path": "$count(items)",
            "expected_value": "3",
            **({"json_path_operator": "=="} if v2 else {}),
        },
        {
            "id": 20,
            "name": "Postgres",
            "type": "port",
            "parent": 2,
            "hostname": "db.example.com",
            "port": 5432,
            "interval": 60,
            "timeout": 48,
        },
        {
            "id": 21,
            "name": "Mail exchanger",
            "type": "dns",
            "hostname": "example.com",
            "dns_resolve_type": "MX",
            "dns_resolve_server": "1.1.1.1",
            "port": 5353,
            "interval": 300,
            "timeout": 5,
            **({"conditions": json.dumps([EQUALS_MAIL])} if v2 else {}),
        },
        {
            "id": 22,
            "name": "Router",
            "type": "ping",
            "parent": 3,
            "hostname": "gateway.example.com",
            "interval": 60,
            "timeout": 10,
            **({"ping_count": 3} if v2 else {}),
        },
        {
            "id": 30,
            "name": "Backup",
            "type": "push",
            "push_token": PUSH_TOKEN,
            "interval": 86400,
            "maxretries": 1,
            "retry_interval": 600,
        },
        {"id": 31, "name": "Quick", "type": "push", "interval": 20, "active": 0},
        {"id": 40, "name": "Container", "type": "docker", "docker_container": "web"},
        {
            "id": 41,
            "name": "Flipped",
            "type": "http",
            "url": "https://flipped.example.com/",
            "upside_down": 1,
        },
        {
            "id": 42,
            "name": "Intranet",
            "type": "http",
            "url": "https://intranet.example.com/",
            "auth_method": "ntlm",
        },
        {
            "id": 43,
            "name": "API",
            "type": "http",
            "url": "https://api2.example.com/",
            "timeout": 48,
        },
    ]


KUMA_NOTIFICATIONS = [
    {
        "id": 1,
        "name": "Ops mail",
        "user_id": 1,
        "is_default": 1,
        "config": json.dumps(
            {"name": "Ops mail", "type": "smtp", "smtpTo": "ops@example.com, oncall@example.com"}
        ),
    },
    {
        "id": 2,
        "name": "Hook",
        "user_id": 1,
        "active": 0,
        "config": json.dumps(
            {
                "name": "Hook",
                "type": "webhook",
                "webhookURL": "https://hooks.example.com/kuma",
                "webhookContentType": "json",
                "webhookAdditionalHeaders": '{"X-Token": "t0ken"}',
            }
        ),
    },
    {
        "id": 3,
        "name": "Chat",
        "user_id": 1,
        "config": json.dumps(
            {
                "name": "Chat",
                "type": "telegram",
                "telegramBotToken": "123456:ABCdef",
                "telegramChatID": "-1001",
            }
        ),
    },
    {
        "id": 4,
        "name": "Pager",
        "user_id": 1,
        "config": json.dumps({"name": "Pager", "type": "pushover", "pushoveruserkey": "u"}),
    },
]


def kuma_database(directory: Path, version: str) -> bytes:
    """The bytes of a Kuma database of ``version`` ("1.23" or "2") with the rows above."""
    path = directory / f"kuma-{version}.db"
    connection = kuma_schema.create(path, version)
    for row in kuma_monitors(version):
        _insert(connection, "monitor", row)
    for row in KUMA_NOTIFICATIONS:
        _insert(connection, "notification", row)
    for tag in (
        {"id": 1, "name": "env", "color": "#059669"},
        {"id": 2, "name": "team", "color": "#2563EB"},
    ):
        _insert(connection, "tag", tag)
    for monitor_id, tag_id, value in ((10, 1, "prod"), (20, 1, ""), (10, 2, None), (21, 2, "")):
        _insert(
            connection, "monitor_tag", {"monitor_id": monitor_id, "tag_id": tag_id, "value": value}
        )
    for n, (monitor_id, notification_id) in enumerate(
        ((10, 1), (10, 2), (20, 3), (30, 4), (30, 1))
    ):
        _insert(
            connection,
            "monitor_notification",
            {"id": n + 1, "monitor_id": monitor_id, "notification_id": notification_id},
        )
    connection.commit()
    connection.close()
    return path.read_bytes()


HC_BACKUP = "f618072a-7bde-4eee-af63-71a77c5723bc"
HC_NIGHTLY = "b2b1a0c3-5f3e-4a4c-9d3f-2b2b8a1c9e11"
HC_PAUSED = "0e6d3c1b-1a2b-4c3d-8e9f-aabbccddeeff"


def _hc_check(code: str, **fields: Any) -> dict[str, Any]:
    """A check as GET /api/v3/checks/ returns it to a read-write key."""
    base = f"https://healthchecks.io/api/v3/checks/{code}"
    return {
        "name": "",
        "slug": "",
        "tags": "",
        "desc": "",
        "grace": 3600,
        "n_pings": 0,
        "status": "new",
        "started": False,
        "last_ping": None,
        "next_ping": None,
        "manual_resume": False,
        "methods": "",
        "subject": "",
        "subject_fail": "",
        "start_kw": "",
        "success_kw": "",
        "failure_kw": "",
        "filter_subject": False,
        "filter_body": False,
        "filter_http_body": False,
        "filter_default_fail": False,
        "badge_url": "https://healthchecks.io/b/2/0c7d2e13-4f37-4a5c-b3b9-5d7d8f0f2c43.svg",
        "uuid": code,
        "ping_url": f"https://hc-ping.com/{code}",
        "update_url": base,
        "pause_url": f"{base}/pause",
        "resume_url": f"{base}/resume",
        "channels": "",
        **fields,
    }


def healthchecks_checks() -> dict[str, Any]:
    """The JSON of GET /api/v3/checks/, as its documentation shows it."""
    readonly = _hc_check(HC_BACKUP, name="Read only", slug="read-only", timeout=3600)
    for key in ("uuid", "ping_url", "update_url", "pause_url", "resume_url", "channels"):
        del readonly[key]
    readonly["unique_key"] = "a6c7b0a8a66bed0df66abfdab3c77736861703ee"
    return {
        "checks": [
            _hc_check(
                HC_BACKUP,
                name="Backups",
                slug="backups",
                tags="prod www",
                desc="Nightly database dump",
                grace=900,
                n_pings=12,
                status="up",
                last_ping="2026-12-01T03:00:11+00:00",
                next_ping="2026-12-02T03:00:11+00:00",
                manual_resume=True,
                methods="POST",
                channels="4ec5a071-2d08-4baa-898a-eb4eb3cd6941",
                timeout=86400,
            ),
            _hc_check(
                HC_NIGHTLY,
                name="Nightly report",
                slug="nightly-report",
                tags="prod",
                grace=7200,
                schedule="15 5 * * 1-5",
                tz="Europe/Riga",
                filter_body=True,
                failure_kw="ERROR",
            ),
            _hc_check(
                HC_PAUSED,
                name="Legacy",
                status="paused",
                timeout=30,
                ping_url=f"https://hc.example.org/ping/{HC_PAUSED.upper()}",
                uuid=None,
            ),
            readonly,
            _hc_check(
                "6e5a2f8d-1c3b-4a7e-9f0d-2b4c6d8e0f1a",
                name="Calendar",
                schedule="Mon..Fri *-*-* 09:00",
                tz="UTC",
            ),
        ]
    }


# The examples of GET /api/v3/checks/ in Healthchecks' API documentation (templates/docs/api.md),
# with its SITE_ROOT and PING_ENDPOINT as healthchecks.io has them: a read-write key's answer,
# and a read-only key's.
HC_DOCS_READ_WRITE = """
{
  "checks": [
    {
      "name": "Filesystem Backup",
      "slug": "filesystem-backup",
      "tags": "backup fs",
      "desc": "Runs incremental backup every hour",
      "grace": 600,
      "n_pings": 1,
      "status": "up",
      "started": false,
      "last_ping": "2020-03-24T14:02:03+00:00",
      "next_ping": "2020-03-24T15:02:03+00:00",
      "manual_resume": false,
      "methods": "",
      "start_kw": "START",
      "success_kw": "SUCCESS",
      "failure_kw": "ERROR",
      "filter_subject": true,
      "filter_body": false,
      "filter_http_body": false,
      "filter_default_fail": false,
      "badge_url": "https://healthchecks.io/b/2/1b9d0386-d07e-44b0-8995-4a9a372de43c.svg",
      "uuid": "31365bce-8da9-4729-8ff3-aaa71d56b712",
      "ping_url": "https://hc-ping.com/31365bce-8da9-4729-8ff3-aaa71d56b712",
      "update_url": "https://healthchecks.io/api/v3/checks/31365bce-8da9-4729-8ff3-aaa71d56b712",
      "pause_url": "https://healthchecks.io/api/v3/checks/31365bce-8da9-4729-8ff3-aaa71d56b712/pause",
      "resume_url": "https://healthchecks.io/api/v3/checks/31365bce-8da9-4729-8ff3-aaa71d56b712/resume",
      "channels": "1bdea468-03bf-47b8-ab27-29a9dd0e4b94,51c6eb2b-2ae1-456b-99fe-6f1e0a36cd3c",
      "timeout": 3600
    },
    {
      "name": "Database Backup",
      "slug": "database-backup",
      "tags": "production db",
      "desc": "Runs ~/db-backup.sh",
      "grace": 1200,
      "n_pings": 7,
      "status": "down",
      "started": false,
      "last_ping": "2020-03-23T10:19:32+00:00",
      "next_ping": null,
      "manual_resume": false,
      "methods": "",
      "start_kw": "",
      "success_kw": "",
      "failure_kw": "",
      "filter_subject": false,
      "filter_body": false,
      "filter_http_body": false,
      "filter_default_fail": false,
      "badge_url": "https://healthchecks.io/b/2/7d3ab93d-836e-4505-bbda-fcbd5e07adf9.svg",
      "uuid": "803f680d-e89b-492b-82ef-2be7b774a92d",
      "ping_url": "https://hc-ping.com/803f680d-e89b-492b-82ef-2be7b774a92d",
      "update_url": "https://healthchecks.io/api/v3/checks/803f680d-e89b-492b-82ef-2be7b774a92d",
      "pause_url": "https://healthchecks.io/api/v3/checks/803f680d-e89b-492b-82ef-2be7b774a92d/pause",
      "resume_url": "https://healthchecks.io/api/v3/checks/803f680d-e89b-492b-82ef-2be7b774a92d/resume",
      "channels": "1bdea468-03bf-47b8-ab27-29a9dd0e4b94,51c6eb2b-2ae1-456b-99fe-6f1e0a36cd3c",
      "schedule": "15 5 * * *",
      "tz": "UTC"
    }
  ]
}
"""  # noqa: E501
HC_DOCS_READ_ONLY = """
{
  "checks": [
    {
      "name": "Filesystem Backup",
      "slug": "filesystem-backup",
      "tags": "backup fs",
      "desc": "Runs incremental backup every hour",
      "grace": 600,
      "n_pings": 1,
      "status": "up",
      "started": false,
      "last_ping": "2020-03-24T14:02:03+00:00",
      "next_ping": "2020-03-24T15:02:03+00:00",
      "manual_resume": false,
      "methods": "",
      "start_kw": "START",
      "success_kw": "SUCCESS",
      "failure_kw": "ERROR",
      "filter_subject": true,
      "filter_body": false,
      "filter_http_body": false,
      "filter_default_fail": false,
      "badge_url": "https://healthchecks.io/b/2/1b9d0386-d07e-44b0-8995-4a9a372de43c.svg",
      "unique_key": "a6c7b0a8a66bed0df66abfdab3c77736861703ee",
      "timeout": 3600
    },
    {
      "name": "Database Backup",
      "slug": "database-backup",
      "tags": "production db",
      "desc": "Runs ~/db-backup.sh",
      "grace": 1200,
      "n_pings": 7,
      "status": "down",
      "started": false,
      "last_ping": "2020-03-23T10:19:32+00:00",
      "next_ping": null,
      "manual_resume": false,
      "methods": "",
      "start_kw": "",
      "success_kw": "",
      "failure_kw": "",
      "filter_subject": false,
      "filter_body": false,
      "filter_http_body": false,
      "filter_default_fail": false,
      "badge_url": "https://healthchecks.io/b/2/7d3ab93d-836e-4505-bbda-fcbd5e07adf9.svg",
      "unique_key": "124f983e0e3dcaeba921cfcef46efd084576e783",
      "schedule": "15 5 * * *",
      "tz": "UTC"
    }
  ]
}
"""  # noqa: E501
