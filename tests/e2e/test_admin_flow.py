"""Incidents, API keys, settings and system pages in a real browser against `upcron web`:
a key created here works on /api, retention persists, clearing history needs the typed
phrase, an incident is annotated and resolved."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import CheckResult
from app.services import history, incidents, monitors
from tests.e2e.conftest import EMAIL, screenshot, sign_in, signed_in_without_javascript


def call_api(live_server: str, path: str, secret: str) -> tuple[int, object]:
    request = urllib.request.Request(
        live_server + path, headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def seed_monitor_with_history(app) -> int:
    """A monitor with three check results and an open incident; returns the incident id."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        monitor = monitors.create({"name": "Shop", "url": "https://shop.example.com/health"})
        for minutes in (1, 2, 3):
            moment = now - timedelta(minutes=minutes)
            db.session.add(
                CheckResult(
                    monitor_id=monitor.id,
                    planned_at=moment,
                    started_at=moment,
                    outcome="failed_http_status",
                    status_code=503,
                    error="HTTP 503",
                    total_us=5400,
                )
            )
        incident = incidents.open_incident(
            monitor_id=monitor.id, title="Shop is down", cause="HTTP 503", now=now
        )
        db.session.commit()
        return incident.id


def check_results(app) -> int:
    with app.app_context():
        total = db.session.execute(sa.select(sa.func.count()).select_from(CheckResult)).scalar_one()
        db.session.rollback()
        return total


def test_an_api_key_created_in_the_browser_works_on_the_api(page, live_server, app):
    sign_in(page, live_server, app)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()

    page.get_by_label("Name").fill("status script")
    page.get_by_label("monitors:read").check()
    page.get_by_label("Daily quota (requests per UTC day)").fill("1000")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="API key status script created")).to_be_visible()
    secret = page.get_by_label("Secret").input_value()
    assert re.fullmatch(r"upk_[A-Za-z0-9_-]{43}", secret)

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    status, body = call_api(live_server, "/api/monitors", secret)
    assert status == 200 and isinstance(body, list)
    status, body = call_api(live_server, "/api/cron-jobs", secret)
    assert status == 403 and "cron-jobs:read" in body["error"]

    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row", name=re.compile("status script"))
    expect(row).to_contain_text("monitors:read")
    expect(row).to_contain_text("active")
    expect(page.get_by_text(secret)).to_have_count(0)
    screenshot(page, "api-keys")

    # Dismissing the confirmation keeps the key; accepting it revokes the key.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke status script").click()
    expect(row).to_contain_text("active")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke status script").click()
    expect(page.get_by_text("API key status script revoked")).to_be_visible()
    expect(row).to_contain_text("revoked")
    status, body = call_api(live_server, "/api/monitors", secret)
    assert status == 401 and body == {"error": "This API key has been revoked."}


def test_a_retention_change_persists(page, live_server, app):
    sign_in(page, live_server, app)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_text("Now: history is kept for 30 days.")).to_be_visible()
    page.get_by_label("Keep raw history for").fill("abc")
    page.get_by_role("button", name="Save retention").click()
    expect(page.locator("#amount-error")).to_contain_text("Choose from 1 hour")

    page.get_by_label("Keep raw history for").fill("12")
    page.get_by_label("Unit").select_option("hours")
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_text("Retention saved: history is kept for 12 hours.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Keep raw history for")).to_have_value("12")
    expect(page.get_by_label("Unit")).to_have_value("hours")
    with app.app_context():
        assert history.get_retention() == {"ttl_seconds": 12 * 3600, "unlimited": False}

    page.get_by_label("Keep history forever (no limit)").check()
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_text("Retention saved: history is kept forever.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Keep history forever (no limit)")).to_be_checked()
    expect(page.get_by_text("Now: history is kept forever.")).to_be_visible()
    screenshot(page, "settings")

    # The sub-navigation leads to the other settings pages.
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Admins").click()
    expect(page.get_by_role("heading", name="Admins")).to_be_visible()


