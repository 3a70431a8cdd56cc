"""The Healthchecks facade: the real `healthchecks-io` client (sync and async) against a live
server, every curl example of Healthchecks' Management API and Pinging API documentation sent
as curl sends it (only the host and the key swapped), the documented errors, read-only keys,
run ids, slug ping URLs, hostile input, and what the facade creates as the native API and the
dashboard see it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid

import pytest
import requests
from click.testing import CliRunner
from flask.cli import ScriptInfo
from healthchecks_io import (
    AsyncClient,
    CheckCreate,
    CheckNotFoundError,
    CheckUpdate,
    Client,
    HCAPIAuthError,
    HCAPIRateLimitError,
    NonUniqueSlugError,
)
from werkzeug.serving import make_server

from app.cli import cli
from app.extensions import db
from app.models import Incident, Monitor, Ping
from app.services import api_keys, channels, monitors, ping_key
from app.web.compat.healthchecks import unique_key
from tests.conftest import page_text, post_form

API = "/compat/healthchecks/api"
CURL_FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl --data sends
RID = "123e4567-e89b-12d3-a456-426614174000"
CHECK_KEYS = {
    "name",
    "slug",
    "tags",
    "desc",
    "grace",
    "n_pings",
    "status",
    "started",
    "last_ping",
    "next_ping",
    "manual_resume",
    "methods",
    "subject",
    "subject_fail",
    "start_kw",
    "success_kw",
    "failure_kw",
    "filter_subject",
    "filter_body",
    "filter_http_body",
    "filter_default_fail",
    "badge_url",
}
WRITER_KEYS = {"uuid", "ping_url", "update_url", "pause_url", "resume_url", "channels"}


@pytest.fixture
def live(app):
    """The app behind a real HTTP server on 127.0.0.1, which its URLs name; yields its base
    URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll: shutdown() waits for the loop to look, 0.5 s by default.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"  # put back after
    yield app.config["BASE_URL"]
    server.shutdown()
    thread.join()


def make_key(app, *scopes: str) -> str:
    data = {"name": "healthchecks", "scopes": list(scopes) or ["*"], "rate_limit_per_sec": 1000}
    with app.app_context():
        return api_keys.create(data)[1]


@pytest.fixture
def key(app):
    return make_key(app, "monitors:*")


@pytest.fixture
def read_key(app):
    return make_key(app, "monitors:read", "cron-jobs:read")


def client(live: str, key: str, version: int = 3, **options) -> Client:
    return Client(
        api_key=key,
        api_url=f"{live}{API}/",
        ping_url=f"{live}/ping/",
        api_version=version,
        **options,
    )


def heartbeat(app, **data) -> str:
    """A heartbeat made through the service; returns its code (a check's uuid)."""
    data = {"kind": "heartbeat", "name": "Job", "period_sec": 3600, **data}
    with app.app_context():
        return monitors.create(data).code


def stored(app, code: str) -> Monitor:
    with app.app_context():
        monitor = monitors.get_by_code(code)
        db.session.expunge(monitor)
        return monitor


def stored_pings(app, code: str) -> list[Ping]:
    with app.app_context():
        monitor_id = monitors.get_by_code(code).id
        rows = db.session.query(Ping).filter_by(monitor_id=monitor_id).order_by(Ping.id).all()
        db.session.expunge_all()
        return rows


# --- the real client -----------------------------------------------------------------------


