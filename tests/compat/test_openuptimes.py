"""The OpenUptimes facade: the documented example requests verbatim (base URL swapped), the
shapes of the real server's code, its error texts, scopes, and that what it changes is the
native API's monitor."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, Monitor
from app.services import accounts, api_keys, history
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.integration.conftest import Api
from tests.targets import TargetServer

BASE = "/compat/openuptimes"
JSON = "application/json"

# The documented request bodies, byte for byte.
ADD_BODY = """{
"name": "New Service",
"url": "https://example.com",
"description": "A new service to monitor",
"expectedStatus": 200,
"method": "GET",
"timeout": 10000
}"""
UPDATE_BODY = """{
"name": "Updated Service",
"url": "https://example.com",
"description": "An updated service",
"expectedStatus": 200,
"method": "GET",
"timeout": 10000
}"""


@pytest.fixture
def api(app):
    return Api(app)


@pytest.fixture
def key(api, admin):
    return api.key("*")


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def headers(key: str, content_type: str | None = None) -> dict[str, str]:
    """The documented headers: ``Content-Type: application/json`` and the Bearer key."""
    sent = {"Authorization": f"Bearer {key}"}
    if content_type:
        sent["Content-Type"] = content_type
    return sent


def add(api, key, **service):
    body = {"name": "Shop", "url": "https://shop.example.com/", **service}
    response = api.post(f"{BASE}/api/services", json=body, headers=headers(key))
    assert response.status_code == 201, response.json
    return response.json


# --- the documented examples ------------------------------------------------------------------


def test_documented_service_examples_round_trip(api, key):
    response = api.post(f"{BASE}/api/services", data=ADD_BODY, headers=headers(key, JSON))
    assert response.status_code == 201
    added = response.json
    documented = {
        "name": "New Service",
        "url": "https://example.com",
        "description": "A new service to monitor",
        "expectedStatus": 200,
        "method": "GET",
        "timeout": 10000,
    }
    assert added["success"] is True
    assert added["service"].items() >= documented.items()
    assert added.items() >= documented.items()  # the code answers with the service itself

    listed = api.get(f"{BASE}/api/services", headers=headers(key)).json
    assert [s["name"] for s in listed] == ["New Service"]
    assert listed[0].items() >= documented.items()

    response = api.put(
        f"{BASE}/api/services?serviceName=New Service", data=UPDATE_BODY, headers=headers(key, JSON)
    )
    assert response.status_code == 200
    assert response.json["success"] is True
    assert response.json["service"]["name"] == "Updated Service"
    assert response.json["service"]["description"] == "An updated service"
    assert response.json["service"]["id"] == added["id"]

    response = api.delete(f"{BASE}/api/services?serviceName=Updated Service", headers=headers(key))
    assert response.status_code == 200
    assert response.json == {"success": True, "message": "Service deleted"}
    assert api.get(f"{BASE}/api/services", headers=headers(key)).json == []
    assert api.get(f"/api/monitors/{added['id']}", key).status_code == 404


def test_code_paths_address_services_by_name(api, key):
    add(api, key, name="Blog", url="https://blog.example.com/")
    response = api.put(
        f"{BASE}/api/services?name=Blog",
        json={"name": "Blog", "url": "https://blog.example.com/v2", "visible": False},
        headers=headers(key),
    )
    assert response.status_code == 200
    assert response.json["url"] == "https://blog.example.com/v2"
    assert response.json["visible"] is False
    listed = api.get(f"{BASE}/api/services?includeDeleted=true", headers=headers(key)).json
    assert listed[0]["isDeleted"] is False
    response = api.delete(f"{BASE}/api/services?name=Blog", headers=headers(key))
    assert response.json["success"] is True


def test_what_the_facade_creates_is_the_native_monitor(api, key):
    service = add(api, key, description="Checkout", expectedStatus=204, visible=False, timeout=5000)
    native = api.get(f"/api/monitors/{service['id']}", key).json
    assert native["type"] == "http"
    assert (native["name"], native["url"], native["description"]) == (
        "Shop",
        "https://shop.example.com/",
        "Checkout",
    )
    assert native["expected_status"] == "204"
    assert native["public"] is False
    assert native["timeout_ms"] == 5000
    # And what the native API changes, the facade shows.
    api.put(f"/api/monitors/{service['id']}", key, json={"expected_status": "200-299"})
    listed = api.get(f"{BASE}/api/services", headers=headers(key)).json
    assert listed[0]["expectedStatus"] == "200-299"
    assert listed[0]["visible"] is False


def test_a_put_replaces_what_openuptimes_checks_by(api, key):
    add(api, key, description="Checkout", expectedStatus=204, visible=False, method="HEAD")
    response = api.put(
        f"{BASE}/api/services?name=Shop",
        json={"name": "Shop", "url": "https://shop.example.com/"},
        headers=headers(key),
    )
    service = response.json
    assert (service["description"], service["expectedStatus"], service["visible"]) == (
        "",
        200,
        True,
    )
    assert service["method"] == "HEAD"  # not given, and ignored by OpenUptimes' checker


def test_bodies_are_read_as_json_whatever_their_type(api, key):
    # curl -d sends form encoding; OpenUptimes parsed the body as JSON all the same.
    response = api.post(
        f"{BASE}/api/services",
        data='{"name":"Shop","url":"https://shop.example.com/"}',
        headers=headers(key, "application/x-www-form-urlencoded"),
    )
    assert response.status_code == 201
    assert response.json["name"] == "Shop"


def test_ping_checks_every_service_now(api, key, target):
    up = target.route("/up", body="ok")
    down = target.route("/down", status=500)
    checked = add(api, key, name="Up", url=up)
    add(api, key, name="Down", url=down)
    paused = add(api, key, name="Paused", url=up)
    api.post(f"/api/monitors/{paused['id']}/pause", key)

    response = api.get(f"{BASE}/api/ping", headers=headers(key))

    assert response.status_code == 200
    body = response.json
    # Documented: success, timestamp, duration and services; the code: status and results.
    assert body["success"] is True and body["status"] == "success"
    assert isinstance(body["timestamp"], int) and isinstance(body["duration"], int)
    assert body["executionTime"] == body["duration"]
    assert body["refreshInterval"] == 60_000
    assert body["nextPing"] == body["timestamp"] + 60_000
    assert body["results"] == body["services"]
    by_name = {s["name"]: s for s in body["services"]}
    assert set(by_name) == {"Up", "Down"}
    assert by_name["Up"]["url"] == up
    assert by_name["Up"]["status"] == "up" and by_name["Up"]["statusCode"] == 200
    assert by_name["Down"]["status"] == "down" and by_name["Down"]["statusCode"] == 500
    assert "expected 200" in by_name["Down"]["error"]
    for service in body["services"]:
        assert isinstance(service["responseTime"], int)
        assert service["timestamp"] <= body["timestamp"]
    assert [r.target for r in target.requests].count("/up") == 1
    # Recorded like any check: the native history has it.
    history_page = api.get(f"/api/monitors/{checked['id']}/history", key)
    assert history_page.json[0]["outcome"] == "ok"


def test_ping_for_github_actions_takes_x_api_key(api, key):
    response = api.get(f"{BASE}/api/ping?runId=42", headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json["results"] == []


@pytest.mark.parametrize(
    ("sent", "text"),
    [
        ({}, "Unauthorized. Missing API key for GitHub Actions request."),
        ({"X-API-Key": "openuptimes-api-key"}, "Unauthorized. Invalid API key."),
    ],
)
def test_ping_for_github_actions_refuses_in_its_words(api, admin, sent, text):
    response = api.get(f"{BASE}/api/ping?runId=7", headers=sent)
    assert response.status_code == 401
    assert response.json["error"] == text


def test_ping_needs_a_key_even_from_a_signed_in_admin(logged_in):
    response = logged_in.get(f"{BASE}/api/ping")
    assert response.status_code == 401


def test_reset_intervals_answers_success(api, key):
    response = api.get(f"{BASE}/api/ping?action=reset_intervals", headers=headers(key))
    assert response.status_code == 200
    assert response.json["status"] == "success"
    assert isinstance(response.json["timestamp"], int)


def test_status_is_the_public_page_in_the_code_shape(api, key, target, app):
    public_url = target.route("/ok", body="ok")
    private_url = target.route("/private-path", body="ok")
    public = add(api, key, name="Public", url=public_url, description="The shop")
    private = add(api, key, name="Private", url=private_url, visible=False)
    headers_sent = {"X-Token": "public-header-secret"}
    changed = api.put(f"/api/monitors/{public['id']}", key, json={"headers": headers_sent})
    assert changed.status_code == 200, changed.json
    api.get(f"{BASE}/api/ping", headers=headers(key))
    with app.app_context():
        [check] = db.session.execute(
            sa.select(CheckResult).filter_by(monitor_id=public["id"])
        ).scalars()
        monitor = db.session.get(Monitor, private["id"])
        private_marks = [private_url, "Private", monitor.slug, monitor.uuid]
    checked = int(check.started_at.timestamp() * 1000)
    ms = round(check.total_us / 1000)

    response = api.client.get(f"{BASE}/api/status?history=true&limit=5")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json == [
        {
            "name": "Public",
            "url": None,  # the public never sees URLs
            "description": "The shop",
            "config": {"visible": True},
            "currentStatus": {"status": "up", "timestamp": checked, "responseTime": ms},
            "history": [{"status": "up", "timestamp": checked, "responseTime": ms}],
            "status": "up",
            "lastChecked": checked,
            "responseTime": ms,
        }
    ]
    without = api.client.get(f"{BASE}/api/status")
    assert without.json == [{**response.json[0], "history": []}]
    # Nothing private in either body: no address, header or mark of the private service.
    for body in (response.get_data(as_text=True), without.get_data(as_text=True)):
        for private_text in [public_url, "/ok", "public-header-secret", "X-Token"]:
            assert private_text not in body
        for private_text in private_marks:
            assert private_text not in body
        assert '"id":' not in body


def test_a_service_never_checked_has_no_current_status(api, key):
    add(api, key)
    [entry] = api.client.get(f"{BASE}/api/status").json
    assert entry["currentStatus"] is None and entry["history"] == []


def test_documented_history_of_one_service(api, key, target):
    add(api, key, name="Example Service", url=target.route("/ok", body="ok"))
    api.get(f"{BASE}/api/ping", headers=headers(key))
    for path in (
        f"{BASE}/api/history/Example Service",
        f"{BASE}/api/history?serviceName=Example Service",
    ):
        response = api.client.get(path)
        assert response.status_code == 200
        body = response.json
        assert body["name"] == "Example Service"
        [check] = body["history"]
        assert set(check) == {"timestamp", "status", "responseTime"}
        assert check["status"] == "up"


def test_documented_history_hides_private_services(api, key):
    add(api, key, name="Private", visible=False)
    response = api.client.get(f"{BASE}/api/history/Private")
    assert response.status_code == 404
    assert response.json["error"] == "Service not found"


def test_code_history_lists_services_with_entries(api, key, target):
    add(api, key, name="Checked", url=target.route("/ok", body="ok"), visible=False)
    api.get(f"{BASE}/api/ping", headers=headers(key))
    add(api, key, name="Never checked", url=target.route("/ok", body="ok"))

    for query in ("?service=Checked&timeRange=24h", "?timeRange=7d", "?timeRange=3d", ""):
        response = api.get(f"{BASE}/api/history{query}", headers=headers(key))
        assert response.status_code == 200, query
        [entry] = response.json
        assert entry["name"] == "Checked" and entry["isDeleted"] is False
        assert entry["url"] == target.url("/ok")
        [check] = entry["history"]
        assert check["status"] == "up" and check["statusCode"] == 200
    ms = entry["history"][0]["timestamp"]
    custom = f"?service=Checked&startTime={ms - 60_000}&endTime={ms + 60_000}"
    assert len(api.get(f"{BASE}/api/history{custom}", headers=headers(key)).json) == 1
    later = f"?service=Checked&startTime={ms + 60_000}&endTime={ms + 120_000}"
    assert api.get(f"{BASE}/api/history{later}", headers=headers(key)).json == []
    assert api.get(f"{BASE}/api/history?service=Nobody", headers=headers(key)).json == []


def test_code_history_refuses_an_unknown_range(api, key):
    response = api.get(f"{BASE}/api/history?timeRange=fortnight", headers=headers(key))
    assert response.status_code == 400
    assert "timeRange" in response.json["error"]


def test_documented_ttl_examples(api, key, app):
    response = api.get(f"{BASE}/api/ping-history/ttl", headers=headers(key))
    assert response.json == {"ttl": history.TTL_DEFAULT, "unlimited": False}

    response = api.patch(
        f"{BASE}/api/ping-history/ttl", data='{"ttl": 604800}', headers=headers(key, JSON)
    )
    assert response.status_code == 200
    assert response.json == {
        "success": True,
        "ttl": 604800,
        "unlimited": False,
        "message": "History TTL set to 604800 seconds",
    }
    with app.app_context():
        assert history.get_retention() == {"ttl_seconds": 604800, "unlimited": False}

    response = api.patch(f"{BASE}/api/ping-history", json={"ttl": 0}, headers=headers(key))
    assert response.json["message"] == "History TTL set to unlimited"
    assert api.get(f"{BASE}/api/ping-history/ttl", headers=headers(key)).json == {
        "ttl": 0,
        "unlimited": True,
    }
    # Back from unlimited by giving seconds again.
    api.patch(f"{BASE}/api/ping-history/ttl", json={"ttl": 7200}, headers=headers(key))
    assert api.get("/api/settings/history", key).json == {
        "ttl_seconds": 7200,
        "unlimited": False,
    }


def test_clear_history_deletes_the_history(api, key, target, app):
    service = add(api, key, url=target.route("/ok", body="ok"))
    api.get(f"{BASE}/api/ping", headers=headers(key))
    response = api.delete(f"{BASE}/api/ping-history", headers=headers(key))
    assert response.status_code == 200
    assert response.json["success"] is True
    assert response.json["message"] == "Ping history cleared"
    assert api.get(f"/api/monitors/{service['id']}/history", key).json == []


def test_setup_status_and_complete_before_any_admin(api):
    documented = api.client.get(f"{BASE}/api/setup/status").json
    assert documented == {"setupComplete": False, "completed": False}
    response = api.client.post(
        f"{BASE}/api/setup/complete",
        json={"password": ADMIN_PASSWORD, "email": ADMIN_EMAIL, "siteSettings": {}},
    )
    assert response.status_code == 200
    assert response.json == {"success": True, "message": "Setup completed"}
    assert api.client.get(f"{BASE}/api/setup/status").json["setupComplete"] is True
    with api.app.app_context():
        assert accounts.authenticate(ADMIN_EMAIL, ADMIN_PASSWORD, "127.0.0.1")


def test_setup_complete_wants_a_declared_json_body(api):
    # Before setup there is no key: a cross-site form must not create the first admin.
    response = api.client.post(
        f"{BASE}/api/setup/complete",
        data=f'{{"password": "{ADMIN_PASSWORD}", "email": "{ADMIN_EMAIL}"}}',
        content_type="text/plain",
    )
    assert response.status_code == 415
    assert api.client.get(f"{BASE}/api/setup/status").json["completed"] is False


def test_setup_complete_when_setup_is_done(api, key):
    response = api.post(
        f"{BASE}/api/setup/complete",
        data='{"password": "a new password"}',
        headers=headers(key, JSON),
    )
    assert response.status_code == 409
    assert response.json["error"] == "Setup is already complete. Sign in instead."


def test_redis_test(api, key):
    response = api.get(f"{BASE}/api/test-redis", headers=headers(key))
    assert response.status_code == 200
    assert response.json == {
        "success": True,
        "message": "Redis connection successful",
        "pingResult": "PONG",
        "connected": True,
        "ping": "PONG",
    }


# --- documented errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("POST", "/api/services", {"name": "X"}, 400, "Name and URL are required"),
        ("POST", "/api/services", {"url": "https://x.example/"}, 400, "Name and URL are required"),
        ("POST", "/api/services", {"name": "Shop", "url": "https://x.example/"}, 409,
         "Service with this name already exists"),
        ("PUT", "/api/services", {"name": "Shop", "url": "https://x.example/"}, 400,
         "Service name is required"),
        ("PUT", "/api/services?name=Shop", {"name": "Shop"}, 400, "Name and URL are required"),
        ("PUT", "/api/services?name=Nope", {"name": "N", "url": "https://x.example/"}, 404,
         "Service not found"),
        ("DELETE", "/api/services", None, 400, "Service name is required"),
        ("DELETE", "/api/services?name=Nope", None, 404, "Service not found"),
        ("PATCH", "/api/ping-history/ttl", {}, 400, "TTL value is required"),
        ("POST", "/api/setup/complete", {"siteSettings": {}}, 400, "Password is required"),
    ],
)  # fmt: skip
def test_documented_errors(api, key, method, path, body, status, text):
    add(api, key)
    response = api.call(method, BASE + path, key, json=body)
    assert response.status_code == status
    # The code's {"error": text} and the documented {"message", "status"} at once.
    assert response.json == {"error": text, "message": text, "status": status}


def test_renaming_onto_another_service_is_refused(api, key):
    add(api, key, name="One")
    add(api, key, name="Two")
    response = api.put(
        f"{BASE}/api/services?name=Two",
        json={"name": "One", "url": "https://shop.example.com/"},
        headers=headers(key),
    )
    assert response.status_code == 409
    assert response.json["error"] == "Service with this name already exists"


def test_field_errors_name_openuptimes_fields(api, key):
    response = api.post(
        f"{BASE}/api/services",
        json={"name": "Shop", "url": "ftp://shop.example.com/", "timeout": 5},
        headers=headers(key),
    )
    assert response.status_code == 400
    assert response.json["error"].startswith("url: ")
    assert "timeout: " in response.json["error"]


def test_a_ttl_out_of_range_is_refused(api, key):
    response = api.patch(f"{BASE}/api/ping-history/ttl", json={"ttl": 10}, headers=headers(key))
    assert response.status_code == 400
    assert response.json["error"].startswith("ttl: Must be a whole number of seconds")


def test_a_body_that_is_not_json(api, key):
    response = api.post(f"{BASE}/api/services", data="{name", headers=headers(key, JSON))
    assert response.status_code == 400
    assert response.json["error"].startswith("The body is not valid JSON")


# --- keys and scopes --------------------------------------------------------------------------

CALLS = [
    ("GET", "/api/services", None, "monitors:read"),
    ("POST", "/api/services", {"name": "New", "url": "https://x.example/"}, "monitors:write"),
    ("PUT", "/api/services?name=Shop", {"name": "Shop", "url": "https://x.example/"},
     "monitors:write"),
    ("DELETE", "/api/services?name=Shop", None, "monitors:write"),
    ("GET", "/api/ping", None, "monitors:write"),
    ("GET", "/api/history?service=Shop", None, "monitors:read"),
    ("GET", "/api/ping-history/ttl", None, "settings:read"),
    ("PATCH", "/api/ping-history/ttl", {"ttl": 7200}, "settings:write"),
    ("PATCH", "/api/ping-history", {"ttl": 7200}, "settings:write"),
    ("DELETE", "/api/ping-history", None, "settings:write"),
    ("POST", "/api/setup/complete", {"password": "x"}, "settings:write"),
    ("GET", "/api/test-redis", None, "system:read"),
]  # fmt: skip


def _other_scopes(scope: str) -> list[str]:
    """Scopes close to ``scope`` that do not cover it: the resource's other action, if any,
    and another resource altogether."""
    resource, action = scope.split(":")
    other = f"{resource}:{'write' if action == 'read' else 'read'}"
    return ["incidents:*"] + ([other] if other in api_keys.SCOPES else [])


@pytest.mark.parametrize(("method", "path", "body", "scope"), CALLS)
def test_the_same_key_is_refused_without_the_scope(api, admin, method, path, body, scope):
    add(api, api.key("*"))
    refused = api.key(*_other_scopes(scope))
    response = api.call(method, BASE + path, json=body, headers={"X-API-Key": refused})
    assert response.status_code == 403
    assert scope in response.json["error"]

    allowed = api.key(scope)
    response = api.call(method, BASE + path, json=body, headers={"X-API-Key": allowed})
    assert response.status_code != 403


@pytest.mark.parametrize(("method", "path", "body", "scope"), CALLS)
def test_calls_without_a_key_are_refused(api, admin, method, path, body, scope):
    response = api.call(method, BASE + path, json=body)
    assert response.status_code == 401
    assert response.json["status"] == 401


@pytest.mark.parametrize(
    "path", ["/api/status", "/api/history/Shop", "/api/setup/status"]
)  # fmt: skip
def test_public_reads_need_no_key(api, key, path):
    add(api, key)
    assert api.client.get(BASE + path).status_code == 200
