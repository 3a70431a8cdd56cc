"""Secret request headers are write-only on every surface, and headers are checked when saved.

Authorization, Proxy-Authorization, Cookie and any header named like a token, secret, key or
password read as the mask on the native API, the dashboard and the facades; sending the mask
back keeps the stored value (proved by a real check against a loopback target that records
what it received), null or clearing removes it. Header names and values that could never be
sent are refused on save with a message, instead of failing every check later.
"""

from __future__ import annotations

import html
import re

import pytest

from app.extensions import db
from app.models import CronJob, Monitor, NotificationChannel
from app.services import channels, cron_jobs, fields, monitors
from tests.conftest import post_form
from tests.targets import TargetServer

MASK = "\u2022\u2022\u2022\u2022"
SECRET = "Bearer s3cret-value"
HEADERS = {"Authorization": SECRET, "X-Api-Key": "k-123", "Accept": "text/plain"}
MASKED = {"Authorization": MASK, "X-Api-Key": MASK, "Accept": "text/plain"}


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def stored(app, model, row_id) -> dict:
    with app.app_context():
        db.session.remove()
        row = db.session.get(model, row_id)
        return row.headers if model is not NotificationChannel else row.config.get("headers")


def received(app, target, monitor_id) -> dict[str, str]:
    """Check the monitor now and return the headers the target received."""
    before = len(target.requests)
    with app.app_context():
        monitors.run_checks([monitor_id])
    assert len(target.requests) == before + 1
    return target.requests[-1].headers


def make_monitor(api, root_key, url="https://shop.example.com/health", headers=None):
    body = {"name": "Shop", "url": url, "headers": headers or HEADERS}
    response = api.post("/api/monitors", root_key, json=body)
    assert response.status_code == 201, response.json
    return response.json


# --- the rule itself --------------------------------------------------------------------------


def test_which_headers_are_secret():
    for name in ("Authorization", "proxy-authorization", "COOKIE", "X-Auth-Token", "Api-Key"):
        assert fields.is_secret_header(name), name
    for name in ("X-Client-Secret", "X-Password", "X-Keyring-Id"):
        assert fields.is_secret_header(name), name
    for name in ("Accept", "User-Agent", "X-Team", "Content-Type"):
        assert not fields.is_secret_header(name), name


# --- native API ---------------------------------------------------------------------------------


def test_a_read_key_sees_the_mask_and_the_flag(api, root_key):
    monitor = make_monitor(api, root_key)
    job = api.post(
        "/api/cron-jobs",
        root_key,
        json={"name": "B", "url": "https://ops.example.com/b", "cron_expr": "0 2 * * *"}
        | {"headers": HEADERS},
    ).json
    channel = api.post(
        "/api/notification-channels",
        root_key,
        json={"name": "Hook", "kind": "webhook", "url": "https://hooks.example.com/x"}
        | {"headers": HEADERS},
    ).json
    for path, scope, created in (
        (f"/api/monitors/{monitor['id']}", "monitors:read", monitor),
        (f"/api/cron-jobs/{job['id']}", "cron-jobs:read", job),
        (f"/api/notification-channels/{channel['id']}", "settings:read", channel),
    ):
        assert created["headers"] == MASKED, path  # the creation answer masks too
        response = api.get(path, api.key(scope))
        assert response.status_code == 200
        assert response.json["headers"] == MASKED
        assert response.json["secret_headers_set"] == ["Authorization", "X-Api-Key"]
        assert "s3cret" not in response.get_data(as_text=True)
        listed = api.get(path.rsplit("/", 1)[0], api.key(scope)).get_data(as_text=True)
        assert "s3cret" not in listed and "k-123" not in listed


def test_sending_the_mask_back_keeps_the_secret_and_null_removes_it(api, root_key, app, target):
    url = target.route("/health", body="ok")
    monitor = make_monitor(api, root_key, url=url)
    assert received(app, target, monitor["id"])["authorization"] == SECRET

    # An edit that resends what it read (names in another case too) keeps the stored values.
    shown = api.get(f"/api/monitors/{monitor['id']}", root_key).json["headers"]
    resent = {"authorization": shown["Authorization"], "X-Api-Key": MASK, "Accept": "*/*"}
    response = api.put(f"/api/monitors/{monitor['id']}", root_key, json={"headers": resent})
    assert response.status_code == 200, response.json
    assert response.json["headers"] == {"authorization": MASK, "X-Api-Key": MASK, "Accept": "*/*"}
    got = received(app, target, monitor["id"])
    assert got["authorization"] == SECRET and got["x-api-key"] == "k-123"
    assert got["accept"] == "*/*"

    # An explicit new value replaces it; null removes it.
    response = api.put(
        f"/api/monitors/{monitor['id']}",
        root_key,
        json={"headers": {"Authorization": "Bearer new", "X-Api-Key": None}},
    )
    assert response.status_code == 200, response.json
    assert response.json["secret_headers_set"] == ["Authorization"]
    got = received(app, target, monitor["id"])
    assert got["authorization"] == "Bearer new" and "x-api-key" not in got