def test_the_sync_client_round_trip(app, live, key):
    hc = client(live, key)
    created = hc.create_check(
        CheckCreate(name="Backups", tags="prod www", desc="Nightly", timeout=3600, grace=60)
    )
    assert (created.name, created.tags, created.timeout, created.grace) == (
        "Backups",
        "prod www",
        3600,
        60,
    )
    assert created.status == "new" and created.uuid and created.ping_url.endswith(created.uuid)
    other = hc.create_check(CheckCreate(name="Reports", tags="staging"))
    assert (other.timeout, other.grace) == (86400, 3600)  # Healthchecks' defaults

    assert hc.get_check(created.uuid).desc == "Nightly"
    assert [check.name for check in hc.get_checks()] == ["Backups", "Reports"]
    assert [check.name for check in hc.get_checks(tags=["prod"])] == ["Backups"]
    assert [check.name for check in hc.get_checks(tags=["prod", "www"])] == ["Backups"]
    assert hc.get_checks(tags=["prod", "staging"]) == []

    updated = hc.update_check(
        created.uuid, CheckUpdate(name="DB backups", schedule="0 3 * * *", tz="Europe/Riga")
    )
    assert (updated.name, updated.timeout, updated.tags) == ("DB backups", None, "prod www")
    monitor = stored(app, created.uuid)
    assert (monitor.cron_expr, monitor.timezone, monitor.period_sec) == (
        "0 3 * * *",
        "Europe/Riga",
        None,
    )

    assert hc.pause_check(created.uuid).status == "paused"
    assert stored(app, created.uuid).paused
    # The client has no resume; Healthchecks' resume URL is in the check itself.
    resumed = requests.post(
        updated.pause_url.replace("/pause", "/resume"), headers={"X-Api-Key": key}
    )
    assert (resumed.status_code, resumed.json()["status"]) == (200, "new")

    # The ping helpers, then the log as the client lists it.
    assert hc.start_ping(uuid=created.uuid) == (True, "OK")
    assert hc.success_ping(uuid=created.uuid, data="all good") == (True, "OK")
    assert hc.fail_ping(uuid=created.uuid, data="disk full") == (True, "OK")
    assert hc.exit_code_ping(3, uuid=created.uuid) == (True, "OK")
    assert hc.exit_code_ping(0, uuid=created.uuid) == (True, "OK")
    log = hc.get_check_pings(created.uuid)
    assert [ping.type for ping in log] == ["success", "fail", "fail", "success", "start"]
    assert log[3].duration is not None and log[0].user_agent.startswith("py-healthchecks.io")
    assert log[0].number_of_pings > log[1].number_of_pings
    check = hc.get_check(created.uuid)
    assert (check.status, check.n_pings, check.last_ping is not None) == ("up", 5, True)
    with pytest.raises(CheckNotFoundError):
        hc.success_ping(uuid=str(uuid.uuid4()))

    assert hc.get_integrations() == []
    deleted = hc.delete_check(created.uuid)
    assert deleted.name == "DB backups"
    with pytest.raises(CheckNotFoundError):
        hc.get_check(created.uuid)
    with pytest.raises(HCAPIAuthError):
        client(live, "upk_" + "x" * 43).get_checks()


def test_the_client_reads_badges_integrations_and_slug_pings(app, live, key):
    code = heartbeat(app, name="Backup", slug="backup", public=True)
    heartbeat(app, name="Private")
    with app.app_context():
        channels.create({"name": "Ops mail", "kind": "email", "addresses": ["ops@example.com"]})
        key_text = ping_key.get()
    hc = client(live, key, ping_key=key_text)

    badges = hc.get_badges()
    assert list(badges) == ["backup"]
    assert badges["backup"].svg.endswith("/badge/backup/status.svg")
    assert requests.get(live + "/badge/backup/status.svg").status_code == 200

    [integration] = hc.get_integrations()
    assert (integration.name, integration.kind) == ("Ops mail", "email")

    assert hc.success_ping(slug="backup") == (True, "OK")
    assert hc.start_ping(slug="backup") == (True, "OK")
    assert hc.exit_code_ping(1, slug="backup") == (True, "OK")
    assert [p.kind for p in stored_pings(app, code)] == ["success", "start", "fail"]
    with pytest.raises(CheckNotFoundError):
        hc.success_ping(slug="nobody")


def test_the_async_client_round_trip(app, live, key):
    async def scenario():
        hc = AsyncClient(
            api_key=key, api_url=f"{live}{API}/", ping_url=f"{live}/ping/", api_version=3
        )
        created = await hc.create_check(CheckCreate(name="Async", tags="a b", timeout=600))
        assert [c.name for c in await hc.get_checks(tags=["a"])] == ["Async"]
        changed = await hc.update_check(created.uuid, CheckUpdate(grace=120, manual_resume=True))
        assert (changed.grace, changed.manual_resume) == (120, True)
        assert (await hc.pause_check(created.uuid)).status == "paused"
        assert await hc.success_ping(uuid=created.uuid) == (True, "OK")
        # manual_resume: the ping is kept, the check stays paused.
        assert (await hc.get_check(created.uuid)).status == "paused"
        assert [p.type for p in await hc.get_check_pings(created.uuid)] == ["success"]
        assert (await hc.delete_check(created.uuid)).name == "Async"
        assert await hc.get_checks() == []
        await hc._client.aclose()

    # In a thread of its own: the browser tests' sync driver may hold this thread's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def test_api_v1_is_the_default_version_of_the_client(app, live, key):
    hc = client(live, key, version=1)
    created = hc.create_check(CheckCreate(name="Nightly export"))
    assert created.update_url.endswith(f"{API}/v1/checks/{created.uuid}")
    assert created.slug == "nightly-export"  # v1 and v2 make the slug from the name
    requests.get(f"{live}/ping/{created.uuid}/start")
    # v1 shows a run in progress as the status "started"; v3 has the flag only.
    assert hc.get_check(created.uuid).status == "started"
    v3 = requests.get(f"{live}{API}/v3/checks/{created.uuid}", headers={"X-Api-Key": key}).json()
    assert (v3["status"], v3["started"]) == ("new", True)
    # v2 takes no slug either; v3 does. The client's defaults (an empty name) are fine.
    header = {"X-Api-Key": key}
    body = {"name": "Sync", "slug": "s"}
    v2 = requests.post(f"{live}{API}/v2/checks/", json=body, headers=header).json()
    assert (v2["slug"], v2["update_url"].split("/")[-3]) == ("sync", "v2")
    unnamed = client(live, key).create_check(CheckCreate())
    assert (unnamed.name, unnamed.slug) == ("unnamed", "unnamed")
    slugged = requests.post(f"{live}{API}/v3/checks/", json={"slug": "my-job"}, headers=header)
    assert (slugged.json()["name"], slugged.json()["slug"]) == ("my-job", "my-job")
    # A trailing slash after the uuid is the same ping, as on Healthchecks.
    assert requests.get(f"{live}/ping/{created.uuid}/").text == "OK"


