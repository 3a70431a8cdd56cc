"""/api/monitors: the documented create body verbatim, partial updates, lists, pause and
resume, history and uptime, and heartbeat codes shown only to keys that may write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db, redis_client
from app.models import CheckResult, Monitor
from app.models.monitor import KIND_HEARTBEAT, STATE_NEW


@pytest.fixture
def key(api):
    return api.key("monitors:*")


def test_documented_create_body_works_verbatim(api, key, app):
    # The request body of the CronUptime API documentation, byte for byte.
    response = api.post(
        "/api/monitors",
        key,
        data="""{
    "name": "My API Monitor",
    "url": "https://api.example.com/health",
    "interval_sec": 300,
    "timeout_ms": 5000
  }""",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.json
    monitor = response.json
    assert monitor["name"] == "My API Monitor"
    assert monitor["url"] == "https://api.example.com/health"
    assert monitor["interval_sec"] == 300 and monitor["timeout_ms"] == 5000
    assert monitor["type"] == "http" and monitor["state"] == "pending"
    assert monitor["created_at"].endswith("Z")
    assert "auth_password" not in monitor and monitor["auth_password_set"] is False
    # Scheduled at once: a new monitor is due immediately.
    with app.app_context():
        assert redis_client.conn.zscore("upcron:due", f"m:{monitor['id']}") is not None
    assert api.get(f"/api/monitors/{monitor['id']}", key).json == monitor


def test_create_with_our_other_fields(api, key):
    response = api.post(
        "/api/monitors",
        key,
        json={
            "type": "keyword",
            "name": "Status text",
            "url": "https://status.example.com/",
            "keyword": "All systems operational",
            "headers": {"X-Probe": "upcron"},
            "auth_username": "probe",
            "auth_password": "s3cret",
            "expected_status": "200-299",
            "group": "Production",
            "paused": True,
        },
    )
    assert response.status_code == 201, response.json
    monitor = response.json
    assert monitor["type"] == "keyword" and monitor["keyword"] == "All systems operational"
    assert monitor["headers"] == {"X-Probe": "upcron"}
    assert monitor["auth_password_set"] is True and "s3cret" not in response.get_data(True)
    assert monitor["group"] == "Production"
    assert monitor["paused"] is True and monitor["state"] == "paused"


def test_validation_names_every_bad_and_unknown_field(api, key):
    response = api.post(
        "/api/monitors",
        key,
        json={"url": "ftp://example.com", "interval_sec": 5, "type": "smtp", "colour": "red"},
    )
    assert response.status_code == 422
    body = response.json
    assert body["error"] == "Validation failed"
    assert set(body["fields"]) == {"name", "url", "interval_sec", "type", "colour"}
    assert body["fields"]["colour"] == "Unknown field."
    heartbeat = api.post(
        "/api/monitors", key, json={"type": "heartbeat", "name": "x", "url": "https://e.com/"}
    )
    assert heartbeat.status_code == 422
    assert heartbeat.json["fields"]["url"] == "Not used by heartbeat monitors."


def test_put_changes_only_the_fields_given(api, key, seeded):
    path = f"/api/monitors/{seeded['monitor_id']}"
    before = api.get(path, key).json
    response = api.put(path, key, json={"interval_sec": 120, "name": "Shop front"})
    assert response.status_code == 200
    after = response.json
    assert after["interval_sec"] == 120 and after["name"] == "Shop front"
    assert after["url"] == before["url"] and after["slug"] == before["slug"]
    bad = api.put(path, key, json={"id": 5, "timeout_ms": "soon"})
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"id", "timeout_ms"}
    assert api.get(path, key).json["timeout_ms"] == before["timeout_ms"]


def test_unknown_monitor_is_404(api, key):
    for method in ("GET", "PUT", "DELETE"):
        response = api.call(method, "/api/monitors/4242", key, json={"name": "x"})
        assert response.status_code == 404
        assert response.json == {"error": "Monitor not found"}
    for action in ("pause", "resume", "history", "uptime"):
        method = "POST" if action in ("pause", "resume") else "GET"
        assert api.call(method, f"/api/monitors/4242/{action}", key).status_code == 404


def test_pause_resume_and_delete(api, key, seeded, app):
    path = f"/api/monitors/{seeded['monitor_id']}"
    paused = api.post(f"{path}/pause", key)
    assert paused.status_code == 200 and paused.json["state"] == "paused"
    resumed = api.post(f"{path}/resume", key)
    assert resumed.json["state"] == "pending" and resumed.json["paused"] is False
    deleted = api.delete(path, key)
    assert deleted.status_code == 200 and deleted.json == {"success": True}
    assert api.get(path, key).status_code == 404
    with app.app_context():
        assert db.session.get(Monitor, seeded["monitor_id"]) is None


def test_list_is_a_bare_array_with_paging_headers(api, key):
    for n in range(5):
        api.post("/api/monitors", key, json={"name": f"M{n}", "url": f"https://e.com/{n}"})
    response = api.get("/api/monitors?per_page=2&page=2", key)
    assert response.status_code == 200
    assert [m["name"] for m in response.json] == ["M2", "M3"]
    headers = response.headers
    assert headers["X-Total-Count"] == "5" and headers["X-Total-Pages"] == "3"
    assert headers["X-Page"] == "2" and headers["X-Per-Page"] == "2"
    assert 'page=1&per_page=2>; rel="prev"' in headers["Link"]
    assert 'page=3&per_page=2>; rel="next"' in headers["Link"]
    assert len(api.get("/api/monitors?search=M4", key).json) == 1
    assert api.get("/api/monitors?type=heartbeat", key).json == []
    too_many = api.get("/api/monitors?per_page=201", key)
    assert too_many.status_code == 422 and "per_page" in too_many.json["fields"]
    assert api.get("/api/monitors?state=sleepy", key).status_code == 422


def test_history_in_a_time_range_and_uptime(api, key, seeded, app):
    monitor_id = seeded["monitor_id"]
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        for minutes in (10, 20, 30):
            at = now - timedelta(minutes=minutes)
            db.session.add(
                CheckResult(monitor_id=monitor_id, planned_at=at, started_at=at, outcome="ok")
            )
        db.session.commit()
    response = api.get(f"/api/monitors/{monitor_id}/history", key)
    assert response.headers["X-Total-Count"] == "4"
    newest = response.json[0]
    assert newest["outcome"] == "failed_http_status" and newest["status_code"] == 503
    assert newest["timings"]["connect_us"] == 1200 and newest["timings"]["tls_us"] is None
    start = (now - timedelta(minutes=25)).isoformat()
    end = (now - timedelta(minutes=15)).isoformat()
    ranged = api.get(
        f"/api/monitors/{monitor_id}/history", key, query_string={"start": start, "end": end}
    )
    assert [r["started_at"] for r in ranged.json] == [
        (now - timedelta(minutes=20)).isoformat().replace("+00:00", "Z")
    ]
    bad = api.get(f"/api/monitors/{monitor_id}/history?start=yesterday", key)
    assert bad.status_code == 422 and "start" in bad.json["fields"]

    uptime = api.get(f"/api/monitors/{monitor_id}/uptime", key).json
    assert uptime["24h"] == 75.0
    assert set(uptime) == {"24h", "7d", "30d", "90d"}


def _heartbeat(app) -> int:
    with app.app_context():
        monitor = Monitor(
            kind=KIND_HEARTBEAT,
            name="Nightly backup",
            slug="nightly-backup",
            state=STATE_NEW,
            code="4f0c6d5e-3f53-4b43-9d0e-6f4f1f1c2b7a",
            period_sec=86400,
            grace_sec=600,
        )
        db.session.add(monitor)
        db.session.commit()
        return monitor.id


def test_heartbeat_code_is_shown_only_to_keys_that_may_write(api, app):
    monitor_id = _heartbeat(app)
    writer = api.get(f"/api/monitors/{monitor_id}", api.key("monitors:*")).json
    assert writer["type"] == "heartbeat" and writer["period_sec"] == 86400
    assert writer["code"] == "4f0c6d5e-3f53-4b43-9d0e-6f4f1f1c2b7a"
    assert writer["ping_url"].endswith("/ping/4f0c6d5e-3f53-4b43-9d0e-6f4f1f1c2b7a")
    reader_key = api.key("monitors:read")
    for response in (
        api.get(f"/api/monitors/{monitor_id}", reader_key),
        api.get("/api/monitors", reader_key),
    ):
        text = response.get_data(as_text=True)
        assert "4f0c6d5e" not in text and "ping_url" not in text and '"code"' not in text
    assert "url" not in writer  # heartbeats are called, they do not call


def test_heartbeat_pings_and_code_regeneration(api, key, client):
    created = api.post(
        "/api/monitors",
        key,
        json={
            "type": "heartbeat",
            "name": "Nightly backup",
            "period_sec": 86400,
            "grace_period": 30,
        },
    )
    assert created.status_code == 201, created.json
    heartbeat = created.json
    assert heartbeat["ping_url"].endswith(f"/ping/{heartbeat['code']}")
    assert client.post(f"/ping/{heartbeat['code']}", data=b"backup done: 42 files").data == b"OK"

    pings = api.get(f"/api/monitors/{heartbeat['id']}/pings", key)
    assert pings.status_code == 200
    [ping] = pings.json
    assert (ping["kind"], ping["method"], ping["body"]) == (
        "success",
        "POST",
        "backup done: 42 files",
    )
    assert pings.headers["X-Total-Count"] == "1"

    renewed = api.post(f"/api/monitors/{heartbeat['id']}/regenerate-code", key)
    assert renewed.status_code == 200
    assert renewed.json["code"] != heartbeat["code"]
    assert client.get(f"/ping/{heartbeat['code']}").status_code == 404
    assert client.get(f"/ping/{renewed.json['code']}").status_code == 200

    reader = api.key("monitors:read")
    shown = api.get(f"/api/monitors/{heartbeat['id']}", reader).json
    assert "code" not in shown and "ping_url" not in shown


def test_pings_and_codes_are_for_heartbeats_only(api, key, seeded):
    monitor_id = seeded["monitor_id"]
    assert api.get(f"/api/monitors/{monitor_id}/pings", key).status_code == 404
    assert api.post(f"/api/monitors/{monitor_id}/regenerate-code", key).status_code == 409
