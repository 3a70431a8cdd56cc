"""The public routes: status page, status JSON, badges, feed; privacy, escaping and caching."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from app.engine import queues
from app.engine.scheduler import Scheduler
from app.extensions import db, redis_client
from app.models import CheckResult, DailyRollup, Incident, IncidentUpdate, Monitor
from app.models.history import FAILED_HTTP_STATUS, OK
from app.services import accounts, cron_jobs, monitors, page_cache, status_page
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, post_form
from tests.targets import TargetServer, closed_port

ATOM = "{http://www.w3.org/2005/Atom}"
SVG = "{http://www.w3.org/2000/svg}"
NASTY = [
    "<script>alert(1)</script>",
    '"onmouseover=alert(1) x="',
    "]]><x>",
    "Tom & Jerry's \x01 <b>",
]


@pytest.fixture
def app(make_app):
    # The feed's links are absolute, from the configured address, never from the request.
    return make_app(BASE_URL="https://status.example.com")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def setup_done(ctx):
    accounts.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)


def monitor(name="API", public=True, **data):
    return monitors.create(
        {"name": name, "url": "https://internal.example/health", "public": public, **data}
    )


def public_outputs(client, names=("API",), slugs=("api",)) -> dict[str, str]:
    """Every public document, as text, for searching."""
    paths = ["/status", "/api/status", "/status/feed.atom"]
    for name in names:
        paths.append(f"/api/status/history?serviceName={name}")
    for slug in slugs:
        paths += [
            f"/badge/{slug}/status.svg",
            f"/badge/{slug}/uptime.svg?period=30d",
            f"/badge/{slug}/shields.json",
            f"/badge/{slug}/shields.json?period=7d",
        ]
    outputs = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        outputs[path] = response.get_data(as_text=True)
    partial = client.get("/status", headers={"HX-Request": "true"})
    outputs["/status (htmx)"] = partial.get_data(as_text=True)
    outputs["/ (visitor)"] = client.get("/").get_data(as_text=True)
    return outputs


def assert_absent(outputs: dict[str, str], *secrets: str) -> None:
    for path, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked in {path}"


def run_checks() -> None:
    scheduler = Scheduler(conn=redis_client.conn)
    scheduler.rebuild()
    scheduler.tick(datetime.now(UTC) + timedelta(seconds=1))
    worker = SimpleWorker([queues.queue(n) for n in queues.ALL], connection=redis_client.conn)
    worker.work(burst=True, with_scheduler=False)
    db.session.remove()


# ---------------------------------------------------------------------------------------------
# Privacy


def test_nothing_private_reaches_any_public_output(setup_done, client):
    """Real checks through the engine produce real error texts; none of them, no URL, header,
    body or private item may appear anywhere the public can read."""
    port = closed_port()
    with TargetServer() as target:
        failing = target.route("/cron-secret-path", status=500, body="stack trace: db.internal")
        public = monitors.create(
            {
                "name": "API",
                "url": f"http://127.0.0.1:{port}/internal-health?token=sekrit",
                "headers": {"X-Api-Key": "hunter2"},
                "auth_username": "svc-user",
                "auth_password": "svc-pass",
                "failure_threshold": 1,
                "public": True,
            }
        )
        private = monitors.create(
            {"name": "Private DB", "url": target.route("/private"), "public": False}
        )
        job = cron_jobs.create(
            {"name": "Nightly", "url": failing, "cron_expr": "* * * * *", "public": True,
             "body": "payload-secret"}
        )  # fmt: skip
        private_job = cron_jobs.create(
            {"name": "Hidden job", "url": failing, "cron_expr": "* * * * *"}
        )
        run_checks()
        cron_jobs.run_now(job.id)
        run_checks()
    down = db.session.get(Monitor, public.id)
    assert down.state == "down"
    [incident] = db.session.scalars(sa.select(Incident).where(Incident.monitor_id == public.id))
    # The stored cause names the address: exactly what must stay private.
    assert f"127.0.0.1:{port}" in incident.cause or "127.0.0.1" in incident.cause
    db.session.add(Incident(monitor_id=private.id, title="Private DB is down", cause="x"))
    db.session.commit()

    outputs = public_outputs(client, names=("API", "Nightly"), slugs=(public.slug, job.slug))
    assert "API" in outputs["/status"] and "Nightly" in outputs["/status"]
    assert "API is down" in outputs["/status"] and "API is down" in outputs["/status/feed.atom"]
    assert_absent(
        outputs,
        "127.0.0.1",
        f":{port}",
        "internal-health",
        "sekrit",
        "hunter2",
        "X-Api-Key",
        "svc-user",
        "svc-pass",
        "cron-secret-path",
        "payload-secret",
        "stack trace",
        "db.internal",
        "Private DB",
        "Hidden job",
        incident.cause,
        # Every monitor and job URL, searched for literally.
        down.url,
        private.url,
        job.url,
        private_job.url,
    )


def test_private_items_answer_404_everywhere(setup_done, client):
    private = monitor("Secret", public=False)
    for path in [
        f"/badge/{private.slug}/status.svg",
        f"/badge/{private.slug}/uptime.svg",
        f"/badge/{private.slug}/shields.json",
        "/badge/no-such-thing/status.svg",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Secret" not in response.get_data(as_text=True)
    for name in ("Secret", "Nobody", ""):
        response = client.get(f"/api/status/history?serviceName={name}")
        assert response.status_code == 404
        assert response.get_json() == {"error": "Service not found."}
    assert client.get(f"/badge/{private.slug}/shields.json").get_json() == {"error": "Not found."}
    assert client.get("/api/status").get_json()["services"] == []
    assert "Secret" not in client.get("/status").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Pages


def test_root_shows_visitors_the_status_page_and_admins_the_dashboard(setup_done, client):
    monitor("API")
    visitor = client.get("/")
    html = visitor.get_data(as_text=True)
    assert visitor.status_code == 200 and 'id="status-page"' in html and "API" in html
    assert "Sign out" not in html and "csrf" not in html.lower()
    assert visitor.headers["Cache-Control"] == "no-cache"
    assert "Cookie" in visitor.headers["Vary"]
    assert "Set-Cookie" not in visitor.headers
    post_form(client, "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin = client.get("/").get_data(as_text=True)
    assert "<h1>Overview</h1>" in admin and 'id="status-page"' not in admin
    # The public page stays public for the admin too.
    assert 'id="status-page"' in client.get("/status").get_data(as_text=True)


def test_before_setup_root_leads_to_setup_but_public_routes_answer(client):
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/status").status_code == 200
    assert client.get("/api/status").get_json()["services"] == []
    assert client.get("/status/feed.atom").status_code == 200
    assert client.get("/badge/x/status.svg").status_code == 404


def test_page_content(setup_done, client):
    api = monitor("API", description="The public API", group="Core")
    db.session.execute(sa.update(Monitor).values(state="down"))
    db.session.commit()
    status_page.update_settings(
        {"title": "Acme status", "description": "Live status of Acme", "footer": "© Acme Inc.",
         "logo_url": "https://cdn.example/logo.png"}
    )  # fmt: skip
    response = client.get("/status")
    html = response.get_data(as_text=True)
    assert "<title>Acme status</title>" in html
    for text in ("Acme status", "Live status of Acme", "© Acme Inc.", "The public API", "Core",
                 "Major outage", "1 of 1 service down", "Outage", "90 days ago", "Today",
                 'hx-trigger="every 60s"', 'src="https://cdn.example/logo.png"'):  # fmt: skip
        assert text in html, text
    assert f'id="item-{api.slug}"' in html
    # No inline script or style: the CSP forbids both.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "img-src 'self' data: https: http:" in csp


def test_htmx_refresh_gets_the_partial(setup_done, client):
    monitor("API")
    partial = client.get("/status", headers={"HX-Request": "true"})
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="status-page"') and "<html" not in html
    assert "HX-Request" in partial.headers["Vary"]
    full = client.get("/status").get_data(as_text=True)
    assert full.startswith("<!doctype html>")


def test_bars_are_described_for_hover_focus_and_screen_readers(setup_done, client):
    api = monitor("API")
    today = datetime.now(UTC).date()
    for n in range(10):
        failures = 30 if n == 2 else 0
        db.session.add(
            DailyRollup(subject_type="monitor", subject_id=api.id, day=today - timedelta(days=n),
                        checks=1440, failures=failures, downtime_sec=1800 if n == 2 else 0)
        )  # fmt: skip
    db.session.commit()
    html = client.get("/status").get_data(as_text=True)
    bad_day = (today - timedelta(days=2)).isoformat()
    text = f"{bad_day} · 97.91% uptime · 30 min down"
    assert f"<title>{text}</title>" in html  # hover and accessible name
    assert f"<li>{text}</li>" in html  # the same in words, in the details list
    assert "1 day with failures or incidents" in html
    assert (
        f"{(today - timedelta(days=9)).isoformat()} to {(today - timedelta(days=3)).isoformat()}"
        " · 100% uptime every day · no downtime" in html
    )
    assert f"{(today - timedelta(days=89)).isoformat()} to" in html and "no data" in html
    # One tab stop per chart (the newest bar); the others are reached with the arrow keys.
    chart = re.search(r'<svg class="bars".*?</svg>', html).group(0)
    assert chart.count('tabindex="0"') == 1 and 'tabindex="-1"' in chart
    assert 'aria-label="Daily uptime of API, last 90 days"' in chart
    assert "30 days: 99.79% · 90 days: 99.79%" in html


# ---------------------------------------------------------------------------------------------
# JSON


def test_status_json_in_the_openuptimes_shape(setup_done, client):
    api = monitor("API", description="Public API")
    down = monitor("Worker")
    monitor("Private", public=False)
    checked = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    db.session.execute(
        sa.update(Monitor)
        .where(Monitor.id == api.id)
        .values(state="up", last_checked_at=checked, last_response_ms=87)
    )
    db.session.execute(sa.update(Monitor).where(Monitor.id == down.id).values(state="down"))
    db.session.add(
        DailyRollup(subject_type="monitor", subject_id=api.id, day=datetime.now(UTC).date(),
                    checks=200, failures=1)
    )  # fmt: skip
    db.session.commit()
    response = client.get("/api/status")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json() == {
        "overall": "degraded",  # one of two down: a partial outage
        "updated": int(checked.timestamp() * 1000),
        "services": [
            {
                "name": "API",
                "description": "Public API",
                "status": "up",
                "lastChecked": int(checked.timestamp() * 1000),
                "responseTime": 87,
                "uptime30d": 99.5,
            },
            {
                "name": "Worker",
                "description": "",
                "status": "down",
                "lastChecked": None,
                "responseTime": None,
                "uptime30d": None,
            },
        ],
    }


def test_history_json(setup_done, client):
    api = monitor("API")
    now = datetime.now(UTC).replace(microsecond=0)
    for n, outcome in enumerate([OK, FAILED_HTTP_STATUS, OK]):
        at = now - timedelta(minutes=n)
        db.session.add(
            CheckResult(monitor_id=api.id, planned_at=at, started_at=at, outcome=outcome,
                        total_us=150_000, error="HTTP 500 from 10.1.2.3")
        )  # fmt: skip
    db.session.commit()
    body = client.get("/api/status/history?serviceName=API&limit=2").get_json()
    ms = int(now.timestamp() * 1000)
    assert body == {
        "name": "API",
        "history": [
            {"timestamp": ms, "status": "up", "responseTime": 150},
            {"timestamp": ms - 60_000, "status": "down", "responseTime": 150},
        ],
    }
    assert len(client.get("/api/status/history?serviceName=API").get_json()["history"]) == 3
    bad = client.get("/api/status/history?serviceName=API&limit=0")
    assert bad.status_code == 400 and "whole number" in bad.get_json()["error"]


# ---------------------------------------------------------------------------------------------
# Badges and feed


def test_badges_are_valid_svg_and_shields_json(setup_done, client):
    api = monitor("API")
    db.session.execute(sa.update(Monitor).values(state="up"))
    db.session.add(
        DailyRollup(subject_type="monitor", subject_id=api.id, day=datetime.now(UTC).date(),
                    checks=1000, failures=5)
    )  # fmt: skip
    db.session.commit()
    status = client.get(f"/badge/{api.slug}/status.svg")
    assert status.mimetype == "image/svg+xml"
    assert status.headers["Content-Security-Policy"] == "default-src 'none'"
    root = ET.fromstring(status.data)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "API: up"
    assert "#4c1" in status.get_data(as_text=True)

    for period, text in [
        ("24h", "no data"),
        ("7d", "99.50%"),
        ("30d", "99.50%"),
        ("90d", "99.50%"),
    ]:
        badge = client.get(f"/badge/{api.slug}/uptime.svg?period={period}")
        assert ET.fromstring(badge.data).find(f"{SVG}title").text == f"uptime {period}: {text}"
    assert "uptime 30d" in client.get(f"/badge/{api.slug}/uptime.svg").get_data(as_text=True)
    bad = client.get(f"/badge/{api.slug}/uptime.svg?period=1y")
    assert bad.status_code == 400 and "24h, 7d, 30d, 90d" in bad.get_data(as_text=True)

    assert client.get(f"/badge/{api.slug}/shields.json").get_json() == {
        "schemaVersion": 1,
        "label": "API",
        "message": "up",
        "color": "brightgreen",
    }
    assert client.get(f"/badge/{api.slug}/shields.json?period=30d").get_json() == {
        "schemaVersion": 1,
        "label": "uptime 30d",
        "message": "99.50%",
        "color": "green",
    }
    assert client.get(f"/badge/{api.slug}/shields.json?period=x").status_code == 400


def test_atom_feed(setup_done, client):
    api = monitor("API")
    admin_id = accounts.list_admins()[0].id
    started = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    incident = Incident(monitor_id=api.id, title="API is down", cause="10.0.0.5 refused",
                        started_at=started, updated_at=started)  # fmt: skip
    incident.updates.append(IncidentUpdate(kind="started", message="10.0.0.5 refused",
                                           created_at=started))  # fmt: skip
    incident.updates.append(IncidentUpdate(kind="comment", message="Rolling back.",
                                           author_id=admin_id,
                                           created_at=started + timedelta(minutes=5)))  # fmt: skip
    db.session.add(incident)
    db.session.commit()
    response = client.get("/status/feed.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.find(f"{ATOM}title").text == "Service status: incidents"
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "API is down"
    assert entry.find(f"{ATOM}updated").text == "2026-01-01T10:05:00Z"
    assert entry.find(f"{ATOM}published").text == "2026-01-01T10:00:00Z"
    assert feed.find(f"{ATOM}updated").text == "2026-01-01T10:05:00Z"
    link = f"https://status.example.com/status#incident-{incident.id}"
    assert entry.find(f"{ATOM}link").get("href") == link
    content = entry.find(f"{ATOM}content").text
    assert "Rolling back." in content and status_page.AUTOMATIC_MESSAGES["started"] in content
    assert "10.0.0.5" not in response.get_data(as_text=True)


@pytest.mark.parametrize("name", NASTY)
def test_user_text_is_escaped_wherever_it_lands(setup_done, client, name):
    api = monitors.create(
        {"name": name, "description": name, "url": "https://x.example/", "public": True}
    )
    incident = Incident(monitor_id=api.id, title=f"{name} is down", started_at=datetime.now(UTC))
    incident.updates.append(
        IncidentUpdate(kind="comment", message=name, author_id=accounts.list_admins()[0].id)
    )
    db.session.add(incident)
    status_page.update_settings({"title": name, "footer": name, "description": name})
    clean = name.replace("\x01", "")

    html = client.get("/status").get_data(as_text=True)
    assert "<script>alert" not in html and "<x>" not in html and "<b>" not in html
    assert '"onmouseover' not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        or "&#34;onmouseover" in html
        or ("]]&gt;&lt;x&gt;" in html or "Tom &amp; Jerry&#39;s" in html)
    )

    api_json = json.loads(client.get("/api/status").data)
    assert api_json["services"][0]["name"] == name
    history = client.get("/api/status/history", query_string={"serviceName": name})
    assert history.get_json()["name"] == name

    badge = ET.fromstring(client.get(f"/badge/{api.slug}/status.svg").data)
    assert badge.find(f"{SVG}title").text == f"{clean}: pending"
    assert client.get(f"/badge/{api.slug}/shields.json").get_json()["label"] == name

    feed = ET.fromstring(client.get("/status/feed.atom").data)
    assert feed.find(f"{ATOM}title").text == f"{clean}: incidents"
    entry = feed.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == f"{clean} is down"
    assert clean in entry.find(f"{ATOM}content").text


# ---------------------------------------------------------------------------------------------
# Caching


@pytest.mark.parametrize("path", ["/status", "/api/status", "/status/feed.atom", "BADGE"])
def test_conditional_get_answers_304(setup_done, client, path):
    api = monitor("API")
    path = f"/badge/{api.slug}/status.svg" if path == "BADGE" else path
    first = client.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=10"
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    # After the cache entry expires, an unchanged document keeps its ETag and Last-Modified.
    cached = redis_client.conn.keys(f"{page_cache.PREFIX}status:*")
    redis_client.conn.delete(*[key for key in cached if not key.endswith(b":seen")])
    later = client.get(path, headers={"If-Modified-Since": modified})
    assert later.status_code == 304 and later.headers["ETag"] == etag


def test_documents_are_served_from_the_cache_for_ten_seconds(setup_done, client):
    api = monitor("API")
    assert "API" in client.get("/status").get_data(as_text=True)
    key = f"{page_cache.PREFIX}status:page:full"
    assert 0 < redis_client.conn.pttl(key) <= 10_000
    db.session.execute(sa.update(Monitor).where(Monitor.id == api.id).values(name="Renamed"))
    db.session.commit()
    assert "Renamed" not in client.get("/status").get_data(as_text=True)  # still cached
    redis_client.conn.delete(key)
    assert "Renamed" in client.get("/status").get_data(as_text=True)
    # Saving the settings shows at once.
    status_page.update_settings({"title": "New title"})
    assert "New title" in client.get("/status").get_data(as_text=True)


def test_without_redis_everything_renders_uncached(make_app, setup_done):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    with app.app_context():
        api = monitor("Offline-cache API")
    client = app.test_client()
    paths = [
        "/status",
        "/api/status",
        "/status/feed.atom",
        f"/badge/{api.slug}/status.svg",
        f"/badge/{api.slug}/uptime.svg",
        f"/api/status/history?serviceName={api.name}",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "ETag" in response.headers
    html = client.get("/status").get_data(as_text=True)
    assert "Offline-cache API" in html
    etag = client.get("/status").headers["ETag"]
    assert client.get("/status", headers={"If-None-Match": etag}).status_code == 304


# ---------------------------------------------------------------------------------------------
# Settings in the dashboard


def test_dashboard_settings_page(setup_done, client):
    api, hidden = monitor("API", group="Core"), monitor("Hidden", public=False)
    job = cron_jobs.create({"name": "Nightly", "url": "https://x.example/", "cron_expr": "@daily"})
    post_form(client, "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    page = client.get("/settings/status-page")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'name="public-monitor-{api.id}" checked' in html
    assert f"<code>{api.slug}</code>" in html
    assert f'name="public-monitor-{hidden.id}" >' in html or (
        f'name="public-monitor-{hidden.id}" checked' not in html
    )
    core_id = db.session.scalar(sa.text("select id from groups where name = 'Core'"))
    form = {
        "title": "Acme",
        "description": "",
        "logo_url": "",
        "footer": "Bye",
        "group_sections": "y",
        f"public-monitor-{hidden.id}": "on",
        f"position-monitor-{api.id}": "3",
        f"position-monitor-{hidden.id}": "1",
        f"public-cron_job-{job.id}": "on",
        f"position-cron_job-{job.id}": "0",
        f"group-{core_id}": "2",
    }
    response = post_form(client, "/settings/status-page", form)
    assert response.status_code == 302
    assert "Status page saved." in client.get("/settings/status-page").get_data(as_text=True)
    described = status_page.describe()
    assert {(i["name"], i["public"], i["position"]) for i in described["items"]} == {
        ("API", False, 3),  # not ticked: no longer public
        ("Hidden", True, 1),
        ("Nightly", True, 0),
    }
    assert described["title"] == "Acme" and described["show_response_times"] is False
    assert described["groups"][0]["position"] == 2

    # A bad value is shown beside its row; what was typed and ticked is kept; nothing saved.
    bad = post_form(
        client,
        "/settings/status-page",
        {
            **form,
            "title": "Other",
            f"position-monitor-{api.id}": "-4",
            f"public-monitor-{api.id}": "on",
            "logo_url": "ftp://x",
        },  # fmt: skip
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Some positions are not valid; see below." in html
    assert f'id="position-monitor-{api.id}-error">Must be a whole number' in html
    assert 'value="-4"' in html and f'name="public-monitor-{api.id}" checked' in html
    assert "http:// or https://" in html and 'value="Other"' in html
    assert status_page.get_settings()["title"] == "Acme"
    # CSRF is required.
    assert client.post("/settings/status-page", data=form).status_code == 400


def test_settings_page_is_for_signed_in_admins(app, client):
    with app.app_context():
        accounts.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert client.get("/settings/status-page").headers["Location"].startswith("/login")
    assert client.post("/settings/status-page").status_code in (302, 400)


def test_heartbeat_like_rows_appear_without_changes(setup_done, client):
    db.session.add(
        Monitor(kind="heartbeat", name="Backup job", slug="backup-job", public=True, state="up",
                code=str(uuid.uuid4()), period_sec=86400)
    )  # fmt: skip
    db.session.commit()
    assert "Backup job" in client.get("/status").get_data(as_text=True)
    assert client.get("/badge/backup-job/status.svg").status_code == 200
    assert client.get("/api/status").get_json()["services"][0]["status"] == "up"