# --- the documented curl examples, verbatim ------------------------------------------------


def test_the_management_api_examples(app, live, key):
    """Each example of templates/docs/api.md as curl sends it: --data is a form-encoded
    POST whose body is the JSON document."""
    code = heartbeat(app, name="Database Backup")
    header = {"X-Api-Key": key}

    # curl --header "X-Api-Key: your-api-key" SITE_ROOT/api/v3/checks/
    listed = requests.get(f"{live}{API}/v3/checks/", headers=header)
    assert listed.status_code == 200
    [check] = listed.json()["checks"]
    assert set(check) >= CHECK_KEYS | WRITER_KEYS | {"timeout"}

    # curl --header "X-Api-Key: your-api-key" SITE_ROOT/api/v3/checks/<uuid>
    single = requests.get(f"{live}{API}/v3/checks/{code}", headers=header)
    assert (single.status_code, single.json()["uuid"]) == (200, code)

    # curl SITE_ROOT/api/v3/checks/ --header "X-Api-Key: your-api-key" \
    #     --data '{"name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60}'
    body = '{"name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60}'
    created = requests.post(f"{live}{API}/v3/checks/", headers=header | CURL_FORM, data=body)
    assert created.status_code == 201
    new = created.json()
    assert (new["name"], new["tags"], new["timeout"], new["grace"]) == (
        "Backups",
        "prod www",
        3600,
        60,
    )
    assert (new["status"], new["n_pings"], new["channels"]) == ("new", 0, "")

    # curl SITE_ROOT/api/v3/checks/ \
    #     --data '{"api_key": "your-api-key", "name": "Backups", "tags": "prod www", ...}'
    body = (
        f'{{"api_key": "{key}", "name": "Backups", "tags": "prod www", "timeout": 3600, '
        '"grace": 60}'
    )
    again = requests.post(f"{live}{API}/v3/checks/", headers=CURL_FORM, data=body)
    assert again.status_code == 201 and again.json()["uuid"] != new["uuid"]

    # curl SITE_ROOT/api/v3/checks/7918b17b-… --header "X-Api-Key: your-api-key" \
    #     --data '{"name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60}'
    body = '{"name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60}'
    updated = requests.post(f"{live}{API}/v3/checks/{code}", headers=header | CURL_FORM, data=body)
    assert (updated.status_code, updated.json()["name"]) == (200, "Backups")
    body = f'{{"api_key": "{key}", "name": "Backups", "tags": "prod www", "timeout": 3600}}'
    updated = requests.post(f"{live}{API}/v3/checks/{code}", headers=CURL_FORM, data=body)
    assert (updated.status_code, updated.json()["tags"]) == (200, "prod www")

    # curl SITE_ROOT/api/v3/checks/7918b17b-…/pause \
    #     --request POST --header "X-Api-Key: your-api-key" --data ""
    paused = requests.post(f"{live}{API}/v3/checks/{code}/pause", headers=header | CURL_FORM)
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    resumed = requests.post(f"{live}{API}/v3/checks/{code}/resume", headers=header | CURL_FORM)
    assert (resumed.status_code, resumed.json()["status"]) == (200, "new")

    requests.post(f"{live}/ping/{code}/start")
    requests.post(f"{live}/ping/{code}", data="Hello World")
    # curl SITE_ROOT/api/v3/checks/f618072a-…/pings/ --header "X-Api-Key: your-api-key"
    log = requests.get(f"{live}{API}/v3/checks/{code}/pings/", headers=header).json()["pings"]
    assert [ping["type"] for ping in log] == ["success", "start"]
    assert set(log[0]) >= {"type", "date", "n", "scheme", "remote_addr", "method", "ua"}
    assert log[0]["method"] == "POST" and log[0]["duration"] >= 0
    assert log[1]["body_url"] is None
    # curl SITE_ROOT/api/v3/checks/f618072a-…/pings/397/body --header "X-Api-Key: …"
    text = requests.get(log[0]["body_url"], headers=header)
    assert (text.status_code, text.text) == (200, "Hello World")
    assert text.headers["Content-Type"].startswith("text/plain")

    # curl SITE_ROOT/api/v3/checks/f618072a-…/flips/ --header "X-Api-Key: your-api-key"
    flips = requests.get(f"{live}{API}/v3/checks/{code}/flips/", headers=header)
    assert (flips.status_code, flips.json()) == (200, {"flips": []})

    # curl --header "X-Api-Key: your-api-key" SITE_ROOT/api/v3/channels/
    assert requests.get(f"{live}{API}/v3/channels/", headers=header).json() == {"channels": []}
    # curl --header "X-Api-Key: your-api-key" SITE_ROOT/api/v3/badges/
    assert requests.get(f"{live}{API}/v3/badges/", headers=header).json() == {"badges": {}}
    # GET SITE_ROOT/api/v3/status/
    status = requests.get(f"{live}{API}/v3/status/")
    assert (status.status_code, status.text) == (200, "OK")

    # curl SITE_ROOT/api/v3/checks/7918b17b-… --request DELETE --header "X-Api-Key: …"
    deleted = requests.delete(f"{live}{API}/v3/checks/{code}", headers=header)
    assert (deleted.status_code, deleted.json()["uuid"]) == (200, code)
    assert requests.get(f"{live}{API}/v3/checks/{code}", headers=header).status_code == 404


