"""The CronUptime facade, against facades.md section 1 (CronUptime's own code) and the
examples of its API documentation, sent verbatim with the host swapped."""

from __future__ import annotations

import json
import re
import secrets

import pytest

from app.extensions import db
from app.models import CronJob, Incident, Monitor
from app.services import api_keys, incidents
from app.services.errors import ValidationError
from app.web.compat import cronuptime

BASE = "/compat/cronuptime/api"
JSON = {"Content-Type": "application/json"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# The documentation's examples, as its curl commands send them.
DOCS_MONITOR = """{
    "name": "My API Monitor",
    "url": "https://api.example.com/health",
    "interval_sec": 300,
    "timeout_ms": 5000
  }"""
DOCS_CRON_JOB = """{
    "name": "Daily Backup",
    "url": "https://api.example.com/backup",
    "method": "POST",
    "cron_expr": "0 2 * * *",
    "timeout_ms": 30000
  }"""

# Column order and types of the rows (facades.md 1.4-1.6); "ms" is epoch milliseconds.
INT, STR, MS = int, str, "ms"
MONITOR_COLUMNS = [
    ("id", STR),
    ("name", (STR, None)),
    ("url", STR),
    ("urls", (STR, None)),
    ("interval_sec", INT),
    ("timeout_ms", INT),
    ("expected_min", (INT, None)),
    ("expected_max", (INT, None)),
    ("keyword", (STR, None)),
    ("is_active", "01"),
    ("next_run_at", (MS, None)),
    ("locked_at", (MS, None)),
    ("last_status", (STR, None)),
    ("last_latency_ms", (INT, None)),
    ("last_checked_at", (MS, None)),
    ("created_at", MS),
    ("recovery_period_sec", (INT, None)),
    ("confirmation_period_sec", (INT, None)),
    ("user_id", STR),
    ("headers_json", (STR, None)),
    ("body", (STR, None)),
    ("method", STR),
    ("use_tr_proxy", "01"),
]
CRON_COLUMNS = [
    ("id", STR),
    ("name", (STR, None)),
    ("url", STR),
    ("method", STR),
    ("headers_json", (STR, None)),
    ("body", (STR, None)),
    ("cron_expr", (STR, None)),
    ("interval_sec", (INT, None)),
    ("timeout_ms", INT),
    ("expected_min", (INT, None)),
    ("expected_max", (INT, None)),
    ("keyword", (STR, None)),
    ("is_active", "01"),
    ("next_run_at", (MS, None)),
    ("locked_at", (MS, None)),
    ("last_status", (STR, None)),
    ("last_run_at", (MS, None)),
    ("fail_streak", INT),
    ("created_at", MS),
    ("guest_ip", (STR, None)),
    ("expires_at", (MS, None)),
    ("user_id", STR),
]
INCIDENT_COLUMNS = [
    ("id", STR),
    ("type", STR),
    ("source_id", STR),
    ("started_at", MS),
    ("resolved_at", (MS, None)),
    ("last_update_at", MS),
    ("user_id", STR),
    ("cause", (STR, None)),
    ("http_status", (INT, None)),
    ("screenshot_url", (STR, None)),
]
INCIDENT_PLUS = [*INCIDENT_COLUMNS, ("source_name", (STR, None)), ("source_url", STR)]
EVENT_FIELDS = [
    "id",
    "incident_id",
    "user_id",
    "event_type",
    "content",
    "created_at",
    "updated_at",
    "user_name",
    "user_email",
    "user_image",
]


def _matches(value, kind) -> bool:
    if isinstance(kind, tuple):
        return any(_matches(value, k) for k in kind)
    if kind is None:
        return value is None
    if kind == "01":
        return value in (0, 1) and type(value) is int
    if kind == MS:  # an integer of epoch milliseconds (after 2001)
        return type(value) is int and value > 10**12
    return type(value) is kind


def assert_row(row: dict, columns: list) -> None:
    """The row has exactly these fields, in this order, each of its type."""
    assert list(row) == [name for name, _ in columns]
    for name, kind in columns:
        assert _matches(row[name], kind), (name, row[name])


class Client:
    """A CronUptime script: base URL swapped, its token in Authorization: Bearer."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def key(self, *scopes: str, imported: str | None = None) -> str:
        data = {"name": "cronuptime script", "scopes": list(scopes) or ["*"]}
        data["rate_limit_per_sec"] = 1000
        with self.app.app_context():
            return api_keys.create(data, imported=imported)[1]

    def call(self, method, path, token=None, body=None, headers=None, raw=None):
        headers = {**JSON, **(headers or {})}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        return self.client.open(BASE + path, method=method, headers=headers, data=data)


@pytest.fixture
def cu(app):
    return Client(app)


@pytest.fixture
def token(cu):
    return cu.key()


def _create_monitor(cu, token, **fields) -> dict:
    body = {"url": "https://api.example.com/health", "interval_sec": 60, "timeout_ms": 5000}
    response = cu.call("POST", "/monitors", token, {**body, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _create_cron_job(cu, token, **fields) -> dict:
    body = {"url": "https://api.example.com/backup", "method": "POST", "timeout_ms": 30000}
    response = cu.call("POST", "/cron-jobs", token, {"cron_expr": "0 2 * * *", **body, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- the documentation's examples --------------------------------------------------------------


def test_docs_monitor_example_creates_and_reads_back_the_row(cu, token):
    response = cu.call("POST", "/monitors", token, raw=DOCS_MONITOR)
    assert response.status_code == 201
    row = response.get_json()
    assert_row(row, MONITOR_COLUMNS)
    assert UUID_RE.fullmatch(row["id"])
    assert row["name"] == "My API Monitor"
    assert row["url"] == "https://api.example.com/health"
    assert (row["interval_sec"], row["timeout_ms"]) == (300, 5000)
    assert row["is_active"] == 1 and row["method"] == "GET"
    assert row["expected_min"] is None and row["expected_max"] is None
    assert row["keyword"] is None and row["headers_json"] is None and row["body"] is None
    # No confirmation or recovery period: alert on the first failure, as CronUptime does.
    assert row["confirmation_period_sec"] is None and row["recovery_period_sec"] is None
    assert row["next_run_at"] == row["created_at"] + 300_000
    assert row["last_status"] is None and row["last_checked_at"] is None

    listed = cu.call("GET", "/monitors", token)
    assert listed.status_code == 200 and listed.get_json() == [row]
    detail = cu.call("GET", f"/monitors/{row['id']}", token)
    assert detail.status_code == 200 and detail.get_json() == row


def test_docs_list_example_sends_content_type_on_a_get(cu, token):
    """The docs' cURL, fetch, requests and axios examples: GET /api/monitors with a JSON
    Content-Type and no body."""
    response = cu.client.get(
        BASE + "/monitors", headers={"Authorization": f"Bearer {token}", **JSON}
    )
    assert response.status_code == 200 and response.get_json() == []


def test_docs_cron_job_example_creates_and_reads_back_the_row(cu, token):
    response = cu.call("POST", "/cron-jobs", token, raw=DOCS_CRON_JOB)
    assert response.status_code == 201
    row = response.get_json()
    assert_row(row, CRON_COLUMNS)
    assert UUID_RE.fullmatch(row["id"])
    assert row["name"] == "Daily Backup" and row["method"] == "POST"
    assert row["cron_expr"] == "0 2 * * *" and row["interval_sec"] is None
    assert row["timeout_ms"] == 30000 and row["is_active"] == 1 and row["fail_streak"] == 0
    # 02:00 UTC, the next one.
    assert row["next_run_at"] % 86_400_000 == 2 * 3_600_000
    assert cu.call("GET", "/cron-jobs", token).get_json() == [row]
    assert cu.call("GET", f"/cron-jobs/{row['id']}", token).get_json() == row


def test_docs_error_example_names_the_missing_scope(cu):
    token = cu.key("cron-jobs:read")
    response = cu.call("GET", "/monitors", token)
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "Insufficient permissions. Required scope: monitors:read"
    }


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer ", "bearer {t}", "Bearer  {t}x", "Token {t}", "{t}", "Bearer nope"],
)
def test_every_refused_token_is_unauthorized(cu, token, header):
    headers = {} if header is None else {"Authorization": header.format(t=token)}
    response = cu.client.get(BASE + "/monitors", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_revoked_and_wildcard_scopes(cu, app):
    token = cu.key("monitors:*")
    assert cu.call("GET", "/monitors", token).status_code == 200
    denied = cu.call("POST", "/cron-jobs", token, {"url": "x"})
    assert denied.get_json() == {
        "error": "Insufficient permissions. Required scope: cron-jobs:write"
    }
    with app.app_context():
        key = db.session.execute(db.select(api_keys.ApiKey)).scalars().first()
        api_keys.revoke(key.id)
    assert cu.call("GET", "/monitors", token).get_json() == {"error": "Unauthorized"}


def test_an_imported_cronuptime_token_works_here_and_on_the_native_api(cu):
    their_token = secrets.token_hex(32)
    assert cu.key("monitors:*", imported=their_token) == their_token
    row = _create_monitor(cu, their_token)
    native = cu.client.get(
        f"/api/monitors/{row['id']}", headers={"Authorization": f"Bearer {their_token}"}
    )
    assert native.status_code == 200 and native.get_json()["uuid"] == row["id"]
    # Not a token of that format, or one whose prefix another key has: refused.
    with cu.app.app_context():
        for bad in ("ABC" * 21 + "a", their_token[:12] + secrets.token_hex(26), "zz"):
            with pytest.raises(ValidationError) as caught:
                api_keys.create({"name": "x", "scopes": ["*"]}, imported=bad)
            assert "secret" in caught.value.fields


# --- monitors --------------------------------------------------------------------------------


def test_monitor_create_requires_url_interval_and_timeout(cu, token):
    for body in ({}, {"url": "https://a.example"}, {"url": "", "interval_sec": 60}):
        response = cu.call("POST", "/monitors", token, {"timeout_ms": 1000, **body})
        assert response.status_code == 400
        assert response.get_json() == {"error": "url, interval_sec, and timeout_ms are required"}
    with cu.app.app_context():
        assert db.session.query(Monitor).count() == 0


def test_nameless_monitor_reads_back_null_and_is_named_after_its_url(cu, token):
    row = _create_monitor(cu, token)
    assert row["name"] is None
    with cu.app.app_context():
        assert db.session.query(Monitor).one().name == "https://api.example.com/health"
    renamed = cu.call("PUT", f"/monitors/{row['id']}", token, {"name": "Health"})
    assert renamed.get_json()["name"] == "Health"
    unnamed = cu.call("PUT", f"/monitors/{row['id']}", token, {"name": None})
    assert unnamed.get_json()["name"] is None


def test_monitor_fields_translate_both_ways(cu, token):
    row = _create_monitor(
        cu,
        token,
        method="POST",
        expected_min=200,
        expected_max=299,
        keyword="ok",
        headers_json={"X-Env": "prod"},
        body='{"ping": 1}',
        confirmation_period_sec=120,
        recovery_period_sec=60,
        use_tr_proxy=True,
    )
    assert_row(row, MONITOR_COLUMNS)
    assert (row["expected_min"], row["expected_max"]) == (200, 299)
    assert row["keyword"] == "ok" and row["method"] == "POST"
    assert row["headers_json"] == '{"X-Env": "prod"}'
    assert json.loads(row["headers_json"]) == {"X-Env": "prod"}
    assert row["body"] == '{"ping": 1}'
    # Periods become checks in a row at the 60-second interval, and read back as periods.
    assert (row["confirmation_period_sec"], row["recovery_period_sec"]) == (120, 60)
    with cu.app.app_context():
        monitor = db.session.query(Monitor).one()
        assert (monitor.kind, monitor.expected_status) == ("keyword", "200-299")
        assert (monitor.failure_threshold, monitor.recovery_threshold) == (3, 2)
    # headers_json sent back as the JSON text read; keyword cleared makes an http monitor.
    again = cu.call(
        "PUT", f"/monitors/{row['id']}", token, {"headers_json": row["headers_json"], "keyword": ""}
    ).get_json()
    assert again["headers_json"] == row["headers_json"] and again["keyword"] is None


def test_monitor_partial_update_pause_and_empty_body(cu, token):
    row = _create_monitor(cu, token)
    path = f"/monitors/{row['id']}"
    for body in ({}, {"unknown": 1}):
        response = cu.call("PUT", path, token, body)
        assert response.status_code == 400
        assert response.get_json() == {"error": "No fields to update"}
    paused = cu.call("PUT", path, token, {"is_active": False})
    assert paused.status_code == 200
    assert paused.get_json()["is_active"] == 0 and paused.get_json()["next_run_at"] is None
    assert paused.get_json()["url"] == row["url"]
    resumed = cu.call("PUT", path, token, {"is_active": 1, "interval_sec": 120}).get_json()
    assert resumed["is_active"] == 1 and resumed["interval_sec"] == 120
    assert resumed["next_run_at"] is not None
    bad = cu.call("PUT", path, token, {"interval_sec": 5})
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("interval_sec: ")


def test_monitor_not_found_and_delete(cu, token):
    row = _create_monitor(cu, token)
    for method in ("GET", "PUT", "DELETE"):
        response = cu.call(method, "/monitors/00000000-0000-4000-8000-000000000000", token, {})
        assert response.status_code == 404
        assert response.get_json() == {"error": "Monitor not found"}
    assert cu.call("GET", "/monitors/1", token).status_code == 404  # ids here are uuids
    deleted = cu.call("DELETE", f"/monitors/{row['id']}", token)
    assert deleted.status_code == 200 and deleted.get_json() == {"success": True}
    assert cu.call("GET", f"/monitors/{row['id']}", token).status_code == 404


# --- cron jobs -------------------------------------------------------------------------------


def test_cron_job_requires_its_fields_and_a_schedule(cu, token):
    required = cu.call("POST", "/cron-jobs", token, {"url": "https://a.example", "method": "GET"})
    assert required.status_code == 400
    assert required.get_json() == {"error": "url, method, and timeout_ms are required"}
    body = {"url": "https://a.example", "method": "GET", "timeout_ms": 1000}
    schedule = cu.call("POST", "/cron-jobs", token, body)
    assert schedule.status_code == 400
    assert schedule.get_json() == {"error": "Either cron_expr or interval_sec is required"}
    keyword = cu.call("POST", "/cron-jobs", token, {**body, "interval_sec": 60, "keyword": "ok"})
    assert keyword.status_code == 400 and keyword.get_json()["error"].startswith("keyword: ")


def test_interval_cron_job_is_a_schedule_of_its_own(cu, token):
    row = _create_cron_job(cu, token, cron_expr=None, interval_sec=900, name=None)
    assert_row(row, CRON_COLUMNS)
    assert row["cron_expr"] is None and row["interval_sec"] == 900 and row["name"] is None
    assert row["next_run_at"] == row["created_at"] + 900_000
    # The native API shows and accepts it too.
    native = cu.client.get(
        f"/api/cron-jobs/{row['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert native.get_json()["interval_sec"] == 900 and native.get_json()["cron_expr"] is None
    runs = cu.client.get(
        f"/api/cron-jobs/{row['id']}/next-runs?count=2",
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert len(runs["next_runs"]) == 2
    # Switching to a cron expression clears the interval, and back.
    path = f"/cron-jobs/{row['id']}"
    cron = cu.call("PUT", path, token, {"cron_expr": "*/5 * * * *"}).get_json()
    assert (cron["cron_expr"], cron["interval_sec"]) == ("*/5 * * * *", None)
    interval = cu.call("PUT", path, token, {"interval_sec": 3600}).get_json()
    assert (interval["cron_expr"], interval["interval_sec"]) == (None, 3600)


def test_cron_job_update_pause_and_delete(cu, token):
    row = _create_cron_job(cu, token)
    path = f"/cron-jobs/{row['id']}"
    assert cu.call("PUT", path, token, {}).get_json() == {"error": "No fields to update"}
    paused = cu.call("PUT", path, token, {"is_active": False}).get_json()
    assert paused["is_active"] == 0 and paused["next_run_at"] is None
    ranged = cu.call("PUT", path, token, {"expected_min": 200, "expected_max": 204}).get_json()
    assert (ranged["expected_min"], ranged["expected_max"]) == (200, 204)
    assert ranged["headers_json"] is None
    headers = cu.call("PUT", path, token, {"headers_json": {"X-A": "1"}}).get_json()
    assert headers["headers_json"] == '{"X-A": "1"}'
    missing = cu.call("GET", "/cron-jobs/00000000-0000-4000-8000-000000000000", token)
    assert missing.status_code == 404 and missing.get_json() == {"error": "Cron job not found"}
    assert cu.call("DELETE", path, token).get_json() == {"success": True}
    assert cu.call("GET", path, token).status_code == 404


# --- incidents -------------------------------------------------------------------------------


def test_incident_create_list_detail_resolve_reopen_delete(cu, token):
    monitor = _create_monitor(cu, token, name="API")
    job = _create_cron_job(cu, token)

    bad = [
        ({}, 400, "type and source_id are required"),
        ({"type": "monitor"}, 400, "type and source_id are required"),
        ({"type": "host", "source_id": monitor["id"]}, 400, 'type must be "monitor" or "cron"'),
        ({"type": "monitor", "source_id": job["id"]}, 404, "Monitor not found"),
        ({"type": "cron", "source_id": monitor["id"]}, 404, "Cron job not found"),
    ]
    for body, status, text in bad:
        response = cu.call("POST", "/incidents", token, body)
        assert (response.status_code, response.get_json()) == (status, {"error": text})

    created = cu.call(
        "POST",
        "/incidents",
        token,
        {"type": "monitor", "source_id": monitor["id"], "cause": "timeout"},
    )
    assert created.status_code == 201
    incident = created.get_json()
    assert_row(incident, INCIDENT_PLUS)
    assert incident["type"] == "monitor" and incident["source_id"] == monitor["id"]
    assert incident["cause"] == "timeout" and incident["resolved_at"] is None
    assert (incident["source_name"], incident["source_url"]) == ("API", monitor["url"])
    again = cu.call("POST", "/incidents", token, {"type": "monitor", "source_id": monitor["id"]})
    assert again.status_code == 409
    assert again.get_json() == {"error": "An open incident already exists for this source"}
    cron = cu.call("POST", "/incidents", token, {"type": "cron", "source_id": job["id"]})
    assert cron.status_code == 201 and cron.get_json()["type"] == "cron"

    listing = cu.call("GET", "/incidents?status=ongoing&type=monitor", token).get_json()
    assert list(listing) == ["incidents", "total", "limit", "offset"]
    assert listing["total"] == 1 and listing["limit"] == 50 and listing["offset"] == 0
    assert listing["incidents"] == [incident]
    everything = cu.call("GET", "/incidents?limit=1&offset=1", token).get_json()
    assert everything["total"] == 2 and len(everything["incidents"]) == 1
    assert everything["incidents"][0]["id"] == incident["id"]  # older second, newest first

    path = f"/incidents/{incident['id']}"
    for action in ("close", None, 1):
        response = cu.call("PATCH", path, token, {"action": action})
        assert response.status_code == 400
        assert response.get_json() == {"error": 'action must be "resolve" or "reopen"'}
    reopen = cu.call("PATCH", path, token, {"action": "reopen"})
    assert reopen.get_json() == {"error": "Incident is already open"}
    resolved = cu.call("PATCH", path, token, {"action": "resolve"})
    assert resolved.status_code == 200
    assert_row(resolved.get_json(), INCIDENT_COLUMNS)
    assert resolved.get_json()["resolved_at"] is not None
    twice = cu.call("PATCH", path, token, {"action": "resolve"})
    assert (twice.status_code, twice.get_json()) == (400, {"error": "Incident is already resolved"})
    reopened = cu.call("PATCH", path, token, {"action": "reopen"}).get_json()
    assert reopened["resolved_at"] is None

    detail = cu.call("GET", path, token).get_json()
    assert list(detail) == ["incident", "events"]
    assert_row(detail["incident"], INCIDENT_PLUS)
    events = detail["events"]
    assert [e["event_type"] for e in events] == ["started", "resolved", "started"]
    assert events[0]["content"] == "Incident reopened."
    assert all(list(e) == EVENT_FIELDS and e["incident_id"] == incident["id"] for e in events)
    assert all(re.fullmatch(r"[0-9a-f-]{36}", e["id"]) for e in events)
    assert len({e["id"] for e in events}) == 3
    missing = cu.call("GET", "/incidents/00000000-0000-4000-8000-000000000000", token)
    assert missing.status_code == 404 and missing.get_json() == {"error": "Incident not found"}
    assert cu.call("DELETE", path, token).get_json() == {"success": True}
    assert cu.call("GET", path, token).status_code == 404


def test_engine_resolution_reads_as_auto_resolved(cu, token, app):
    monitor = _create_monitor(cu, token)
    created = cu.call("POST", "/incidents", token, {"type": "monitor", "source_id": monitor["id"]})
    with app.app_context():
        row = db.session.query(Incident).one()
        incidents.resolve_open(message="Back up.", now=row.started_at, monitor_id=row.monitor_id)
        db.session.commit()
    detail = cu.call("GET", f"/incidents/{created.get_json()['id']}", token).get_json()
    assert [e["event_type"] for e in detail["events"]][0] == "auto_resolved"


# --- one object, two APIs --------------------------------------------------------------------


def test_round_trip_through_the_native_api(cu, token):
    row = _create_monitor(cu, token, name="Shop", expected_min=200, expected_max=204)
    native_headers = {"Authorization": f"Bearer {token}"}
    by_uuid = cu.client.get(f"/api/monitors/{row['id']}", headers=native_headers).get_json()
    by_id = cu.client.get(f"/api/monitors/{by_uuid['id']}", headers=native_headers).get_json()
    assert by_uuid == by_id and by_uuid["uuid"] == row["id"]
    assert by_uuid["name"] == "Shop" and by_uuid["expected_status"] == "200-204"
    assert by_uuid["interval_sec"] == 60 and by_uuid["paused"] is False
    changed = cu.client.put(
        f"/api/monitors/{row['id']}",
        headers=native_headers,
        json={"name": "Shop 2", "paused": True},
    )
    assert changed.status_code == 200
    back = cu.call("GET", f"/monitors/{row['id']}", token).get_json()
    assert back["name"] == "Shop 2" and back["is_active"] == 0 and back["id"] == row["id"]
    unknown = cu.client.get(
        "/api/monitors/00000000-0000-4000-8000-000000000000", headers=native_headers
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "Monitor not found"


# --- hostile input ---------------------------------------------------------------------------

ROUTES = [
    ("POST", "/monitors"),
    ("PUT", "/monitors/{monitor}"),
    ("POST", "/cron-jobs"),
    ("PUT", "/cron-jobs/{job}"),
    ("POST", "/incidents"),
    ("PATCH", "/incidents/{incident}"),
]
HOSTILE = [
    '{"name": "a\\u0000b", "url": "https://a.example", "interval_sec": 60, "timeout_ms": 1}',
    '{"name": "\\ud800", "url": "https://a.example", "interval_sec": 60, "timeout_ms": 1}',
    '{"url": "https://a.example\\u0000", "method": "GET", "timeout_ms": 1, "cron_expr": "\\udfff"}',
    '{"type": "monitor", "source_id": "\\u0000", "action": "\\ud800", "cause": "\\u0000"}',
    '{"interval_sec": "NaN", "timeout_ms": 1e400, "expected_min": [1], "headers_json": 5}',
    '{"url": {"a": 1}, "method": ["GET"], "timeout_ms": true, "interval_sec": {}}',
    "[" * 100_000 + "]" * 100_000,
    '{"name": "' + "x" * 2_000_000 + '"}',
    "not json",
    "[1, 2]",
    '"text"',
]


def test_hostile_bodies_are_refused_on_every_route(cu, token):
    monitor = _create_monitor(cu, token)
    job = _create_cron_job(cu, token)
    incident = cu.call(
        "POST", "/incidents", token, {"type": "monitor", "source_id": monitor["id"]}
    ).get_json()
    ids = {"monitor": monitor["id"], "job": job["id"], "incident": incident["id"]}
    for method, path in ROUTES:
        for raw in HOSTILE:
            response = cu.call(method, path.format(**ids), token, raw=raw)
            assert 400 <= response.status_code < 500, (method, path, raw[:80], response.data[:200])
            assert "error" in response.get_json()


def test_hostile_paths_and_queries_are_refused(cu, token):
    for path in ("/monitors/%00", "/cron-jobs/%ED%A0%80", "/incidents/" + "a" * 10_000):
        for method in ("GET", "PUT", "DELETE"):
            response = cu.call(method, path, token, {})
            assert 400 <= response.status_code < 500, (method, path)
    queries = {
        "limit=-1": 400,
        "limit=abc": 400,
        "offset=1e999": 400,
        "status=%00": 422,  # text no database can store, refused where it is decoded
        "limit=99999999999": 400,
        "limit=1000": 200,  # at most PER_PAGE_MAX are answered
    }
    for query, status in queries.items():
        response = cu.call("GET", f"/incidents?{query}", token)
        assert response.status_code == status, query
        assert status == 200 or "error" in response.get_json()
    unsupported = cu.call("PATCH", "/monitors", token, {})
    assert unsupported.status_code == 405 and "error" in unsupported.get_json()


def test_constants_are_cronuptimes_texts():
    assert cronuptime.NO_FIELDS == "No fields to update"
    assert cronuptime.UNAUTHORIZED == "Unauthorized"


def test_a_dashboard_style_edit_that_resends_the_name_keeps_it_nameless(cu, token):
    row = _create_monitor(cu, token)
    native = {"Authorization": f"Bearer {token}"}
    same = cu.client.put(
        f"/api/monitors/{row['id']}", headers=native, json={"name": row["url"], "timeout_ms": 900}
    )
    assert same.status_code == 200
    assert cu.call("GET", f"/monitors/{row['id']}", token).get_json()["name"] is None
    # A new URL renames it after the new URL.
    moved = cu.call("PUT", f"/monitors/{row['id']}", token, {"url": "https://b.example/health"})
    assert moved.get_json()["name"] is None
    named = cu.client.get(f"/api/monitors/{row['id']}", headers=native).get_json()["name"]
    assert named == "https://b.example/health"


def test_an_interval_job_reads_in_the_dialects_that_only_know_cron(cu, token, app):
    """cron-job.org, SetCronJob and Cronhub show a job made here on an interval as the cron
    expression (or Cronhub interval) that fires on it."""
    row = _create_cron_job(cu, token, cron_expr=None, interval_sec=1800, name="Poll")
    with app.app_context():
        job_id = db.session.query(CronJob).one().id
    bearer = {"Authorization": f"Bearer {token}"}
    cjo = cu.client.get(f"/compat/cron-job-org/jobs/{job_id}", headers=bearer).get_json()
    assert cjo["jobDetails"]["schedule"]["minutes"] == [0, 30]
    scj = cu.client.get(f"/compat/setcronjob/api/cron.get?token={token}&id={job_id}").get_json()
    assert scj["data"]["expression"] == "*/30 * * * *"
    hub = cu.client.get(
        f"/compat/cronhub/api/v1/schedulers/{job_id}", headers={"X-Api-Key": token}
    ).get_json()["scheduler"]
    assert (hub["type"], hub["interval_schedule_value"], hub["interval_schedule_rate"]) == (
        "interval",
        30,
        "minutes",
    )
    assert cu.call("GET", f"/cron-jobs/{row['id']}", token).get_json()["interval_sec"] == 1800