def test_the_mask_for_a_header_never_saved_is_refused(api, root_key):
    response = api.post(
        "/api/monitors",
        root_key,
        json={"name": "S", "url": "https://s.example.com/", "headers": {"Authorization": MASK}},
    )
    assert response.status_code == 422
    assert "no saved value" in response.json["fields"]["headers"]


def test_cron_jobs_and_channels_keep_their_secrets_the_same_way(api, root_key, app):
    job = api.post(
        "/api/cron-jobs",
        root_key,
        json={"name": "B", "url": "https://ops.example.com/b", "cron_expr": "0 2 * * *"}
        | {"headers": HEADERS},
    ).json
    response = api.put(f"/api/cron-jobs/{job['id']}", root_key, json={"headers": job["headers"]})
    assert response.status_code == 200, response.json
    assert stored(app, CronJob, job["id"]) == HEADERS

    channel = api.post(
        "/api/notification-channels",
        root_key,
        json={"name": "Hook", "kind": "webhook", "url": "https://hooks.example.com/x"}
        | {"headers": HEADERS},
    ).json
    path = f"/api/notification-channels/{channel['id']}"
    response = api.put(path, root_key, json={"headers": channel["headers"] | {"Accept": "a/b"}})
    assert response.status_code == 200, response.json
    assert stored(app, NotificationChannel, channel["id"]) == HEADERS | {"Accept": "a/b"}
    response = api.put(path, root_key, json={"headers": {"Authorization": None}})
    assert response.status_code == 200
    assert stored(app, NotificationChannel, channel["id"]) == {}


# --- validation on save -----------------------------------------------------------------------


BAD_HEADERS = [
    ({"X Bad": "1"}, "not a valid header name"),
    ({"X-Bad:": "1"}, "not a valid header name"),
    ({"X-Bad\n": "1"}, "not a valid header name"),
    ({"": "1"}, "not a valid header name"),
    ({"X-Bad": "a\r\nX-Injected: 1"}, "line breaks or other control characters"),
    ({"X-Bad": "a\x01b"}, "line breaks or other control characters"),
    ({"X-Bad": "a\x7fb"}, "line breaks or other control characters"),
    ({"X-Bad": "caf\u00e9 \u2192 bar"}, "latin-1"),
    ({"X-Bad": "\u65e5\u672c"}, "latin-1"),
    ({"X-Bad": 3}, "must be text"),
]


@pytest.mark.parametrize(("headers", "message"), BAD_HEADERS)
def test_headers_that_cannot_be_sent_are_refused_on_save(api, root_key, headers, message):
    for path, body in (
        ("/api/monitors", {"name": "S", "url": "https://s.example.com/"}),
        (
            "/api/cron-jobs",
            {"name": "B", "url": "https://b.example.com/", "cron_expr": "0 2 * * *"},
        ),
        (
            "/api/notification-channels",
            {"name": "H", "kind": "webhook", "url": "https://h.example.com/"},
        ),
    ):
        response = api.post(path, root_key, json=body | {"headers": headers})
        assert response.status_code == 422, (path, response.json)
        assert message in response.json["fields"]["headers"], response.json


def test_latin1_and_tab_values_are_kept(api, root_key, app, target):
    url = target.route("/health", body="ok")
    monitor = make_monitor(api, root_key, url=url, headers={"X-Name": "caf\u00e9\tbar"})
    assert received(app, target, monitor["id"])["x-name"] == "caf\u00e9\tbar"


# --- dashboard ----------------------------------------------------------------------------------

FORM = {
    "name": "Shop",
    "method": "GET",
    "kind": "http",
    "interval_sec": "30",
    "timeout_ms": "5000",
    "expected_status": "200-299",
    "max_redirects": "5",
    "failure_threshold": "2",
    "recovery_threshold": "1",
    "follow_redirects": "y",
}


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no {name} textarea"
    return html.unescape(match.group(1)).strip("\r\n")


def test_the_edit_page_hides_the_secret_and_saving_it_unchanged_keeps_it(logged_in, app, target):
    url = target.route("/health", body="ok")
    with app.app_context():
        monitor_id = monitors.create({"name": "Shop", "url": url, "headers": HEADERS}).id
    edit = f"/monitors/{monitor_id}/edit"
    page = logged_in.get(edit).get_data(as_text=True)
    assert "s3cret" not in page and "k-123" not in page
    shown = textarea(page, "headers")
    assert shown == f"Authorization: {MASK}\nX-Api-Key: {MASK}\nAccept: text/plain"

    response = post_form(logged_in, edit, FORM | {"url": url, "headers": shown})
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    assert stored(app, Monitor, monitor_id) == HEADERS
    assert received(app, target, monitor_id)["authorization"] == SECRET

    # Clearing a line removes that header; a bad value is an inline error, nothing saved.
    cleared = f"X-Api-Key: {MASK}\nAccept: text/plain"
    response = post_form(logged_in, edit, FORM | {"url": url, "headers": cleared})
    assert response.status_code in (302, 303)
    assert stored(app, Monitor, monitor_id) == {"X-Api-Key": "k-123", "Accept": "text/plain"}
    response = post_form(logged_in, edit, FORM | {"url": url, "headers": "X-Name: \u2192"})
    assert response.status_code == 422
    assert "latin-1" in response.get_data(as_text=True)
    assert stored(app, Monitor, monitor_id) == {"X-Api-Key": "k-123", "Accept": "text/plain"}


