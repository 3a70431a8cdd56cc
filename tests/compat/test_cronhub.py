"""The Cronhub facade, from Cronhub's documentation: every curl example sent as curl sends it
(only the base URL and the key swapped), the round trips a client makes, the documented
errors, scopes, pings, and what the facade creates as the native API sees it."""

from __future__ import annotations

import re
import uuid

import pytest

from app.config import ConfigError, load
from app.extensions import db
from app.models import Monitor
from app.services import api_keys, monitors
from app.web.compat.cronhub import MISSING_KEY

BASE = "/compat/cronhub"
FORM = "application/x-www-form-urlencoded"  # what curl -d sends
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MONITOR_KEYS = {
    "name",
    "code",
    "schedule",
    "grace_period",
    "timezone",
    "status",
    "last_ping",
    "running_time",
    "running_time_unit",
    "created_at",
}
SCHEDULER_KEYS = {
    "id",
    "name",
    "description",
    "interval_schedule_value",
    "interval_schedule_rate",
    "type",
    "schedule",
    "timezone",
    "status",
    "url",
    "http_body",
    "http_method",
    "created_at",
    "updated_at",
}


class Cronhub:
    """A client that talks to the facade as Cronhub's clients do: X-Api-Key, curl's bodies."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def key(self, *scopes: str, **options) -> str:
        data = {"name": "cronhub", "scopes": list(scopes) or ["*"], "rate_limit_per_sec": 1000}
        with self.app.app_context():
            return api_keys.create({**data, **options})[1]

    def call(self, method: str, path: str, key: str | None, form: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["X-Api-Key"] = key
        if form is not None:
            kwargs.update(data=form, content_type=FORM)
        return self.client.open(BASE + path, method=method, headers=headers, **kwargs)

    def heartbeat(self, code: str | None = None, **data) -> str:
        """A heartbeat made through the service; with ``code``, it gets the documented uuid."""
        data = {"kind": "heartbeat", "name": "Job", "cron_expr": "0 0 * * *", **data}
        with self.app.app_context():
            monitor = monitors.create(data)
            if code is not None:
                monitor.code = code
                db.session.commit()
            return monitor.code


@pytest.fixture
def hub(app):
    return Cronhub(app)


@pytest.fixture
def key(hub):
    return hub.key("monitors:*", "cron-jobs:*")


def native_heartbeat(hub, code: str) -> dict:
    """The heartbeat with ``code`` as the native API shows it."""
    root = hub.key("*")
    listed = hub.client.get(
        "/api/monitors?type=heartbeat", headers={"Authorization": f"Bearer {root}"}
    ).json
    found = next(item for item in listed if item["code"] == code)
    return hub.client.get(
        f"/api/monitors/{found['id']}", headers={"Authorization": f"Bearer {root}"}
    ).json


def native_pings(hub, monitor_id: int) -> list[dict]:
    root = hub.key("*")
    return hub.client.get(
        f"/api/monitors/{monitor_id}/pings", headers={"Authorization": f"Bearer {root}"}
    ).json


# --- the documented examples, verbatim ---------------------------------------------------------


def test_list_example(hub, key):
    hub.heartbeat(
        "cbe02bb0-9e72-11e8-ba9d-2bd49279e066",
        name="Daily database backup",
        grace_period=2,
        running_time=1,
        running_time_unit="minutes",
    )
    hub.heartbeat("b5e5e820-9945-11e8-8dd4-23e5bbe40518", name="My Daily Cron Monitor")
    hub.client.get(f"{BASE}/ping/cbe02bb0-9e72-11e8-ba9d-2bd49279e066")

    # curl --header "X-Api-Key: api-key" https://cronhub.io/api/v1/monitors
    response = hub.call("GET", "/api/v1/monitors", key)

    assert response.status_code == 200
    body = response.json
    assert body["success"] is True
    assert [set(m) for m in body["response"]] == [MONITOR_KEYS, MONITOR_KEYS]
    backup = next(m for m in body["response"] if m["name"] == "Daily database backup")
    assert backup["code"] == "cbe02bb0-9e72-11e8-ba9d-2bd49279e066"
    assert (backup["schedule"], backup["grace_period"], backup["timezone"]) == (
        "0 0 * * *",
        2,
        "UTC",
    )
    assert backup["status"] == "up" and ISO.match(backup["last_ping"])
    assert (backup["running_time"], backup["running_time_unit"]) == (1, "minutes")
    assert ISO.match(backup["created_at"])


def test_list_shows_heartbeats_only(hub, key, app):
    with app.app_context():
        monitors.create({"name": "Shop", "url": "https://shop.example.com/"})
    hub.heartbeat(name="Backup")
    names = [m["name"] for m in hub.call("GET", "/api/v1/monitors", key).json["response"]]
    assert names == ["Backup"]


def test_get_example(hub, key):
    code = "b531e120-a018-11e8-93de-5b0f21d9156d"
    hub.heartbeat(code, name="Cronhub minutely monitor", cron_expr="* * * * *", grace_period=5)
    hub.client.get(f"{BASE}/ping/{code}")

    # curl --header "X-Api-Key: api-key" https://cronhub.io/api/v1/monitors/b531e120-…
    response = hub.call("GET", f"/api/v1/monitors/{code}", key)

    assert response.status_code == 200
    monitor = response.json["response"]
    assert response.json["success"] is True and set(monitor) == MONITOR_KEYS
    assert monitor["name"] == "Cronhub minutely monitor" and monitor["code"] == code
    assert (monitor["schedule"], monitor["grace_period"], monitor["status"]) == (
        "* * * * *",
        5,
        "up",
    )
    assert (monitor["running_time"], monitor["running_time_unit"]) == (None, None)
    assert ISO.match(monitor["last_ping"]) and ISO.match(monitor["created_at"])


def test_create_example(hub, key):
    # Both create examples (-d timezone=UTC and -d timezone='UTC') send this body.
    body = "name=Cronhub monitor example&schedule=* * * * *&grace_period=1&timezone=UTC"
    response = hub.call("POST", "/api/v1/monitors", key, body)

    assert response.status_code == 200, response.json
    assert response.json["success"] is True
    monitor = response.json["response"]
    assert MONITOR_KEYS <= set(monitor)
    assert monitor["name"] == "Cronhub monitor example" and UUID.match(monitor["code"])
    assert (monitor["schedule"], monitor["grace_period"], monitor["timezone"]) == (
        "* * * * *",
        1,
        "UTC",
    )
    assert monitor["status"] is None and monitor["last_ping"] is None
    assert (monitor["running_time"], monitor["running_time_unit"]) == (None, None)
    assert ISO.match(monitor["created_at"])
    # The new code is a working ping URL.
    assert hub.client.get(f"{BASE}/ping/{monitor['code']}").json["monitor_status"] == "up"


def test_update_example(hub, key):
    code = hub.heartbeat("ff722460-a026-11e8-b4f1-f5e50b7346a6", name="Old name")
    body = "name=Daily Email Report&schedule=0 0 * * *&grace_period=20&timezone=UTC"

    response = hub.call("PUT", f"/api/v1/monitors/{code}", key, body)

    assert response.status_code == 200, response.json
    monitor = response.json["response"]
    assert response.json["success"] is True and MONITOR_KEYS <= set(monitor)
    assert (monitor["name"], monitor["code"], monitor["schedule"]) == (
        "Daily Email Report",
        "ff722460-a026-11e8-b4f1-f5e50b7346a6",
        "0 0 * * *",
    )
    assert (monitor["grace_period"], monitor["timezone"], monitor["status"]) == (20, "UTC", "new")


def test_delete_example(hub, key):
    code = hub.heartbeat("4aa80130-995a-11e8-b107-1992dc48b7c2")

    response = hub.call("DELETE", f"/api/v1/monitors/{code}", key)

    assert response.status_code == 200
    assert response.json == {"success": True, "response": []}
    assert hub.call("GET", f"/api/v1/monitors/{code}", key).status_code == 404


def test_pause_example(hub, key):
    code = hub.heartbeat(
        "b5e5e820-9945-11e8-8dd4-23e5bbe40518",
        name="My Daily Cron Monitor",
        running_time=2,
        running_time_unit="minutes",
    )
    hub.client.get(f"{BASE}/ping/{code}")

    response = hub.call("PUT", f"/api/v1/monitors/{code}/pause", key)

    assert response.status_code == 200
    monitor = response.json["response"]
    assert response.json["success"] is True and MONITOR_KEYS <= set(monitor)
    assert monitor["status"] == "paused" and ISO.match(monitor["last_ping"])
    assert (monitor["running_time"], monitor["running_time_unit"]) == (2, "minutes")


def test_resume_brings_a_paused_monitor_back_as_new(hub, key):
    code = hub.heartbeat()
    hub.call("PUT", f"/api/v1/monitors/{code}/pause", key)

    response = hub.call("PUT", f"/api/v1/monitors/{code}/resume", key)

    assert response.status_code == 200
    assert response.json["success"] is True and response.json["response"]["status"] == "new"


# --- round trips and bodies --------------------------------------------------------------------


def test_round_trip_in_json(hub, key):
    created = hub.call(
        "POST",
        "/api/v1/monitors",
        key,
        json={
            "name": "Nightly export",
            "schedule": "30 2 * * *",
            "timezone": "Europe/Berlin",
            "grace_period": 15,
            "running_time": 90,
            "running_time_unit": "seconds",
            "colour": "ignored, as Cronhub ignores unknown fields",
        },
    )
    assert created.status_code == 200, created.json
    code = created.json["response"]["code"]
    assert (created.json["response"]["running_time"], created.json["response"]["timezone"]) == (
        90,
        "Europe/Berlin",
    )

    fetched = hub.call("GET", f"/api/v1/monitors/{code}", key).json["response"]
    assert {**fetched, "status": None} == created.json["response"]

    updated = hub.call(
        "PUT",
        f"/api/v1/monitors/{code}",
        key,
        json={
            "name": "Nightly export v2",
            "schedule": "0 3 * * *",
            "timezone": "UTC",
            "grace_period": 60,
            "running_time": 3,
            "running_time_unit": "weeks",
        },
    ).json["response"]
    assert (updated["name"], updated["schedule"], updated["grace_period"]) == (
        "Nightly export v2",
        "0 3 * * *",
        60,
    )
    assert (updated["running_time"], updated["running_time_unit"]) == (3, "weeks")

    assert hub.call("PUT", f"/api/v1/monitors/{code}/pause", key).json["response"]["status"] == (
        "paused"
    )
    assert hub.call("GET", f"/api/v1/monitors/{code}", key).json["response"]["status"] == "paused"
    assert hub.call("PUT", f"/api/v1/monitors/{code}/resume", key).json["response"]["status"] == (
        "new"
    )
    assert hub.call("DELETE", f"/api/v1/monitors/{code}", key).json == {
        "success": True,
        "response": [],
    }
    assert hub.call("GET", "/api/v1/monitors", key).json == {"success": True, "response": []}


def test_what_the_facade_creates_is_the_native_heartbeat(hub, key):
    created = hub.call(
        "POST",
        "/api/v1/monitors",
        key,
        "name=Backup&schedule=0 4 * * *&grace_period=10&timezone=Europe/Paris"
        "&running_time=2&running_time_unit=hours",
    ).json["response"]

    native = native_heartbeat(hub, created["code"])

    assert native["type"] == "heartbeat" and native["name"] == "Backup"
    assert (native["cron_expr"], native["timezone"], native["period_sec"]) == (
        "0 4 * * *",
        "Europe/Paris",
        None,
    )
    assert (native["grace_sec"], native["max_run_sec"]) == (600, 7200)
    assert native["state"] == "new" and native["manual_resume"] is True

    hub.call("PUT", f"/api/v1/monitors/{created['code']}/pause", key)
    assert native_heartbeat(hub, created["code"])["state"] == "paused"


def test_a_native_heartbeat_is_reachable_through_the_facade(hub, key):
    code = hub.heartbeat(name="Made natively", grace_sec=180)
    monitor = hub.call("GET", f"/api/v1/monitors/{code}", key).json["response"]
    assert (monitor["name"], monitor["grace_period"], monitor["status"]) == (
        "Made natively",
        3,
        "new",
    )


# --- documented validation ---------------------------------------------------------------------


@pytest.mark.parametrize("grace", ["0", "61", "-5", "soon", "1.5"])
def test_grace_period_must_be_1_to_60_minutes(hub, key, grace):
    body = f"name=Job&schedule=* * * * *&grace_period={grace}&timezone=UTC"
    response = hub.call("POST", "/api/v1/monitors", key, body)
    assert response.status_code == 422
    assert response.json["success"] is False
    assert response.json["errors"] == {
        "grace_period": "Must be a whole number of minutes from 1 to 60."
    }
    assert response.json["response"] == (
        "grace_period: Must be a whole number of minutes from 1 to 60."
    )


@pytest.mark.parametrize("grace", ["1", "60"])
def test_grace_period_bounds_are_accepted(hub, key, grace):
    body = f"name=Job&schedule=* * * * *&grace_period={grace}&timezone=UTC"
    response = hub.call("POST", "/api/v1/monitors", key, body)
    assert response.status_code == 200
    assert response.json["response"]["grace_period"] == int(grace)


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"),
    [("45", "seconds", 45), ("5", "minutes", 300), ("6", "hours", 21600), ("2", "days", 172800)],
)
def test_running_time_units(hub, key, amount, unit, seconds):
    body = (
        "name=Job&schedule=* * * * *&grace_period=1&timezone=UTC"
        f"&running_time={amount}&running_time_unit={unit}"
    )
    monitor = hub.call("POST", "/api/v1/monitors", key, body).json["response"]
    assert (monitor["running_time"], monitor["running_time_unit"]) == (int(amount), unit)
    assert native_heartbeat(hub, monitor["code"])["max_run_sec"] == seconds


def test_running_time_needs_its_unit(hub, key):
    body = "name=Job&schedule=* * * * *&grace_period=1&timezone=UTC&running_time=5"
    response = hub.call("POST", "/api/v1/monitors", key, body)
    assert response.status_code == 422
    assert response.json["success"] is False
    assert response.json["errors"] == {
        "running_time_unit": (
            "Choose the unit of running_time: seconds, minutes, hours, days or weeks."
        )
    }


def test_running_time_unit_must_be_a_known_unit(hub, key):
    body = (
        "name=Job&schedule=* * * * *&grace_period=1&timezone=UTC"
        "&running_time=2&running_time_unit=fortnights"
    )
    response = hub.call("POST", "/api/v1/monitors", key, body)
    assert response.status_code == 422
    assert response.json["errors"] == {
        "running_time_unit": "Choose one of seconds, minutes, hours, days, weeks."
    }


def test_running_time_must_be_an_integer(hub, key):
    body = (
        "name=Job&schedule=* * * * *&grace_period=1&timezone=UTC"
        "&running_time=soon&running_time_unit=minutes"
    )
    response = hub.call("POST", "/api/v1/monitors", key, body)
    assert response.status_code == 422 and set(response.json["errors"]) == {"running_time"}


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_the_documented_arguments_are_required_on_create_and_update(hub, key, method):
    path = "/api/v1/monitors" if method == "POST" else f"/api/v1/monitors/{hub.heartbeat()}"
    response = hub.call(method, path, key, "running_time_unit=minutes")
    assert response.status_code == 422
    assert response.json["success"] is False
    assert response.json["errors"] == {
        "name": "Enter a name.",
        "schedule": "Enter a cron expression, such as 0 0 * * *.",
        "timezone": "Enter a time zone, such as UTC.",
        "grace_period": "Enter the grace period in minutes, from 1 to 60.",
    }


def test_schedule_and_timezone_are_checked(hub, key):
    body = "name=Job&schedule=0 0 31 2 *&grace_period=1&timezone=Mars/Olympus"
    response = hub.call("POST", "/api/v1/monitors", key, body)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"schedule", "timezone"}
    with hub.app.app_context():
        assert db.session.query(Monitor).count() == 0


def test_malformed_json_is_a_400_in_cronhub_shape(hub, key):
    response = hub.call(
        "POST",
        "/api/v1/monitors",
        key,
        data="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["success"] is False and "not valid JSON" in response.json["response"]


def test_unknown_monitor_is_404(hub, key, app):
    with app.app_context():
        uptime = monitors.create({"name": "Shop", "url": "https://shop.example.com/"})
    for path in (f"/api/v1/monitors/{uuid.uuid4()}", "/api/v1/monitors/not-a-uuid"):
        for method in ("GET", "PUT", "DELETE"):
            response = hub.call(method, path, key)
            assert response.status_code == 404, (method, path)
            assert response.json == {
                "success": False,
                "response": "Heartbeat monitor not found.",
            }
    # An uptime monitor has no code and is not a Cronhub monitor.
    assert hub.call("GET", f"/api/v1/monitors/{uptime.id}", key).status_code == 404


# --- keys, scopes, limits ----------------------------------------------------------------------


def test_missing_or_wrong_key_is_403(hub):
    response = hub.call("GET", "/api/v1/monitors", None)
    assert response.status_code == 403
    assert response.json == {"success": False, "response": MISSING_KEY}
    response = hub.call("GET", "/api/v1/monitors", "ch_5b73b46baf0c00.55022502")
    assert response.status_code == 403
    assert response.json == {"success": False, "response": "Invalid API key."}


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/api/v1/monitors", "monitors:read"),
        ("POST", "/api/v1/monitors", "monitors:write"),
        ("GET", "/api/v1/monitors/{code}", "monitors:read"),
        ("PUT", "/api/v1/monitors/{code}", "monitors:write"),
        ("DELETE", "/api/v1/monitors/{code}", "monitors:write"),
        ("PUT", "/api/v1/monitors/{code}/pause", "monitors:write"),
        ("PUT", "/api/v1/monitors/{code}/resume", "monitors:write"),
        ("GET", "/api/v1/schedulers", "cron-jobs:read"),
        ("POST", "/api/v1/schedulers/create", "cron-jobs:write"),
        ("GET", "/api/v1/schedulers/{job}", "cron-jobs:read"),
        ("PUT", "/api/v1/schedulers/{job}", "cron-jobs:write"),
        ("DELETE", "/api/v1/schedulers/{job}", "cron-jobs:write"),
        ("PUT", "/api/v1/schedulers/{job}/pause", "cron-jobs:write"),
        ("PUT", "/api/v1/schedulers/{job}/resume", "cron-jobs:write"),
    ],
)
def test_a_key_without_the_scope_is_refused(hub, method, path, scope):
    code = hub.heartbeat()
    job = hub.call(
        "POST", "/api/v1/schedulers/create", hub.key("cron-jobs:write"), SCHEDULER_CREATE
    ).json["created"]["id"]
    path = path.format(code=code, job=job)
    resource, action = scope.split(":")
    # The other action on the same resource, and every scope of the other resource.
    other = "cron-jobs" if resource == "monitors" else "monitors"
    lacking = hub.key(f"{resource}:{'write' if action == 'read' else 'read'}", f"{other}:*")

    response = hub.call(method, path, lacking, "")

    assert response.status_code == 403
    assert response.json == {
        "success": False,
        "response": api_keys.insufficient_scope(scope),
    }
    assert hub.call(method, path, hub.key(scope), "").status_code != 403


def test_the_key_rate_limit_answers_429(hub):
    key = hub.key("monitors:read", rate_limit_per_sec=1)
    responses = [hub.call("GET", "/api/v1/monitors", key) for _ in range(3)]
    refused = responses[-1]
    assert refused.status_code == 429
    assert refused.json["success"] is False and refused.json["response"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_revoked_key_is_refused(hub):
    key_id, secret = None, None
    with hub.app.app_context():
        key, secret = api_keys.create({"name": "old", "scopes": ["*"]})
        key_id = key.id
        api_keys.revoke(key_id)
    response = hub.call("GET", "/api/v1/monitors", secret)
    assert response.status_code == 403
    assert response.json == {"success": False, "response": api_keys.REVOKED}


# --- pings -------------------------------------------------------------------------------------


def test_ping_urls_drive_the_states(hub, key):
    code = hub.heartbeat()

    started = hub.client.get(f"{BASE}/start/{code}")
    assert started.status_code == 200
    assert started.json == {"success": True, "monitor_status": "running", "monitor_last_ping": None}

    finished = hub.client.get(f"{BASE}/finish/{code}").json
    assert finished["success"] is True and finished["monitor_status"] == "up"
    assert ISO.match(finished["monitor_last_ping"])

    assert hub.client.get(f"{BASE}/fail/{code}").json["monitor_status"] == "alert"
    assert hub.client.get(f"{BASE}/ping/{code}").json["monitor_status"] == "up"
    assert hub.call("GET", f"/api/v1/monitors/{code}", key).json["response"]["status"] == "up"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_ping_urls_take_any_method(hub, method):
    code = hub.heartbeat()
    response = hub.client.open(f"{BASE}/ping/{code}", method=method)
    assert response.status_code == 200
    with hub.app.app_context():
        monitor_id = monitors.get_by_code(code).id
    assert [p["method"] for p in native_pings(hub, monitor_id)] == [method]


def test_documented_payloads_are_kept(hub):
    code = hub.heartbeat()
    # https://cronhub.io/ping/94160de0-…?payload=processing_jobs,30
    assert hub.client.get(f"{BASE}/ping/{code}?payload=processing_jobs,30").status_code == 200
    # curl -d '{"processed_jobs":"1000", "failed_jobs":"10"}' https://cronhub.io/ping/654be180-…
    posted = '{"processed_jobs":"1000", "failed_jobs":"10"}'
    assert hub.client.post(f"{BASE}/ping/{code}", data=posted, content_type=FORM).status_code == 200

    with hub.app.app_context():
        monitor_id = monitors.get_by_code(code).id
    bodies = [(p["body"], p["body_size"]) for p in native_pings(hub, monitor_id)]
    assert bodies == [(posted, len(posted)), ("processing_jobs,30", 18)]


def test_payload_is_kept_to_1000_characters(hub):
    code = hub.heartbeat()
    hub.client.post(f"{BASE}/fail/{code}", data="é" * 1500)
    with hub.app.app_context():
        monitor_id = monitors.get_by_code(code).id
    ping = native_pings(hub, monitor_id)[0]
    assert ping["body"] == "é" * 1000 and ping["body_size"] == 3000
    assert ping["kind"] == "fail"


def test_facade_pings_are_recorded_like_native_pings(hub):
    code = hub.heartbeat()
    headers = {"User-Agent": "curl/8.5.0"}
    hub.client.post(f"/ping/{code}", data="done", headers=headers)
    hub.client.post(f"{BASE}/ping/{code}", data="done", headers=headers)
    with hub.app.app_context():
        monitor_id = monitors.get_by_code(code).id
    facade, native = native_pings(hub, monitor_id)
    same = ("kind", "exit_status", "method", "remote_addr", "user_agent", "body", "body_size")
    assert {k: facade[k] for k in same} == {k: native[k] for k in same}


def test_a_paused_monitor_keeps_pings_but_ignores_them(hub, key):
    created = hub.call(
        "POST",
        "/api/v1/monitors",
        key,
        "name=Job&schedule=* * * * *&grace_period=1&timezone=UTC",
    ).json["response"]
    code = created["code"]
    hub.call("PUT", f"/api/v1/monitors/{code}/pause", key)

    response = hub.client.get(f"{BASE}/ping/{code}")

    assert response.json == {"success": True, "monitor_status": "paused", "monitor_last_ping": None}
    assert hub.call("GET", f"/api/v1/monitors/{code}", key).json["response"]["status"] == "paused"
    with hub.app.app_context():
        monitor_id = monitors.get_by_code(code).id
    assert len(native_pings(hub, monitor_id)) == 1


def test_ping_to_an_unknown_code_is_404(hub):
    for path in (f"/ping/{uuid.uuid4()}", "/fail/nonsense"):
        response = hub.client.get(BASE + path)
        assert response.status_code == 404
        assert response.json == {"success": False, "response": "Monitor not found."}


def test_ping_rate_limit_answers_429(make_app):
    hub = Cronhub(make_app(PING_RATE_LIMIT=1))
    code = hub.heartbeat()
    assert hub.client.get(f"{BASE}/ping/{code}").status_code == 200
    refused = hub.client.get(f"{BASE}/ping/{code}")
    assert refused.status_code == 429
    assert refused.json["success"] is False and "Retry-After" in refused.headers


# --- datetimes ---------------------------------------------------------------------------------


def test_php_datetimes_on_request(make_app):
    hub = Cronhub(make_app(COMPAT_CRONHUB_DATETIME="php"))
    code = hub.heartbeat()
    ping = hub.client.get(f"{BASE}/ping/{code}").json
    monitor = hub.call("GET", f"/api/v1/monitors/{code}", hub.key()).json["response"]
    for value in (ping["monitor_last_ping"], monitor["last_ping"], monitor["created_at"]):
        assert set(value) == {"date", "timezone_type", "timezone"}
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$", value["date"])
        assert (value["timezone_type"], value["timezone"]) == (3, "UTC")


def test_datetime_setting_is_read_strictly(tmp_path):
    env = {"UPCRON_INSTANCE_DIR": str(tmp_path), "UPCRON_SECRET_KEY": "x" * 40}
    assert load(env)["COMPAT_CRONHUB_DATETIME"] == "iso"
    assert load({**env, "UPCRON_COMPAT_CRONHUB_DATETIME": "PHP"})["COMPAT_CRONHUB_DATETIME"] == (
        "php"
    )
    with pytest.raises(ConfigError, match="UPCRON_COMPAT_CRONHUB_DATETIME"):
        load({**env, "UPCRON_COMPAT_CRONHUB_DATETIME": "unix"})


# --- schedulers --------------------------------------------------------------------------------

# The create example's curl, as the body it sends.
SCHEDULER_CREATE = (
    "name=scheduler example&type=cron&url=https://example-api.com/run_job"
    "&http_method=get&schedule=* * * * *&timezone=UTC"
)
SCHEDULER_UPDATE = (
    "name=scheduler example changed&type=cron&url=https://example-api.com/run_job"
    "&http_method=get&schedule=0 0 * * *&timezone=UTC"
)


def test_scheduler_examples_round_trip(hub, key):
    created = hub.call("POST", "/api/v1/schedulers/create", key, SCHEDULER_CREATE)
    assert created.status_code == 200, created.json
    job = created.json["created"]
    assert set(created.json) == {"created"} and set(job) == SCHEDULER_KEYS
    assert (job["name"], job["type"], job["schedule"], job["timezone"]) == (
        "scheduler example",
        "cron",
        "* * * * *",
        "UTC",
    )
    assert (job["status"], job["url"], job["http_method"], job["http_body"]) == (
        "active",
        "https://example-api.com/run_job",
        "get",
        [],
    )
    assert job["description"] is None
    assert job["interval_schedule_value"] is None and job["interval_schedule_rate"] is None
    assert isinstance(job["created_at"], int) and isinstance(job["updated_at"], int)
    job_id = job["id"]

    listed = hub.call("GET", "/api/v1/schedulers", key).json
    assert listed == {"schedulers": [job]}
    assert hub.call("GET", f"/api/v1/schedulers/{job_id}", key).json == {"scheduler": job}

    updated = hub.call("PUT", f"/api/v1/schedulers/{job_id}", key, SCHEDULER_UPDATE).json
    assert set(updated) == {"updated"}
    assert (updated["updated"]["name"], updated["updated"]["schedule"]) == (
        "scheduler example changed",
        "0 0 * * *",
    )

    paused = hub.call("PUT", f"/api/v1/schedulers/{job_id}/pause", key).json
    assert set(paused) == {"paused"} and paused["paused"]["status"] == "paused"
    resumed = hub.call("PUT", f"/api/v1/schedulers/{job_id}/resume", key).json
    assert set(resumed) == {"resumed"} and resumed["resumed"]["status"] == "active"

    deleted = hub.call("DELETE", f"/api/v1/schedulers/{job_id}", key)
    assert deleted.status_code == 200 and deleted.json == {"deleted": True}
    assert hub.call("GET", f"/api/v1/schedulers/{job_id}", key).status_code == 404


def test_scheduler_is_the_native_cron_job(hub, key):
    root = {"Authorization": f"Bearer {hub.key('*')}"}
    job = hub.call(
        "POST",
        "/api/v1/schedulers",
        key,
        json={
            "name": "Report",
            "type": "cron",
            "url": "https://example.com/report",
            "http_method": "post",
            "http_body": {"full": True},
            "schedule": "15 6 * * 1",
            "timezone": "UTC",
            "is_monitoring_enabled": True,
            "failure_threshold": 3,
        },
    ).json["created"]
    assert job["http_method"] == "post" and job["http_body"] == {"full": True}

    native = hub.client.get(f"/api/cron-jobs/{job['id']}", headers=root).json
    assert (native["name"], native["url"], native["method"], native["body"]) == (
        "Report",
        "https://example.com/report",
        "POST",
        '{"full": true}',
    )
    assert (native["cron_expr"], native["enabled"]) == ("15 6 * * 1", True)
    hub.call("PUT", f"/api/v1/schedulers/{job['id']}/pause", key)
    assert hub.client.get(f"/api/cron-jobs/{job['id']}", headers=root).json["enabled"] is False


@pytest.mark.parametrize(
    ("value", "rate", "cron_expr"),
    [
        ("15", "minutes", "*/15 * * * *"),
        ("1", "minutes", "*/1 * * * *"),
        ("120", "minutes", "0 */2 * * *"),
        ("12", "hours", "0 */12 * * *"),
        ("1", "days", "0 0 */1 * *"),
    ],
)
def test_interval_schedulers(hub, key, value, rate, cron_expr):
    body = (
        "name=backup database&type=interval&url=https://myapiendpoint.com/run_backup"
        f"&http_method=get&interval_value={value}&interval_rate={rate}"
    )
    response = hub.call("POST", "/api/v1/schedulers/create", key, body)
    assert response.status_code == 200, response.json
    job = response.json["created"]
    assert (job["type"], job["schedule"], job["timezone"]) == ("interval", None, "UTC")
    minutes = int(value) * {"minutes": 1, "hours": 60, "days": 1440}[rate]
    shown = (
        job["interval_schedule_value"]
        * {"minutes": 1, "hours": 60, "days": 1440}[job["interval_schedule_rate"]]
    )
    assert shown == minutes
    root = {"Authorization": f"Bearer {hub.key('*')}"}
    assert hub.client.get(f"/api/cron-jobs/{job['id']}", headers=root).json["cron_expr"] == (
        cron_expr
    )


@pytest.mark.parametrize(("value", "rate"), [("7", "minutes"), ("5", "hours"), ("2", "days")])
def test_intervals_off_the_clock_are_refused(hub, key, value, rate):
    body = (
        "name=odd&type=interval&url=https://example.com/&http_method=get"
        f"&interval_value={value}&interval_rate={rate}"
    )
    response = hub.call("POST", "/api/v1/schedulers/create", key, body)
    assert response.status_code == 422
    assert response.json["success"] is False and set(response.json["errors"]) == {"interval_value"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("", {"name", "type", "url", "http_method"}),
        ("name=x&type=weekly&url=https://example.com/&http_method=get", {"type"}),
        ("name=x&type=cron&url=https://example.com/&http_method=get", {"schedule", "timezone"}),
        (
            "name=x&type=interval&url=https://example.com/&http_method=get",
            {"interval_value", "interval_rate"},
        ),
        (
            "name=x&type=interval&url=https://example.com/&http_method=get"
            "&interval_value=0&interval_rate=weeks",
            {"interval_value", "interval_rate"},
        ),
        (
            "name=x&type=cron&url=ftp://example.com/&http_method=fetch"
            "&schedule=61 * * * *&timezone=UTC",
            {"url", "http_method", "schedule"},
        ),
    ],
)
def test_scheduler_arguments_are_checked(hub, key, body, fields):
    response = hub.call("POST", "/api/v1/schedulers/create", key, body)
    assert response.status_code == 422
    assert response.json["success"] is False and set(response.json["errors"]) == fields
    assert hub.call("GET", "/api/v1/schedulers", key).json == {"schedulers": []}


def test_unknown_scheduler_is_404(hub, key):
    for method in ("GET", "PUT", "DELETE"):
        response = hub.call(method, "/api/v1/schedulers/999999", key, SCHEDULER_UPDATE)
        assert response.status_code == 404
        assert response.json == {"success": False, "response": "Cron job not found"}
    for suffix in ("pause", "resume"):
        assert hub.call("PUT", f"/api/v1/schedulers/999999/{suffix}", key).status_code == 404


@pytest.mark.parametrize(
    ("given", "shown"),
    [("run=nightly", "run=nightly"), ("42", "42"), ('["a", 1]', ["a", 1]), ("", [])],
)
def test_scheduler_text_bodies_stay_text(hub, key, given, shown):
    body = f"{SCHEDULER_CREATE.replace('http_method=get', 'http_method=post')}&http_body={given}"
    job = hub.call("POST", "/api/v1/schedulers/create", key, body).json["created"]
    assert job["http_body"] == shown
