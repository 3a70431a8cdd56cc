"""/api/notification-channels and /api/notifications/log: CRUD with write-only secrets, a test
send to a real receiver on 127.0.0.1, the delivery log's pages and filters, the settings
scopes, channel choice on monitors and cron jobs, and incidents changed through the API
reaching the channels of their monitor."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from rq import SimpleWorker

from app.engine import queues
from app.extensions import db, redis_client
from app.services import channels, incidents
from tests.targets import TargetServer, closed_port

CHANNELS = "/api/notification-channels"


@pytest.fixture
def key(api):
    return api.key("settings:*")


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def posts(server: TargetServer, path: str) -> list:
    return [r for r in server.requests if r.method == "POST" and r.target == path]


def create(api, key, **fields) -> dict:
    response = api.post(CHANNELS, key, json=fields)
    assert response.status_code == 201, response.json
    return response.json


def test_channel_crud_round_trip(api, key, target):
    url = target.route("/hook", status=204)
    created = create(
        api, key, name="Ops hook", kind="webhook", url=url, headers={"X-Team": "ops"}, secret="s1"
    )
    assert created == {
        "id": created["id"],
        "name": "Ops hook",
        "kind": "webhook",
        "enabled": True,
        "is_default": False,
        "url": url,
        "headers": {"X-Team": "ops"},
        "secret_headers_set": [],
        "secret_set": True,
        "created_at": created["created_at"],
    }
    assert created["created_at"].endswith("Z")
    path = f"{CHANNELS}/{created['id']}"
    assert api.get(path, key).json == created

    mail = create(api, key, name="Admins", kind="email", addresses="a@example.com, b@example.com")
    assert mail["addresses"] == ["a@example.com", "b@example.com"]
    listed = api.get(CHANNELS, key)
    assert [c["name"] for c in listed.json] == ["Admins", "Ops hook"]  # by name
    assert listed.headers["X-Total-Count"] == "2"

    # Partial: the secret left out is kept, null removes it; the kind stays.
    changed = api.put(path, key, json={"name": "Ops", "enabled": False, "is_default": True})
    assert changed.status_code == 200
    assert (changed.json["name"], changed.json["enabled"], changed.json["is_default"]) == (
        "Ops",
        False,
        True,
    )
    assert changed.json["secret_set"] is True
    assert api.put(path, key, json={"secret": None}).json["secret_set"] is False
    assert api.get(path, key).json["secret_set"] is False

    assert api.delete(path, key).json == {"success": True}
    gone = api.get(path, key)
    assert gone.status_code == 404
    assert gone.json == {"error": "Notification channel not found."}
    assert api.delete(path, key).status_code == 404
    assert [c["name"] for c in api.get(CHANNELS, key).json] == ["Admins"]


def test_secrets_are_never_echoed(api, key):
    apprise_url = "json://bob:hunter2@127.0.0.1:9/notify?+Authorization=Bearer%20tok3n"
    hook = create(api, key, name="Hook", kind="webhook", url="https://e.com/h", secret="s3cret")
    apprise = create(api, key, name="Apprise", kind="apprise", url=apprise_url)
    assert apprise["url"].startswith("json://")
    answers = [
        hook,
        apprise,
        api.get(f"{CHANNELS}/{hook['id']}", key).json,
        api.get(f"{CHANNELS}/{apprise['id']}", key).json,
        api.get(CHANNELS, key).json,
        api.put(f"{CHANNELS}/{hook['id']}", key, json={"secret": "n3w-s3cret"}).json,
        api.put(f"{CHANNELS}/{apprise['id']}", key, json={"name": "Apprise 2"}).json,
        # The masked URL sent back, as a client that read the channel might.
        api.put(f"{CHANNELS}/{apprise['id']}", key, json={"url": apprise["url"]}).json,
    ]
    text = json.dumps(answers)
    for secret in ("s3cret", "hunter2", "tok3n"):
        assert secret not in text
    assert "secret" not in answers[0]  # only secret_set
    # Left out or sent back masked, the Apprise URL is kept.
    with api.app.app_context():
        assert channels.get(apprise["id"]).config["url"] == apprise_url
        assert channels.get(hook["id"]).config["secret"] == "n3w-s3cret"


def test_validation_errors_are_422_with_fields_and_change_nothing(api, key):
    response = api.post(CHANNELS, key, json={"name": "x"})
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"kind"}
    response = api.post(CHANNELS, key, json={"kind": "webhook", "url": "ftp://e.com/x"})
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"name", "url"}
    response = api.post(
        CHANNELS, key, json={"name": "m", "kind": "email", "addresses": ["nope"], "colour": 1}
    )
    assert response.status_code == 422
    assert (
        response.json["fields"]["addresses"]
        == "nope is not an e-mail address, such as ops@example.com."
    )
    assert response.json["fields"]["colour"] == "Unknown field."
    response = api.post(CHANNELS, key, json={"name": "a", "kind": "apprise", "url": "nope://x"})
    assert response.status_code == 422 and "url" in response.json["fields"]
    assert api.post(CHANNELS, key, json=["not", "an", "object"]).status_code == 422
    assert api.get(CHANNELS, key).json == []

    channel = create(api, key, name="Hook", kind="webhook", url="https://e.com/h")
    path = f"{CHANNELS}/{channel['id']}"
    response = api.put(path, key, json={"kind": "email", "name": ""})
    assert response.status_code == 422
    assert response.json["fields"] == {
        "kind": "A channel's kind cannot change; create a new channel instead.",
        "name": "Enter a name.",
    }
    assert api.put(path, key, json={"addresses": "a@example.com"}).status_code == 422
    assert api.get(path, key).json == channel
    assert api.post(CHANNELS, key, data="{", content_type="application/json").status_code == 400


def test_send_test_reports_the_outcome(api, key, target):
    good = create(
        api, key, name="Good", kind="webhook", url=target.route("/ok", status=204), enabled=False
    )
    bad = create(
        api, key, name="Bad", kind="webhook", url=target.route("/bad", status=500, body="boom")
    )
    gone = create(api, key, name="Gone", kind="webhook", url=f"http://127.0.0.1:{closed_port()}/")

    # Disabled channels can be tried before they are switched on.
    result = api.post(f"{CHANNELS}/{good['id']}/test", key)
    assert result.status_code == 200
    assert result.json["ok"] is True and result.json["error"] is None
    assert result.json["duration_ms"] >= 0 and result.json["log_id"] >= 1
    [received] = posts(target, "/ok")
    payload = json.loads(received.body)
    assert payload["event"] == "test"
    assert payload["subject"]["type"] == "channel" and payload["subject"]["id"] == good["id"]

    failed = api.post(f"{CHANNELS}/{bad['id']}/test", key).json
    assert failed["ok"] is False and failed["error"] == "HTTP 500: boom"
    refused = api.post(f"{CHANNELS}/{gone['id']}/test", key).json
    assert refused["ok"] is False and refused["error"]

    log = api.get("/api/notifications/log", key).json
    assert [(row["channel"]["name"], row["status"]) for row in log] == [
        ("Gone", "failed"),
        ("Bad", "failed"),
        ("Good", "sent"),
    ]
    assert log[2]["id"] == result.json["log_id"]
    assert log[2]["attempts"][0]["ok"] is True
    assert log[1]["attempts"][0]["error"] == "HTTP 500: boom"
    assert api.post(f"{CHANNELS}/999999/test", key).status_code == 404


def test_the_log_pages_and_filters(api, key, target):
    ok = create(api, key, name="Ok", kind="webhook", url=target.route("/ok", status=200))
    bad = create(api, key, name="Bad", kind="webhook", url=target.route("/bad", status=503))
    for channel in (ok, ok, ok, bad, bad):
        api.post(f"{CHANNELS}/{channel['id']}/test", key)

    first = api.get("/api/notifications/log?per_page=2", key)
    assert len(first.json) == 2
    assert (first.headers["X-Total-Count"], first.headers["X-Total-Pages"]) == ("5", "3")
    assert 'rel="next"' in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    last = api.get("/api/notifications/log?per_page=2&page=3", key)
    assert len(last.json) == 1 and 'rel="prev"' in last.headers["Link"]
    ids = [
        row["id"]
        for page in (1, 2, 3)
        for row in api.get(f"/api/notifications/log?per_page=2&page={page}", key).json
    ]
    assert len(set(ids)) == 5 and ids == sorted(ids, reverse=True)  # newest first

    by_channel = api.get(f"/api/notifications/log?channel_id={bad['id']}", key).json
    assert {row["channel"]["id"] for row in by_channel} == {bad["id"]} and len(by_channel) == 2
    sent = api.get("/api/notifications/log?status=sent", key).json
    assert len(sent) == 3 and {row["channel"]["name"] for row in sent} == {"Ok"}
    failed = api.get(f"/api/notifications/log?status=failed&channel_id={ok['id']}", key)
    assert failed.json == [] and failed.headers["X-Total-Count"] == "0"
    assert len(api.get("/api/notifications/log?event=test", key).json) == 5
    assert api.get("/api/notifications/log?event=monitor.down", key).json == []

    response = api.get("/api/notifications/log?status=lost&channel_id=x&per_page=0", key)
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"status", "channel_id"}
    assert api.get("/api/notifications/log?per_page=0", key).status_code == 422
    assert api.get("/api/notifications/log?channel_id=99999999999", key).status_code == 422


def test_reads_need_settings_read_and_changes_settings_write(api, seeded):
    channel = f"{CHANNELS}/{seeded['channel_id']}"
    body = {"name": "Hook", "kind": "webhook", "url": "https://e.com/h"}
    reads = [("GET", CHANNELS), ("GET", channel), ("GET", "/api/notifications/log")]
    writes = [
        ("POST", CHANNELS, body),
        ("PUT", channel, {"name": "Renamed"}),
        ("POST", f"{channel}/test", None),
    ]

    def denied(response, scope):
        return response.status_code == 403 and response.json == {
            "error": f"Insufficient permissions. Required scope: {scope}"
        }

    reader, writer, other = (
        api.key("settings:read"),
        api.key("settings:write"),
        api.key("monitors:*"),
    )
    for method, path in reads:
        assert api.call(method, path, reader).status_code == 200, path
        assert denied(api.call(method, path, writer), "settings:read"), path
        assert denied(api.call(method, path, other), "settings:read"), path
    for method, path, json_ in [*writes, ("DELETE", channel, None)]:
        kwargs = {"json": json_} if json_ is not None else {}
        assert denied(api.call(method, path, reader, **kwargs), "settings:write"), path
        assert denied(api.call(method, path, other, **kwargs), "settings:write"), path
    assert api.get(channel, reader).json["name"] == "Ops"  # nothing changed
    for method, path, json_ in writes:
        kwargs = {"json": json_} if json_ is not None else {}
        assert api.call(method, path, writer, **kwargs).status_code in (200, 201), path
    # The seeded channel sends e-mail and no e-mail server is set up: the test failed at once.
    outcome = api.get(f"/api/notifications/log?channel_id={seeded['channel_id']}", reader).json
    assert [row["status"] for row in outcome] == ["failed"]
    assert api.delete(channel, writer).json == {"success": True}


def test_monitors_and_cron_jobs_take_and_show_their_channels(api, key):
    default = create(api, key, name="Default", kind="email", addresses="a@e.com", is_default=True)
    other = create(api, key, name="Other", kind="email", addresses="b@e.com")
    root = api.key("*")
    for path, body in (
        ("/api/monitors", {"name": "Shop", "url": "https://shop.example.com/"}),
        (
            "/api/cron-jobs",
            {"name": "Backup", "url": "https://ops.example.com/", "cron_expr": "0 2 * * *"},
        ),
    ):
        plain = api.post(path, root, json=body)
        assert plain.status_code == 201 and plain.json["channels"] == [default["id"]]
        chosen = api.post(
            path, root, json={**body, "name": "Two", "channels": [other["id"], default["id"]]}
        ).json
        assert chosen["channels"] == [default["id"], other["id"]]  # by id
        item = f"{path}/{chosen['id']}"
        assert api.get(item, root).json["channels"] == [default["id"], other["id"]]
        assert api.put(item, root, json={"channels": []}).json["channels"] == []
        assert api.put(item, root, json={"channels": [other["id"]]}).json["channels"] == [
            other["id"]
        ]
        assert [row["channels"] for row in api.get(path, root).json] == [
            [default["id"]],
            [other["id"]],
        ]
        refused = api.put(item, root, json={"channels": [other["id"], 424242]})
        assert refused.status_code == 422
        assert refused.json["fields"] == {"channels": "No notification channel with id 424242."}
        assert api.put(item, root, json={"channels": "1"}).status_code == 422
        assert api.get(item, root).json["channels"] == [other["id"]]
        # Deleting a channel unlinks it.
        api.delete(f"{CHANNELS}/{other['id']}", key)
        assert api.get(item, root).json["channels"] == []
        other = create(api, key, name="Other", kind="email", addresses="b@e.com")

    document = api.get("/api/openapi.json").json["components"]["schemas"]
    for name in ("Monitor", "MonitorCreate", "MonitorUpdate", "CronJob", "CronJobCreate"):
        assert document[name]["properties"]["channels"]["items"]["minimum"] == 1, name


def work(app) -> None:
    """Run an RQ worker over the notify queue until it is empty."""
    with app.app_context():
        worker = SimpleWorker([queues.queue(queues.NOTIFY)], connection=redis_client.conn)
        worker.work(burst=True, with_scheduler=False)


def test_incident_changes_through_the_api_alert_the_monitors_channels(api, key, app, target):
    hook = create(api, key, name="Ops", kind="webhook", url=target.route("/hook", status=204))
    monitor = api.post(
        "/api/monitors",
        api.key("monitors:write"),
        json={"name": "Shop", "url": target.route("/health"), "channels": [hook["id"]]},
    ).json
    with app.app_context():
        incident = incidents.open_incident(
            monitor_id=monitor["id"], title="Shop is down", cause="HTTP 503", now=datetime.now(UTC)
        )
        db.session.commit()
        incident_id = incident.id
    writer = api.key("incidents:write")
    path = f"/api/incidents/{incident_id}"

    assert api.patch(path, writer, json={"action": "resolve"}).status_code == 200
    work(app)
    [resolved] = [json.loads(r.body) for r in posts(target, "/hook")]
    assert resolved["event"] == "incident.resolved"
    assert resolved["summary"] == "Incident resolved: Shop is down"
    assert resolved["subject"]["id"] == monitor["id"]
    assert resolved["incident"]["status"] == "resolved"
    assert resolved["incident"]["update"]["message"] == "Resolved manually."

    assert (
        api.post(f"{path}/updates", writer, json={"message": "Disk replaced."}).status_code == 201
    )
    assert api.patch(path, writer, json={"status": "open"}).status_code == 200
    # A refused change (already open) announces nothing.
    assert api.patch(path, writer, json={"status": "open"}).status_code == 409
    work(app)
    events = [json.loads(r.body)["event"] for r in posts(target, "/hook")]
    assert events == ["incident.resolved", "incident.updated", "incident.opened"]
    assert json.loads(posts(target, "/hook")[1].body)["detail"] == "Disk replaced."

    log = api.get(f"/api/notifications/log?channel_id={hook['id']}", key).json
    assert [(row["event"], row["status"]) for row in log] == [
        ("incident.opened", "sent"),
        ("incident.updated", "sent"),
        ("incident.resolved", "sent"),
    ]
    assert log[0]["subject"]["id"] == monitor["id"]