def test_cron_job_and_channel_edit_pages_hide_the_secret_and_keep_it(logged_in, app):
    with app.app_context():
        job_id = cron_jobs.create(
            {"name": "B", "url": "https://b.example.com/", "cron_expr": "0 2 * * *"}
            | {"headers": HEADERS}
        ).id
        channel_id = channels.create(
            {"name": "H", "kind": "webhook", "url": "https://h.example.com/", "headers": HEADERS}
        ).id
    for path, model, row_id, form in (
        (
            f"/cron-jobs/{job_id}/edit",
            CronJob,
            job_id,
            {"name": "B", "url": "https://b.example.com/", "cron_expr": "0 2 * * *"},
        ),
        (
            f"/notifications/channels/{channel_id}/edit",
            NotificationChannel,
            channel_id,
            {"name": "H", "url": "https://h.example.com/", "enabled": "y"},
        ),
    ):
        response = logged_in.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert "s3cret" not in page and "k-123" not in page
        shown = textarea(page, "headers")
        assert f"Authorization: {MASK}" in shown
        response = post_form(logged_in, path, form | {"headers": shown})
        assert response.status_code in (302, 303), response.get_data(as_text=True)
        assert stored(app, model, row_id) == HEADERS, path


# --- facades --------------------------------------------------------------------------------------


def test_setcronjob_masks_and_keeps_the_secret(api, app, client):
    token = api.key("cron-jobs:*")
    base = "/compat/setcronjob/api"
    added = client.post(
        f"{base}/cron.add",
        data={"token": token, "url": "https://b.example.com/", "httpHeaders": "Cookie: sid=s3cret"},
    ).json["data"]
    read = client.post(
        f"{base}/cron.get", data={"token": api.key("cron-jobs:read"), "id": added["id"]}
    )
    assert "s3cret" not in read.get_data(as_text=True)
    assert read.json["data"]["httpHeaders"] == f"Cookie: {MASK}"
    assert read.json["data"]["secretHeadersSet"] == ["Cookie"]
    edited = client.post(
        f"{base}/cron.edit",
        data={"token": token, "id": added["id"], "httpHeaders": read.json["data"]["httpHeaders"]},
    )
    assert edited.json["status"] == "success", edited.json
    assert stored(app, CronJob, added["id"]) == {"Cookie": "sid=s3cret"}
    refused = client.post(
        f"{base}/cron.edit", data={"token": token, "id": added["id"], "httpHeaders": "X-A: \u2192"}
    )
    assert refused.json["status"] == "error" and "latin-1" in refused.json["message"]


def test_cron_job_org_masks_and_keeps_the_secret(api, app, client):
    token = api.key("cron-jobs:*")
    auth = {"Authorization": f"Bearer {token}"}
    job = {
        "url": "https://b.example.com/",
        "extendedData": {"headers": HEADERS},
        "auth": {"enable": True, "user": "ops", "password": "pw-s3cret"},
    }
    created = client.put("/compat/cron-job-org/jobs", headers=auth, json={"job": job})
    assert created.status_code == 200, created.headers
    job_id = created.json["jobId"]
    read_auth = {"Authorization": f"Bearer {api.key('cron-jobs:read')}"}
    read = client.get(f"/compat/cron-job-org/jobs/{job_id}", headers=read_auth)
    assert "s3cret" not in read.get_data(as_text=True)
    extended = read.json["jobDetails"]["extendedData"]
    assert extended["headers"] == MASKED
    assert extended["secretHeadersSet"] == ["Authorization", "X-Api-Key"]
    # The target password is write-only here too.
    assert read.json["jobDetails"]["auth"]["password"] == MASK
    patched = client.patch(
        f"/compat/cron-job-org/jobs/{job_id}",
        headers=auth,
        json={"job": {"extendedData": extended, "auth": read.json["jobDetails"]["auth"]}},
    )
    assert patched.status_code == 200, patched.headers
    assert stored(app, CronJob, job_id) == HEADERS
    with app.app_context():
        assert db.session.get(CronJob, job_id).auth_password == "pw-s3cret"
    refused = client.patch(
        f"/compat/cron-job-org/jobs/{job_id}",
        headers=auth,
        json={"job": {"extendedData": {"headers": {"X-A": "\u2192"}}}},
    )
    assert refused.status_code == 400 and "latin-1" in refused.headers["X-Upcron-Error"]