def test_the_pinging_api_examples(app, live):
    """Each example of templates/docs/http_api.md and bash.md, host swapped."""
    code = heartbeat(app, name="Backup", slug="database-backup")
    with app.app_context():
        key_text = ping_key.get()

    # GET /5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278 HTTP/1.0
    for path in ("", "/start", "/fail", "/1"):
        answer = requests.get(f"{live}/ping/{code}{path}")
        assert (answer.status_code, answer.text) == (200, "OK")
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert answer.headers["Ping-Body-Limit"] == str(100 * 1024)
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
    # POST /5bf66975-…/log, Content-Type: text/plain, "Hello World"
    answer = requests.post(
        f"{live}/ping/{code}/log", data="Hello World", headers={"Content-Type": "text/plain"}
    )
    assert (answer.status_code, answer.text) == (200, "OK")
    # GET /fqOOd6-F4MMNuCEnzTU01w/database-backup[/start|/fail|/1], POST …/log
    for path in ("", "/start", "/fail", "/1"):
        answer = requests.get(f"{live}/ping/{key_text}/database-backup{path}")
        assert (answer.status_code, answer.text) == (200, "OK")
    answer = requests.post(f"{live}/ping/{key_text}/database-backup/log", data="Hello World")
    assert (answer.status_code, answer.text) == (200, "OK")
    kinds = [(p.kind, p.body) for p in stored_pings(app, code)]
    assert kinds == [
        ("success", None),
        ("start", None),
        ("fail", None),
        ("fail", None),
        ("log", "Hello World"),
        ("success", None),
        ("start", None),
        ("fail", None),
        ("fail", None),
        ("log", "Hello World"),
    ]

    # m=$(/usr/bin/certbot renew 2>&1); curl -fsS -m 10 --retry 5 --data-raw "$m" PING_URL
    requests.post(f"{live}/ping/{code}", data="Congratulations, all renewals succeeded")
    assert stored_pings(app, code)[-1].body == "Congratulations, all renewals succeeded"

    # URL=PING_ENDPOINT$PING_KEY/$SLUG?create=1; curl -m 10 --retry 5 $URL
    made = requests.get(f"{live}/ping/{key_text}/web-1?create=1")
    assert (made.status_code, made.text) == (201, "Created")
    again = requests.get(f"{live}/ping/{key_text}/web-1?create=1")
    assert (again.status_code, again.text) == (200, "OK")
    with app.app_context():
        monitor = monitors.find_heartbeat_by_slug("web-1")
        assert (monitor.name, monitor.period_sec, monitor.grace_sec) == ("web-1", 86400, 3600)
        assert monitor.state == "up"

    # RID=`uuidgen`; curl PING_URL/start?rid=$RID; …; curl PING_URL?rid=$RID
    rid = str(uuid.uuid4()).upper()  # the letters may be of either case
    assert requests.get(f"{live}/ping/{code}/start?rid={rid}").text == "OK"
    assert requests.get(f"{live}/ping/{code}?rid={rid}").text == "OK"
    last = stored_pings(app, code)[-1]
    assert (last.rid, last.duration_ms is not None) == (rid.lower(), True)


# --- run ids, slugs, ping answers ----------------------------------------------------------


