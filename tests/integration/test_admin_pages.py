"""The incidents, API keys, settings and system pages of the dashboard, through the test
client with real forms and CSRF tokens, on real SQL and Redis."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from app.engine import queues
from app.engine.scheduler import Scheduler
from app.extensions import db, redis_client
from app.models import (
    ApiKey,
    CheckResult,
    CronExecution,
    DailyRollup,
    Incident,
    IncidentUpdate,
)
from app.services import api_keys, history, incidents, monitors
from app.web import incidents as incidents_page
from tests.conftest import ADMIN_EMAIL, csrf_token, post_form

HTMX = {"HX-Request": "true"}


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def count(client, model) -> int:
    def run():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()

    return in_app(client, run)


def make_incidents(client, number: int, monitor_name: str = "Shop") -> list[int]:
    """``number`` incidents on one monitor, an hour apart, the newest first in the list."""

    def run():
        monitor = monitors.create({"name": monitor_name, "url": "https://shop.example.com/"})
        start = datetime(2030, 1, 1, tzinfo=UTC)
        rows = [
            incidents.open_incident(
                monitor_id=monitor.id,
                title=f"{monitor_name} down #{n}",
                cause="HTTP 503",
                now=start + timedelta(hours=n),
            )
            for n in range(number)
        ]
        db.session.commit()
        return [row.id for row in rows]

    return in_app(client, run)


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/incidents/", "/incidents/1", "/api-keys/", "/settings/", "/system/"],
)
def test_pages_send_visitors_to_the_login_page(client, admin, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/1/resolve",
        "/incidents/1/reopen",
        "/incidents/1/updates",
        "/api-keys/",
        "/api-keys/1/revoke",
        "/settings/retention",
        "/settings/clear-history",
        "/system/redis-test",
    ],
)
def test_actions_refuse_visitors(client, admin, path):
    """Refused for want of a sign-in, not only of a CSRF token: with a valid token (a
    visitor has one from the login page) the answer is still the way to the login page."""
    assert client.post(path).status_code == 400  # no token: CSRF refuses first
    token = csrf_token(client, "/login")
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# --- incidents -------------------------------------------------------------------------------


def test_incidents_empty_states_are_honest_per_tab(logged_in):
    page = text(logged_in.get("/incidents/"))
    assert "No incidents yet" in page
    assert re.search(r'<a href="/incidents/" aria-current="page">Incidents</a>', page)
    assert "No open incidents" in text(logged_in.get("/incidents/?status=open"))
    assert "No resolved incidents" in text(logged_in.get("/incidents/?status=resolved"))


def test_incidents_list_filters_by_status_and_counts_each_tab(logged_in, seeded):
    in_app(logged_in, incidents.update, seeded["job_incident_id"], {"status": "resolved"})
    page = text(logged_in.get("/incidents/"))
    assert "Shop is down" in page and "Cron job Backup is failing" in page
    assert re.search(r'Open <span class="count">1</span>', page)
    assert re.search(r'Resolved <span class="count">1</span>', page)
    assert f'href="/incidents/{seeded["incident_id"]}"' in page

    open_page = text(logged_in.get("/incidents/?status=open"))
    assert "Shop is down" in open_page and "Cron job Backup" not in open_page
    assert re.search(r'href="/incidents/\?status=open" aria-current="page"', open_page)
    resolved = text(logged_in.get("/incidents/?status=resolved"))
    assert "Cron job Backup is failing" in resolved and "Shop is down" not in resolved
    assert logged_in.get("/incidents/?status=closed").status_code == 400


def test_incidents_list_pages_newest_first_and_keeps_the_filter(logged_in):
    make_incidents(logged_in, 27)
    first = text(logged_in.get("/incidents/?status=open"))
    assert "Shop down #26" in first and "Shop down #2<" in first and "Shop down #1<" not in first
    assert "Page 1 of 2 · 27 incidents" in first
    assert 'href="/incidents/?page=2&amp;status=open"' in first
    second = text(logged_in.get("/incidents/?status=open&page=2"))
    assert "Shop down #1<" in second and "Shop down #0<" in second
    assert "Shop down #2<" not in second
    assert logged_in.get("/incidents/?page=nope").status_code == 400


def test_incident_detail_shows_the_timeline_and_404s_for_unknown_ids(logged_in, seeded):
    page = text(logged_in.get(f"/incidents/{seeded['incident_id']}"))
    assert "<h1>Shop is down</h1>" in page
    assert "Started" in page and "HTTP 503" in page and "by Upcron" in page
    assert 'datetime="' in page and 'data-local="datetime"' in page
    assert "Resolve incident" in page and 'name="csrf_token"' in page
    assert logged_in.get("/incidents/999999").status_code == 404


def test_resolve_then_reopen_writes_the_timeline_with_the_admin(logged_in, seeded):
    incident_id = seeded["incident_id"]
    detail = f"/incidents/{incident_id}"
    response = post_form(logged_in, f"{detail}/resolve", {}, form_path=detail)
    assert response.status_code == 302 and response.headers["Location"] == detail
    page = text(logged_in.get(detail))
    assert "Incident resolved." in page and "Reopen incident" in page
    assert f"by {ADMIN_EMAIL}" in page and "Resolved manually." in page
    assert in_app(logged_in, lambda: incidents.get(incident_id).status) == "resolved"

    # A second resolve (a stale tab) is a clear message, not an error page.
    response = post_form(logged_in, f"{detail}/resolve", {}, form_path=detail)
    assert response.status_code == 302
    assert "Incident is already resolved" in text(logged_in.get(detail))

    post_form(logged_in, f"{detail}/reopen", {}, form_path=detail)
    page = text(logged_in.get(detail))
    assert "Incident reopened." in page and "Resolve incident" in page
    assert in_app(logged_in, lambda: incidents.get(incident_id).status) == "open"


def test_resolve_needs_the_csrf_token(logged_in, seeded):
    response = logged_in.post(f"/incidents/{seeded['incident_id']}/resolve")
    assert response.status_code == 400
    assert in_app(logged_in, lambda: incidents.get(seeded["incident_id"]).status) == "open"


def test_add_an_update_without_javascript(logged_in, seeded):
    detail = f"/incidents/{seeded['incident_id']}"
    response = post_form(
        logged_in, f"{detail}/updates", {"message": "Provider is on it."}, form_path=detail
    )
    assert response.status_code == 302 and response.headers["Location"] == detail
    page = text(logged_in.get(detail))
    assert "Update added." in page and "Provider is on it." in page
    assert f"by {ADMIN_EMAIL}" in page


def test_add_an_update_with_htmx_returns_the_timeline_only(logged_in, seeded):
    detail = f"/incidents/{seeded['incident_id']}"
    token = csrf_token(logged_in, detail)
    response = logged_in.post(
        f"{detail}/updates",
        data={"csrf_token": token, "message": "Rolling back."},
        headers=HTMX,
    )
    assert response.status_code == 200
    fragment = text(response)
    assert "<html" not in fragment and 'id="incident-timeline"' in fragment
    assert "Rolling back." in fragment
    # The form comes back empty, ready for the next update.
    assert re.search(r"<textarea[^>]*>\s*</textarea>", fragment)


def test_an_empty_or_oversized_update_is_refused_inline_and_writes_nothing(logged_in, seeded):
    detail = f"/incidents/{seeded['incident_id']}"
    before = count(logged_in, IncidentUpdate)
    response = post_form(logged_in, f"{detail}/updates", {"message": "  "}, form_path=detail)
    assert response.status_code == 422
    page = text(response)
    assert 'id="message-error"' in page and "Write the update&#39;s text." in page
    assert re.search(r'<textarea[^>]*aria-invalid="true"', page)

    long = "x" * (incidents.MESSAGE_MAX + 1)
    token = csrf_token(logged_in, detail)
    response = logged_in.post(
        f"{detail}/updates", data={"csrf_token": token, "message": long}, headers=HTMX
    )
    assert response.status_code == 422 and "<html" not in text(response)
    assert f"Use at most {incidents.MESSAGE_MAX} characters." in text(response)
    assert long in text(response)  # what was typed is kept
    assert count(logged_in, IncidentUpdate) == before


def test_duration_in_words():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    ongoing = Incident(started_at=start, resolved_at=None)
    assert incidents_page.duration(ongoing, start + timedelta(seconds=59)) == "under a minute"
    assert incidents_page.duration(ongoing, start + timedelta(minutes=5)) == "5 min"
    assert incidents_page.duration(ongoing, start + timedelta(hours=2, minutes=3)) == "2 h 3 min"
    ended = Incident(started_at=start, resolved_at=start + timedelta(days=3, hours=2))
    assert incidents_page.duration(ended, start + timedelta(days=30)) == "3 d 2 h"


def test_incident_counts_per_status(app, seeded):
    with app.app_context():
        assert incidents.counts() == {"open": 2, "resolved": 0}
        incidents.update(seeded["incident_id"], {"status": "resolved"})
        assert incidents.counts() == {"open": 1, "resolved": 1}


# --- API keys --------------------------------------------------------------------------------


def key_form(**fields) -> dict:
    return {"name": "deploy", "scopes": ["monitors:read"], "rate_limit_per_sec": "10", **fields}


def test_api_keys_empty_state_and_every_scope_offered(logged_in):
    page = text(logged_in.get("/api-keys/"))
    assert "No API keys yet" in page
    for scope in api_keys.SCOPES:
        assert f'value="{scope}"' in page
    assert 'value="*"' in page
    assert re.search(r'id="rate_limit_per_sec"[^>]*value="10"', page)


def test_create_a_key_shows_the_secret_once_and_it_works_on_the_api(logged_in):
    response = post_form(
        logged_in,
        "/api-keys/",
        key_form(
            name="deploy script",
            scopes=["monitors:read", "incidents:write"],
            expires_at="2099-01-02T03:04",
            allowed_networks="127.0.0.1\n10.0.0.0/8, 192.168.1.0/24",
            rate_limit_per_sec="20",
            daily_quota="5000",
        ),
    )
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    page = text(response)
    secret = re.search(r'id="key-secret"[^>]*value="(upk_[^"]+)"', page).group(1)
    assert "shown only this once" in page and 'data-copy="key-secret"' in page

    key = in_app(logged_in, lambda: db.session.execute(sa.select(ApiKey)).scalar_one())
    assert key.name == "deploy script" and key.scopes == ["monitors:read", "incidents:write"]
    assert key.allowed_networks == ["127.0.0.1/32", "10.0.0.0/8", "192.168.1.0/24"]
    assert key.rate_limit_per_sec == 20 and key.daily_quota == 5000
    assert key.expires_at == datetime(2099, 1, 2, 3, 4, tzinfo=UTC)
    assert key.created_by_id is not None

    api = logged_in.application.test_client()
    ok = api.get("/api/monitors", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    denied = api.get("/api/cron-jobs", headers={"Authorization": f"Bearer {secret}"})
    assert denied.status_code == 403

    listing = text(logged_in.get("/api-keys/"))
    assert "deploy script" in listing and key.prefix in listing and secret not in listing
    assert "monitors:read" in listing and "5000/day" in listing
    assert '<span class="pill pill-active">active</span>' in listing


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "Enter a name."),
        ({"scopes": []}, "scopes", "Give the key at least one scope."),
        ({"scopes": ["root"]}, "scopes", "Unknown scope"),
        ({"allowed_networks": "10.0.0.300"}, "allowed_networks", "is not an IP address"),
        ({"rate_limit_per_sec": "fast"}, "rate_limit_per_sec", "whole number from 1 to 1000"),
        ({"daily_quota": "0"}, "daily_quota", "whole number from 1"),
        ({"expires_at": "2001-01-01T00:00"}, "expires_at", "Choose a moment in the future"),
        ({"expires_at": "tomorrow"}, "expires_at", "Not a valid datetime value"),
    ],
)
def test_a_bad_key_is_refused_inline_and_no_key_is_written(logged_in, fields, field, message):
    response = post_form(logged_in, "/api-keys/", key_form(**fields), form_path="/api-keys/")
    assert response.status_code == 422
    page = text(response)
    assert f'id="{field}-error"' in page and message in page
    assert "upk_" not in page
    assert count(logged_in, ApiKey) == 0


def test_a_refused_key_form_keeps_what_was_typed(logged_in):
    response = post_form(
        logged_in, "/api-keys/", key_form(name="ci", scopes=["system:read"], daily_quota="-1")
    )
    page = text(response)
    assert re.search(r'id="name"[^>]*value="ci"', page)
    assert re.search(
        r'<input[^>]*checked[^>]*value="system:read"|value="system:read"[^>]*checked', page
    )


def test_keys_list_pages_and_shows_each_status(logged_in):
    def seed():
        now = datetime.now(UTC)
        for n in range(26):
            key, _ = api_keys.create(
                {"name": f"key {n:02d}", "scopes": ["*"]}, now=now + timedelta(seconds=n)
            )
        expired, _ = api_keys.create(
            {"name": "old", "scopes": ["*"], "expires_at": now + timedelta(seconds=1)},
            now=now - timedelta(days=1),
        )
        db.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == expired.id)
            .values(expires_at=now - timedelta(hours=1))
        )
        db.session.commit()
        api_keys.revoke(key.id)

    in_app(logged_in, seed)
    first = text(logged_in.get("/api-keys/"))
    assert "Page 1 of 2 · 27 keys" in first
    assert "key 25" in first and "pill-revoked" in first
    assert 'Revoke<span class="visually-hidden"> key 25' not in first  # already revoked
    second = text(logged_in.get("/api-keys/?page=2"))
    assert "key 00" in second and "pill-expired" in second and "key 25" not in second
    assert logged_in.get("/api-keys/?page=0").status_code == 400


def test_revoke_asks_first_then_the_secret_stops_working(logged_in):
    key_id, secret = in_app(
        logged_in,
        lambda: (lambda pair: (pair[0].id, pair[1]))(
            api_keys.create({"name": "ci", "scopes": ["*"]})
        ),
    )
    page = text(logged_in.get("/api-keys/"))
    assert re.search(
        rf'action="/api-keys/{key_id}/revoke"\s+data-confirm="Revoke the API key ci', page
    )
    assert logged_in.post(f"/api-keys/{key_id}/revoke").status_code == 400  # no token

    response = post_form(logged_in, f"/api-keys/{key_id}/revoke", {}, form_path="/api-keys/")
    assert response.status_code == 302
    assert "API key ci revoked" in text(logged_in.get("/api-keys/"))
    api = logged_in.application.test_client()
    refused = api.get("/api/monitors", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401 and refused.json == {"error": api_keys.REVOKED}
    missing = post_form(logged_in, "/api-keys/999999/revoke", {}, form_path="/api-keys/")
    assert missing.status_code == 404


# --- settings --------------------------------------------------------------------------------


def test_settings_links_every_section_and_the_old_pages_still_work(logged_in):
    page = text(logged_in.get("/settings/"))
    assert "Now: history is kept for 30 days." in page
    assert re.search(r'<a href="/settings/" aria-current="page">History</a>', page)
    for path in ("/settings/admins", "/settings/status-page", "/account/password"):
        assert f'href="{path}"' in page
        assert logged_in.get(path).status_code == 200
    assert re.search(r'id="amount"[^>]*value="30"', page)
    assert re.search(r'<option selected value="days">', page)


@pytest.mark.parametrize(
    ("amount", "unit", "seconds", "words"),
    [("7", "days", 7 * 86400, "7 days"), ("36", "hours", 36 * 3600, "36 hours")],
)
def test_retention_is_saved_in_days_or_hours(logged_in, amount, unit, seconds, words):
    response = post_form(
        logged_in, "/settings/retention", {"amount": amount, "unit": unit}, form_path="/settings/"
    )
    assert response.status_code == 302
    assert in_app(logged_in, history.get_retention) == {"ttl_seconds": seconds, "unlimited": False}
    page = text(logged_in.get("/settings/"))
    assert f"Retention saved: history is kept for {words}." in page
    assert re.search(rf'id="amount"[^>]*value="{amount}"', page)


def test_unlimited_retention_and_back(logged_in):
    post_form(
        logged_in,
        "/settings/retention",
        {"amount": "", "unit": "days", "unlimited": "y"},
        form_path="/settings/",
    )
    assert in_app(logged_in, history.get_retention)["unlimited"] is True
    page = text(logged_in.get("/settings/"))
    assert "history is kept forever" in page
    assert re.search(r'id="unlimited"[^>]*checked|checked[^>]*id="unlimited"', page)
    post_form(
        logged_in, "/settings/retention", {"amount": "2", "unit": "days"}, form_path="/settings/"
    )
    assert in_app(logged_in, history.get_retention) == {
        "ttl_seconds": 2 * 86400,
        "unlimited": False,
    }


@pytest.mark.parametrize(
    ("amount", "unit"),
    [
        ("abc", "days"),
        ("", "days"),
        ("0", "hours"),
        ("3651", "days"),
        ("1.5", "days"),
        ("2", "weeks"),
    ],
)
def test_a_bad_retention_is_refused_inline_and_nothing_changes(logged_in, amount, unit):
    response = post_form(
        logged_in, "/settings/retention", {"amount": amount, "unit": unit}, form_path="/settings/"
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="amount-error"' in page and "Choose from 1 hour to 3650 days" in page
    assert in_app(logged_in, history.get_retention) == {
        "ttl_seconds": history.TTL_DEFAULT,
        "unlimited": False,
    }


def test_a_ttl_set_through_the_api_in_seconds_is_shown_in_seconds(logged_in):
    in_app(logged_in, history.set_retention, ttl_seconds=5000)
    page = text(logged_in.get("/settings/"))
    assert "kept for 5000 seconds" in page
    assert re.search(r'<option selected value="seconds">', page)


def _history_rows(client) -> dict[str, int]:
    return {model.__tablename__: count(client, model) for model in (CheckResult, CronExecution)}


@pytest.mark.parametrize("typed", ["", "clear", "delete everything"])
def test_clear_history_refuses_the_wrong_phrase_and_deletes_nothing(logged_in, seeded, typed):
    response = post_form(
        logged_in, "/settings/clear-history", {"confirmation": typed}, form_path="/settings/"
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="confirmation-error"' in page and "nothing was deleted" in page
    assert _history_rows(logged_in) == {"check_results": 1, "cron_executions": 1}


def test_clear_history_with_the_phrase_deletes_raw_history_and_rollups(logged_in, seeded):
    def add_rollup():
        db.session.add(
            DailyRollup(
                subject_type="monitor",
                subject_id=seeded["monitor_id"],
                day=datetime.now(UTC).date(),
                checks=10,
                failures=1,
            )
        )
        db.session.commit()

    in_app(logged_in, add_rollup)
    page = text(logged_in.get("/settings/"))
    assert "1 check results, 1 executions, 0 pings, 1 daily figures" in page
    response = post_form(
        logged_in,
        "/settings/clear-history",
        {"confirmation": " Clear History "},
        form_path="/settings/",
    )
    assert response.status_code == 302
    assert "History cleared: 3 rows deleted." in text(logged_in.get("/settings/"))
    assert _history_rows(logged_in) == {"check_results": 0, "cron_executions": 0}
    assert count(logged_in, DailyRollup) == 0
    assert in_app(logged_in, lambda: len(monitors.list_monitors().items)) == 1


def test_stored_counts_match_what_clear_all_deletes(app, seeded):
    with app.app_context():
        before = history.stored_counts()
        assert before == {"check_results": 1, "cron_executions": 1, "pings": 0, "daily_rollups": 0}
        assert history.clear_all() == before
        assert set(history.stored_counts().values()) == {0}


# --- system ----------------------------------------------------------------------------------


def test_system_page_without_workers_or_scheduler_says_so(logged_in):
    page = text(logged_in.get("/system/"))
    assert "Answering." in page  # the database
    assert re.search(r"Answering in [\d.]+ ms \(version \d", page)
    assert "No worker is running" in page and "No scheduler holds the lead" in page
    for name in queues.ALL:
        assert f'<th scope="row">{name}</th>' in page


def test_system_page_shows_workers_queues_and_the_scheduler(logged_in, seeded):
    app = logged_in.application
    with app.app_context():
        scheduler = Scheduler(conn=redis_client.conn)
        assert scheduler.hold_lock()
        scheduler.tick()
        worker = SimpleWorker(
            [queues.queue(name) for name in queues.ALL],
            connection=redis_client.conn,
            name="page-test-worker",
        )
        worker.register_birth()
        try:
            page = text(logged_in.get("/system/"))
        finally:
            worker.register_death()
            scheduler.release()
    assert "page-test-worker" in page and "checks, notify, maintenance" in page
    assert "Leader" in page and "Last tick" in page and " s ago)" in page
    assert "No worker is running" not in page
    assert re.search(
        r'<th scope="row">checks</th><td><span class="cell-label">Waiting: </span>[1-9]', page
    )


def test_redis_test_answers_in_place_with_htmx_and_as_a_flash_without(logged_in):
    token = csrf_token(logged_in, "/system/")
    response = logged_in.post("/system/redis-test", data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    fragment = text(response)
    assert "<html" not in fragment and re.search(r"Redis answered in [\d.]+ ms", fragment)

    response = post_form(logged_in, "/system/redis-test", {}, form_path="/system/")
    assert response.status_code == 302
    assert re.search(r"Redis answered in [\d.]+ ms", text(logged_in.get("/system/")))
    assert logged_in.post("/system/redis-test", headers=HTMX).status_code == 400


def test_system_page_with_redis_down_reports_it(make_app, logged_in):
    down = make_app(REDIS_URL="unix:///nonexistent/redis.sock").test_client()
    # Signing in is throttled through Redis; the session of the admin signed in above
    # serves here as well (same secret key, stateless sessions).
    down.set_cookie("session", logged_in.get_cookie("session").value)
    response = down.get("/system/")
    assert response.status_code == 200
    page = text(response)
    assert "Not answering:" in page and "Unknown while Redis is not answering." in page
    token = csrf_token(down, "/system/")
    result = down.post("/system/redis-test", data={"csrf_token": token}, headers=HTMX)
    assert result.status_code == 200 and "Redis did not answer" in text(result)