def test_clear_history_needs_the_typed_phrase(page, live_server, app):
    seed_monitor_with_history(app)
    sign_in(page, live_server, app)
    page.goto(live_server + "/settings/")
    expect(page.get_by_text("3 check results")).to_be_visible()

    page.get_by_label("Type “clear history” to confirm").fill("clear")
    page.get_by_role("button", name="Clear all history").click()
    expect(page.locator("#confirmation-error")).to_contain_text("nothing was deleted")
    assert check_results(app) == 3

    page.get_by_label("Type “clear history” to confirm").fill("clear history")
    page.get_by_role("button", name="Clear all history").click()
    expect(page.get_by_text("History cleared: 3 rows deleted.")).to_be_visible()
    assert check_results(app) == 0


def test_resolve_an_incident_and_add_an_update(page, live_server, app):
    incident_id = seed_monitor_with_history(app)
    sign_in(page, live_server, app)
    page.get_by_role("link", name="Incidents").click()
    expect(page.get_by_role("link", name="Open 1")).to_be_visible()
    screenshot(page, "incidents")

    page.get_by_role("link", name="Shop is down").click()
    expect(page).to_have_url(f"{live_server}/incidents/{incident_id}")

    # htmx: an empty update is refused in place, then a real one joins the timeline.
    page.get_by_role("button", name="Add update").click()
    expect(page.locator("#message-error")).to_contain_text("Write the update's text.")
    expect(page.get_by_label("Add an update")).to_be_focused()
    page.get_by_label("Add an update").fill("The hosting provider is investigating.")
    page.get_by_role("button", name="Add update").click()
    timeline = page.locator("#incident-timeline")
    expect(timeline).to_contain_text("The hosting provider is investigating.")
    expect(timeline).to_contain_text(f"by {EMAIL}")
    expect(page.get_by_label("Add an update")).to_have_value("")
    expect(page.get_by_label("Add an update")).to_be_focused()

    page.get_by_role("button", name="Resolve incident").click()
    expect(page.get_by_text("Incident resolved.")).to_be_visible()
    expect(page.locator(".page-head .pill")).to_have_text("resolved")
    expect(timeline).to_contain_text("Resolved manually.")
    expect(page.get_by_role("button", name="Reopen incident")).to_be_visible()
    screenshot(page, "incident-detail")

    page.get_by_role("link", name="Incidents", exact=True).first.click()
    page.get_by_role("link", name="Resolved 1").click()
    expect(page.get_by_role("link", name="Shop is down")).to_be_visible()
    page.get_by_role("link", name="Open 0").click()
    expect(page.get_by_role("heading", name="No open incidents")).to_be_visible()


def test_system_page_tests_redis_in_place_and_fits_a_phone(page, live_server, app):
    sign_in(page, live_server, app)
    page.get_by_role("link", name="System").click()
    expect(page.get_by_role("heading", name="Workers")).to_be_visible()
    expect(page.get_by_text("No worker is running")).to_be_visible()
    page.get_by_role("button", name="Test Redis").click()
    expect(page.locator("#redis-test-result")).to_contain_text(
        re.compile(r"Redis answered in [\d.]+ ms")
    )
    screenshot(page, "system")

    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/system/", "/incidents/", "/api-keys/", "/settings/"):
        page.goto(live_server + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways on a phone"


def test_the_main_navigation_is_boosted_and_works_without_javascript(
    page, browser, live_server, app
):
    sign_in(page, live_server, app)
    page.evaluate("window.notReloaded = true")
    main = page.get_by_role("navigation", name="Main")
    for name in ("Incidents", "System", "Maintenance"):
        main.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        expect(page).to_have_title(re.compile(name))
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the pages in
    # Monitors and API keys load in full: measured, boosting them was slower (operations.md).
    for name in ("Monitors", "API keys"):
        page.evaluate("window.notReloaded = true")
        main.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        assert page.evaluate("window.notReloaded") is None

    # Without JavaScript the same links are ordinary page loads.
    with signed_in_without_javascript(browser, live_server) as plain:
        plain.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
        expect(plain.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