def test_run_ids_pair_a_start_with_its_end(app):
    code = heartbeat(app)
    other = str(uuid.uuid4())
    test_client = app.test_client()
    assert test_client.get(f"/ping/{code}/start?rid={RID}").status_code == 200
    # Another run's end: no duration, and the run with RID goes on.
    assert test_client.get(f"/ping/{code}?rid={other}").status_code == 200
    assert stored_pings(app, code)[-1].duration_ms is None
    assert stored(app, code).last_start_rid == RID
    time.sleep(0.01)
    assert test_client.get(f"/ping/{code}?rid={RID}").status_code == 200
    assert stored_pings(app, code)[-1].duration_ms >= 10
    assert stored(app, code).last_start_at is None
    # A failure ends the run in progress whatever its run id.
    test_client.get(f"/ping/{code}/start?rid={RID}")
    test_client.get(f"/ping/{code}/fail?rid={other}")
    assert (stored(app, code).last_start_at, stored(app, code).state) == (None, "down")
    # A run id that is not a UUID is refused, and nothing is stored.
    count = len(stored_pings(app, code))
    for bad in ("nope", "{" + RID + "}", RID + "0"):
        answer = test_client.get(f"/ping/{code}?rid={bad}")
        assert (answer.status_code, answer.text) == (400, "invalid uuid format")
    assert len(stored_pings(app, code)) == count


def test_slug_urls(app, logged_in):
    code = heartbeat(app, slug="backup")
    with app.app_context():
        monitors.create({"name": "Site", "url": "https://example.com/", "slug": "site"})
        key_text = ping_key.get()
    test_client = app.test_client()

    assert test_client.get(f"/ping/{key_text}/nothing").text == "not found"
    assert test_client.get(f"/ping/{key_text}/nothing").status_code == 404
    assert test_client.get("/ping/wrongkey123456789012345/backup").status_code == 404
    answer = test_client.get(f"/ping/{key_text}/Backup")
    assert (answer.status_code, answer.text) == (400, "invalid url format")
    answer = test_client.get(f"/ping/{key_text}/site?create=1")
    assert answer.status_code == 409  # an uptime monitor's slug
    assert test_client.get(f"/ping/{key_text}/backup/finish").status_code == 404
    assert stored_pings(app, code) == []

    # A slug named like a suffix is a slug: the first segment is the key, not a code.
    answer = test_client.get(f"/ping/{key_text}/start?create=1")
    assert (answer.status_code, answer.text) == (201, "Created")
    # The code's own URLs keep working beside them.
    assert test_client.get(f"/ping/{code}/7").status_code == 200
    assert stored_pings(app, code)[-1].exit_status == 7

    # Settings shows the key, the heartbeat its slug URL; a new key retires the old URLs.
    page = page_text(logged_in.get("/settings/"))
    assert key_text in page and "?create=1" in page
    with app.app_context():
        monitor_id = monitors.get_by_code(code).id
    page = page_text(logged_in.get(f"/heartbeats/{monitor_id}"))
    assert f"/ping/{key_text}/backup" in page
    answer = post_form(logged_in, "/settings/ping-key", {}, form_path="/settings/")
    assert answer.status_code == 302
    with app.app_context():
        new_key = ping_key.get()
    assert new_key != key_text and len(new_key) == 22
    assert test_client.get(f"/ping/{key_text}/backup").status_code == 404
    assert test_client.get(f"/ping/{new_key}/backup").status_code == 200
    assert logged_in.post("/settings/ping-key").status_code == 400  # no CSRF token


def test_the_client_reads_slug_answers(app, live, key):
    """A slug an uptime monitor holds is no heartbeat's: not found; creating a heartbeat for
    it is a conflict, which the client reads as Healthchecks' ambiguous slug."""
    with app.app_context():
        monitors.create({"name": "Site", "url": "https://example.com/", "slug": "site"})
        key_text = ping_key.get()
    hc = client(live, key, ping_key=key_text)
    with pytest.raises(CheckNotFoundError):
        hc.success_ping(slug="site")
    answer = requests.get(f"{live}/ping/{key_text}/site?create=1")
    assert answer.status_code == 409
    with pytest.raises(NonUniqueSlugError):
        Client.check_ping_response(answer)


# --- checks: fields, errors, keys ----------------------------------------------------------


@pytest.fixture
def hc(app, key):
    test_client = app.test_client()

    def call(method: str, path: str, key_: str | None = key, **kwargs):
        headers = kwargs.pop("headers", {})
        if key_ is not None:
            headers["X-Api-Key"] = key_
        return test_client.open(API + path, method=method, headers=headers, **kwargs)

    return call


