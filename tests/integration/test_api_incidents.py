"""/api/incidents: the list envelope and filters, the timeline, resolve and reopen in our
words and CronUptime's, and timeline messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models import User
from app.services import incidents
from tests.conftest import ADMIN_EMAIL


@pytest.fixture
def key(api):
    return api.key("incidents:*")


def test_list_envelope_filters_and_paging(api, key, seeded, app):
    with app.app_context():
        earlier = datetime.now(UTC) - timedelta(days=2)
        old = incidents.open_incident(
            monitor_id=seeded["monitor_id"], title="Shop was down", cause=None, now=earlier
        )
        incidents.resolve_open(monitor_id=seeded["monitor_id"], message="up", now=earlier)
        db.session.commit()
        old_id = old.id
    # resolve_open above resolved the seeded monitor incident too; reopen it.
    assert (
        api.patch(
            f"/api/incidents/{seeded['incident_id']}", key, json={"status": "open"}
        ).status_code
        == 200
    )

    body = api.get("/api/incidents", key).json
    assert body["total"] == 3 and body["limit"] == 50 and body["offset"] == 0
    assert [i["id"] for i in body["incidents"]][-1] == old_id  # newest first
    first = body["incidents"][0]
    assert set(first) >= {"id", "subject", "title", "cause", "status", "started_at"}

    open_ = api.get("/api/incidents?status=open", key).json
    assert {i["id"] for i in open_["incidents"]} == {
        seeded["incident_id"],
        seeded["job_incident_id"],
    }
    assert api.get("/api/incidents?status=ongoing", key).json["total"] == 2
    assert api.get("/api/incidents?status=resolved", key).json["incidents"][0]["id"] == old_id
    assert api.get("/api/incidents?status=all", key).json["total"] == 3
    crons = api.get("/api/incidents?type=cron", key).json["incidents"]
    assert [i["subject"] for i in crons] == [
        {"type": "cron_job", "id": seeded["cron_job_id"], "name": "Backup"}
    ]
    by_monitor = api.get(f"/api/incidents?monitor_id={seeded['monitor_id']}", key).json
    assert by_monitor["total"] == 2
    paged = api.get("/api/incidents?limit=1&offset=1", key)
    assert paged.json["limit"] == 1 and paged.json["offset"] == 1
    assert len(paged.json["incidents"]) == 1 and paged.headers["X-Total-Count"] == "3"
    assert api.get("/api/incidents?status=sleeping", key).status_code == 422


def test_detail_has_the_timeline(api, key, seeded):
    incident = api.get(f"/api/incidents/{seeded['incident_id']}", key).json
    assert incident["status"] == "open" and incident["cause"] == "HTTP 503"
    assert incident["subject"] == {"type": "monitor", "id": seeded["monitor_id"], "name": "Shop"}
    assert [(u["kind"], u["message"], u["author"]) for u in incident["updates"]] == [
        ("started", "HTTP 503", None)
    ]
    missing = api.get("/api/incidents/999", key)
    assert missing.status_code == 404 and missing.json == {"error": "Incident not found"}


def test_resolve_and_reopen_with_status(api, seeded, app):
    key_id, key = api.create_key("incidents:write")
    path = f"/api/incidents/{seeded['incident_id']}"
    resolved = api.patch(path, key, json={"status": "resolved"})
    assert resolved.status_code == 200
    assert resolved.json["status"] == "resolved" and resolved.json["resolved_at"]
    last = resolved.json["updates"][-1]
    assert last["kind"] == "resolved"
    assert last["author"] == {"type": "api_key", "id": key_id, "name": "test key"}
    again = api.patch(path, key, json={"status": "resolved"})
    assert again.status_code == 409 and again.json == {"error": "Incident is already resolved"}
    reopened = api.patch(path, key, json={"status": "open"})
    assert reopened.json["status"] == "open" and reopened.json["resolved_at"] is None
    assert reopened.json["updates"][-1]["kind"] == "reopened"
    bad = api.patch(path, key, json={"status": "closed"})
    assert bad.status_code == 422 and "status" in bad.json["fields"]
    assert api.patch(path, key, json={}).status_code == 422


def test_cronuptime_actions_with_their_texts(api, key, seeded):
    path = f"/api/incidents/{seeded['incident_id']}"
    assert api.patch(path, key, json={"action": "resolve"}).json["status"] == "resolved"
    response = api.patch(path, key, json={"action": "resolve"})
    assert response.status_code == 409
    assert response.json == {"error": "Incident is already resolved"}
    assert api.patch(path, key, json={"action": "reopen"}).json["status"] == "open"
    response = api.patch(path, key, json={"action": "reopen"})
    assert response.json == {"error": "Incident is already open"}
    response = api.patch(path, key, json={"action": "close"})
    assert response.status_code == 422
    assert response.json["error"] == 'action must be "resolve" or "reopen"'
    assert api.patch("/api/incidents/999", key, json={"action": "resolve"}).status_code == 404


def test_timeline_messages(api, key, seeded):
    path = f"/api/incidents/{seeded['job_incident_id']}/updates"
    response = api.post(path, key, json={"message": "  Restarted the backup host.  "})
    assert response.status_code == 201
    update = response.json
    assert update["kind"] == "comment" and update["message"] == "Restarted the backup host."
    assert update["author"]["type"] == "api_key"
    timeline = api.get(f"/api/incidents/{seeded['job_incident_id']}", key).json["updates"]
    assert [u["kind"] for u in timeline] == ["started", "comment"]
    for body in ({"message": "   "}, {"message": "x" * 5001}, {"text": "hi"}):
        assert api.post(path, key, json=body).status_code == 422
    assert api.post("/api/incidents/999/updates", key, json={"message": "x"}).status_code == 404


def test_session_admin_reads_incidents(logged_in, api, seeded):
    api.client = logged_in
    assert api.get(f"/api/incidents/{seeded['incident_id']}").status_code == 200
    response = api.patch(f"/api/incidents/{seeded['incident_id']}", json={"status": "resolved"})
    assert response.status_code == 401


def test_a_person_resolving_is_named_in_the_timeline(api, app, admin, seeded):
    with app.app_context():
        incidents.update(
            seeded["incident_id"], {"status": "resolved"}, actor=db.session.get(User, admin)
        )
    body = api.get(f"/api/incidents/{seeded['incident_id']}", api.key("incidents:read")).json
    assert body["updates"][-1]["author"] == {"type": "user", "id": admin, "email": ADMIN_EMAIL}