def test_read_only_keys_see_unique_keys_only(app, hc, read_key):
    code = heartbeat(app, name="Backups")
    [check] = hc("GET", "/v3/checks/", read_key).json["checks"]
    assert set(check) >= CHECK_KEYS and not set(check) & WRITER_KEYS
    assert check["unique_key"] == unique_key(code) and len(check["unique_key"]) == 40
    by_key = hc("GET", f"/v3/checks/{check['unique_key']}", read_key)
    assert (by_key.status_code, by_key.json["name"]) == (200, "Backups")
    assert hc("GET", f"/v3/checks/{check['unique_key']}/flips/", read_key).json == {"flips": []}
    assert hc("GET", f"/v3/checks/{code}/flips/", read_key).json == {"flips": []}
    assert hc("GET", f"/v3/checks/{code}", read_key).json["unique_key"] == check["unique_key"]
    assert hc("GET", "/v3/badges/", read_key).status_code == 200
    # What Healthchecks keeps from read-only keys: changes, pings, channels.
    for method, path in (
        ("POST", "/v3/checks/"),
        ("POST", f"/v3/checks/{code}"),
        ("DELETE", f"/v3/checks/{code}"),
        ("POST", f"/v3/checks/{code}/pause"),
        ("GET", f"/v3/checks/{code}/pings/"),
        ("GET", "/v3/channels/"),
    ):
        answer = hc(method, path, read_key)
        assert answer.status_code == 403, path
        assert "monitors:write" in answer.json["error"]
    assert hc("GET", "/v3/checks/" + "0" * 40, read_key).status_code == 404


def test_authentication_errors(app, hc):
    code = heartbeat(app)
    missing = hc("GET", "/v3/checks/", None)
    assert (missing.status_code, missing.json) == (401, {"error": "missing api key"})
    wrong = hc("GET", "/v3/checks/", "upk_" + "a" * 43)
    assert (wrong.status_code, wrong.json) == (401, {"error": "wrong api key"})
    in_body = hc("POST", f"/v3/checks/{code}/pause", None, json={"api_key": "nope"})
    assert in_body.status_code == 401
    other_scope = make_key(app, "cron-jobs:*")
    assert hc("GET", "/v3/checks/", other_scope).status_code == 403


def test_bad_requests_answer_400_with_healthchecks_messages(app, hc):
    code = heartbeat(app)
    cases = [
        ({"name": 5}, "json validation error: name is not a string"),
        ({"name": None}, "json validation error: name is not a string"),
        ({"name": "x" * 101}, "json validation error: name is too long"),
        ({"timeout": "60"}, "json validation error: timeout is not a number"),
        ({"timeout": True}, "json validation error: timeout is not a number"),
        ({"timeout": 59}, "json validation error: timeout is too small"),
        ({"grace": 31536001}, "json validation error: grace is too large"),
        ({"manual_resume": "yes"}, "json validation error: manual_resume is not a boolean"),
        ({"methods": "GET"}, "json validation error: methods has unexpected value"),
        ({"unique": "name"}, "json validation error: unique is not an array"),
        ({"unique": ["desc"]}, "json validation error: an item in 'unique' has unexpected value"),
        ({"channels": "nope"}, "invalid channel identifier: nope"),
        ({"channels": ","}, "empty channel identifier"),
    ]
    for body, message in cases:
        for path in ("/v3/checks/", f"/v3/checks/{code}"):
            answer = hc("POST", path, json=body)
            assert (answer.status_code, answer.json) == (400, {"error": message}), body
    # Our own rules speak in our words, under Healthchecks' field names.
    answer = hc("POST", "/v3/checks/", json={"schedule": "61 * * * *"})
    assert answer.status_code == 400 and answer.json["error"].startswith(
        "json validation error: schedule: "
    )
    answer = hc("POST", "/v3/checks/", json={"tz": "Mars/Olympus"})
    assert answer.json["error"].startswith("json validation error: tz: ")
    answer = hc("POST", "/v3/checks/", json={"grace": 7200})
    assert answer.status_code == 400 and "grace:" in answer.json["error"]
    answer = hc("POST", "/v3/checks/", data="{nope", content_type="application/json")
    assert (answer.status_code, answer.json) == (400, {"error": "could not parse request body"})
    answer = hc("POST", "/v3/checks/", json=[1])
    assert answer.json == {"error": "json validation error: value is not an object"}
    with app.app_context():
        assert db.session.query(Monitor).count() == 1  # nothing half-written


def test_unique_upserts_and_slug_conflicts(app, hc):
    first = hc("POST", "/v3/checks/", json={"name": "Backups", "tags": "prod", "unique": ["name"]})
    assert first.status_code == 201
    same = hc(
        "POST",
        "/v3/checks/",
        json={"name": "Backups", "tags": "prod db", "grace": 120, "unique": ["name"]},
    )
    assert (same.status_code, same.json["uuid"]) == (200, first.json["uuid"])
    assert (same.json["tags"], same.json["grace"]) == ("db prod", 120)
    by_tags = hc("POST", "/v3/checks/", json={"tags": "prod db", "unique": ["tags"]})
    assert (by_tags.status_code, by_tags.json["uuid"]) == (200, first.json["uuid"])
    by_timeout = hc("POST", "/v3/checks/", json={"timeout": 86400, "unique": ["timeout", "grace"]})
    assert by_timeout.status_code == 201  # grace not given: no match, a new check
    # A unique field left out of the body matches nothing.
    assert hc("POST", "/v3/checks/", json={"unique": ["slug"]}).status_code == 201

    slugged = hc("POST", "/v3/checks/", json={"name": "Nightly", "slug": "nightly_job"})
    assert (slugged.status_code, slugged.json["slug"]) == (201, "nightly_job")
    taken = hc("POST", "/v3/checks/", json={"name": "Other", "slug": "nightly_job"})
    assert (taken.status_code, taken.json) == (409, {"error": monitors.SLUG_TAKEN})
    moved = hc("POST", f"/v3/checks/{first.json['uuid']}", json={"slug": "nightly_job"})
    assert moved.status_code == 409
    bad = hc("POST", "/v3/checks/", json={"slug": "Not A Slug"})
    assert bad.status_code == 400 and "slug" in bad.json["error"]


def test_checks_and_their_channels(app, hc):
    with app.app_context():
        mail = channels.create({"name": "Ops mail", "kind": "email", "addresses": ["o@x.io"]})
        hook = channels.create({"name": "Hook", "kind": "webhook", "url": "https://x.io/h"})
        mail_id, hook_id = mail.id, hook.id
    listed = hc("GET", "/v3/channels/").json["channels"]
    assert listed == [
        {"id": str(hook_id), "name": "Hook", "kind": "webhook"},
        {"id": str(mail_id), "name": "Ops mail", "kind": "email"},
    ]
    every = hc("POST", "/v3/checks/", json={"name": "All", "channels": "*"})
    assert every.json["channels"] == ",".join(sorted((str(mail_id), str(hook_id))))
    code = every.json["uuid"]
    by_name = hc("POST", f"/v3/checks/{code}", json={"channels": "Ops mail"})
    assert by_name.json["channels"] == str(mail_id)
    assert hc("POST", f"/v3/checks/{code}", json={"channels": ""}).json["channels"] == ""
    # A check made without channels has none, as in Healthchecks.
    assert hc("POST", "/v3/checks/", json={"name": "None"}).json["channels"] == ""


def test_states_flips_and_the_native_view(app, hc, key):
    code = hc("POST", "/v3/checks/", json={"name": "Job", "tags": "prod", "timeout": 60}).json[
        "uuid"
    ]
    test_client = app.test_client()
    test_client.get(f"/ping/{code}/fail")
    test_client.get(f"/ping/{code}")
    check = hc("GET", f"/v3/checks/{code}").json
    assert check["status"] == "up" and check["next_ping"] is not None
    with app.app_context():
        monitor = monitors.get_by_code(code)
        monitor.state = "late"
        db.session.commit()
        [incident] = db.session.query(Incident).all()
        opened, resolved = incident.started_at, incident.resolved_at
    assert hc("GET", f"/v3/checks/{code}").json["status"] == "grace"
    flips = hc("GET", f"/v3/checks/{code}/flips/").json["flips"]
    assert [flip["up"] for flip in flips] == [1, 0]
    assert flips[1]["timestamp"] == opened.replace(microsecond=0).isoformat()
    start = int(resolved.timestamp())
    assert [f["up"] for f in hc("GET", f"/v3/checks/{code}/flips/?start={start}").json["flips"]]
    assert hc("GET", f"/v3/checks/{code}/flips/?end=1").json == {"flips": []}
    assert len(hc("GET", f"/v3/checks/{code}/flips/?seconds=3600").json["flips"]) == 2
    for query in ("seconds=-1", "start=abc", "end=99999999999", "seconds=" + "9" * 30):
        answer = hc("GET", f"/v3/checks/{code}/flips/?{query}")
        assert answer.status_code == 400 and "error" in answer.json, query

    # The native API shows what the facade made, with the same tags.
    root = make_key(app, "*")
    native = test_client.get("/api/monitors?type=heartbeat", headers={"X-Api-Key": root}).json
    [item] = native
    assert (item["code"], item["tags"], item["period_sec"]) == (code, ["prod"], 60)

    # Resuming what is not paused is Healthchecks' 409.
    answer = hc("POST", f"/v3/checks/{code}/resume")
    assert (answer.status_code, answer.json) == (409, {"error": "check is not paused"})
    assert hc("GET", f"/v3/checks/{uuid.uuid4()}").status_code == 404
    assert hc("GET", "/v3/checks/not-a-uuid").status_code == 404
    assert hc("GET", f"/v3/checks/{code}/pings/99999999999999999999/body").status_code == 404
    assert hc("GET", f"/v4/checks/{code}").status_code == 404


# --- hostile input -------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v3/checks/"),
    ("POST", "/v3/checks/"),
    ("GET", "/v3/checks/{code}"),
    ("POST", "/v3/checks/{code}"),
    ("DELETE", "/v3/checks/{code}"),
    ("POST", "/v3/checks/{code}/pause"),
    ("POST", "/v3/checks/{code}/resume"),
    ("GET", "/v3/checks/{code}/pings/"),
    ("GET", "/v3/checks/{code}/pings/1/body"),
    ("GET", "/v3/checks/{code}/flips/"),
    ("GET", "/v3/channels/"),
    ("GET", "/v3/badges/"),
    ("GET", "/v3/status/"),
]
HOSTILE_BODIES = [
    b'{"name": "a\\u0000b"}',
    b'{"name": "\\ud800"}',
    b'{"tags": "x\\udfff"}',
    b"[" * 100000 + b"]" * 100000,
    b"\xff\xfe not utf-8",
    b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_hostile_input_is_a_4xx_on_every_route(app, hc, method, path):
    code = heartbeat(app, name="Kept")
    path = path.format(code=code)
    for body in HOSTILE_BODIES:
        answer = hc(method, path, data=body, content_type="application/json")
        assert answer.status_code < 500, (body[:20], answer.status_code)
        if answer.status_code >= 400 and path != "/v3/status/":
            assert "error" in answer.json
    for query in ("?tag=%00", "?tag=%ED%A0%80", "?slug=%FF", "?start=%00&seconds=%ED%A0%80"):
        assert hc(method, path + query).status_code < 500
    if code in path:
        for segment in ("%00", "%ED%A0%80", "x" * 5000):
            assert hc(method, path.replace(code, segment)).status_code in (400, 404, 405)
    if method != "DELETE":
        assert stored(app, code).name == "Kept"


@pytest.mark.parametrize(
    "path",
    [
        "/ping/{code}?rid=%00",
        "/ping/{code}/start?rid=%ED%A0%80",
        "/ping/{key}/%00",
        "/ping/{key}/a%ED%A0%80?create=1",
        "/ping/{key}/{long}?create=1",
        "/ping/{key}/backup/%00",
        "/ping/%00/backup",
        "/ping/{code}/" + "9" * 5000,
    ],
)
def test_hostile_ping_urls_are_a_4xx(app, path):
    code = heartbeat(app, slug="backup")
    with app.app_context():
        key_text = ping_key.get()
    url = path.format(code=code, key=key_text, long="a" * 500)
    answer = app.test_client().post(url, data=b"\x00\xff" * 10)
    assert 400 <= answer.status_code < 500
    assert stored_pings(app, code) == []
    with app.app_context():
        assert db.session.query(Monitor).count() == 1


def test_the_ping_key_from_the_command_line(app):
    def run(*args):
        result = CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))
        assert result.exit_code == 0, result.output
        return result.output.strip()

    shown = run("ping-key")
    assert run("ping-key") == shown and len(shown) == 22
    new = run("ping-key", "--regenerate")
    assert new != shown and run("ping-key") == new


def test_the_hosted_ping_urls_answer_a_rate_limit_with_ok(make_app):
    """/compat/healthchecks/ping answers as hc-ping.com: a ping over the limit is 200 "OK
    (rate limited)" and not stored, which the client reads as rate limiting; /ping keeps its
    429."""
    app = make_app(PING_RATE_LIMIT=2)
    code = heartbeat(app, slug="backup")
    with app.app_context():
        key_text = ping_key.get()
    test_client = app.test_client()
    hosted = "/compat/healthchecks/ping"
    answers = [test_client.post(f"{hosted}/{code}", data="x") for _ in range(3)]
    assert [(a.status_code, a.text) for a in answers] == [
        (200, "OK"),
        (200, "OK"),
        (200, "OK (rate limited)"),
    ]
    assert "Retry-After" not in answers[2].headers
    assert len(stored_pings(app, code)) == 2
    with pytest.raises(HCAPIRateLimitError):
        Client.check_ping_response(answers[2])
    assert test_client.get(f"/ping/{code}").status_code == 429

    # Every other answer is the same as /ping's, in text.
    for path, status, text in (
        (f"/{uuid.uuid4()}", 404, "not found"),
        (f"/{code}/256", 400, "Use an exit status from 0 to 255."),
        (f"/{code}?rid=nope", 400, "invalid uuid format"),
        (f"/{key_text}/Backup", 400, "invalid url format"),
        (f"/{key_text}/new-one?create=1", 201, "Created"),
        (f"/{code}/start/extra/more", 404, "not found"),
        ("/%00", 400, None),
    ):
        answer = test_client.get(hosted + path)
        assert answer.status_code == status, path
        assert answer.headers["Content-Type"].startswith("text/plain"), path
        assert text is None or answer.text == text, path
    assert test_client.put(f"{hosted}/{code}").text == "method not allowed"
